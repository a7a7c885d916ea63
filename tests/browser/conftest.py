"""Fixtures of the browser tests: one Chromium per module, a fresh ctid per test."""
import pytest

from tests.browser.harness import launch_chromium, require_chromium, run, start_ctid


@pytest.fixture(scope="module")
def browser():
    require_chromium()
    from playwright.async_api import async_playwright

    playwright = run(async_playwright().start())
    try:
        chromium = run(launch_chromium(playwright))
    except BaseException:
        run(playwright.stop())
        raise
    yield chromium
    run(chromium.close())
    run(playwright.stop())


@pytest.fixture
def ctid(tmp_path, monkeypatch):
    running = start_ctid(tmp_path, monkeypatch)
    yield running
    running.stop()
