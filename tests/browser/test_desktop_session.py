"""Signing out, choosing a not-ready reason, the supervisor's landing page, and the layout of
the state card, in a real Chromium against a real ctid.

Set ``CTID_SCREENSHOT_DIR=/some/dir`` to keep pictures of the pages these tests look at.
"""
from __future__ import annotations

import os

import pytest
from playwright.async_api import expect

from cti.domain.reasons import ReasonList
from tests.browser.harness import ADMIN_TOKEN, SUPERVISOR, browser_test
from tests.browser.test_agent_desktop import Desk, agent_in_ctid

pytestmark = pytest.mark.slow
expect.set_options(timeout=10_000)


async def snap(page, name: str) -> None:
    folder = os.environ.get("CTID_SCREENSHOT_DIR")
    if folder:
        await page.screenshot(path=os.path.join(folder, name + ".png"), full_page=True)


async def token_of(desk: Desk) -> str:
    import json
    saved = await desk.page.evaluate("() => sessionStorage.getItem('ctid.session')")
    return json.loads(saved)["token"]


@browser_test
async def test_sign_out_revokes_the_token_and_leaves_the_queue(browser, ctid):
    desk = await Desk.open(browser, ctid)
    await desk.sign_in("agent1001")
    await desk.connected()
    token = await token_of(desk)
    await expect(desk.page.locator("#leave-queue")).to_be_checked()
    await desk.page.click("#btn-sign-out")
    await expect(desk.page.locator("#login")).to_be_visible()
    await expect(desk.page.locator("#desk")).to_be_hidden()

    response = await desk.context.request.get(
        ctid.base_url + "/api/agents", headers={"authorization": f"Bearer {token}"})
    assert response.status == 401                    # the old token is dead, not just forgotten
    assert (await agent_in_ctid(ctid, desk, "1001"))["state"] == "logged-out"
    assert not ctid.daemon.hub.agent_connected("1001")
    await desk.close()


@browser_test
async def test_sign_out_without_leaving_keeps_the_agent_in_the_queue(browser, ctid):
    desk = await Desk.open(browser, ctid)
    await desk.sign_in("agent1002")
    await desk.connected()
    token = await token_of(desk)
    await desk.page.uncheck("#leave-queue")
    await desk.page.click("#btn-sign-out")
    await expect(desk.page.locator("#login")).to_be_visible()
    response = await desk.context.request.get(
        ctid.base_url + "/api/agents", headers={"authorization": f"Bearer {token}"})
    assert response.status == 401
    assert (await agent_in_ctid(ctid, desk, "1002"))["state"] == "ready"
    await desk.close()


@browser_test
async def test_the_reason_list_is_the_configured_one_and_the_choice_reaches_ctid(browser, ctid):
    desk = await Desk.open(browser, ctid)
    await desk.sign_in("agent1002")
    await desk.connected()
    options = desk.page.locator("#reason option")
    configured = ReasonList.from_mapping(ctid.daemon.config["acd"]["not_ready_reasons"])
    expected = [r.as_dict() for r in configured.all()]
    await expect(options).to_have_count(len(expected))
    assert await options.evaluate_all("os => os.map(o => o.value)") == [r["code"] for r in expected]
    assert "培训 Training" in await options.all_inner_texts()

    await desk.page.select_option("#reason", "training")
    await desk.page.click("#btn-not-ready")
    await expect(desk.page.locator("#agent-state")).to_have_attribute("data-state", "not-ready")
    await expect(desk.page.locator("#agent-reason")).to_have_text("(培训 Training)")
    seen = await agent_in_ctid(ctid, desk, "1002")
    assert (seen["state"], seen["reason"]) == ("not-ready", "training")

    # A reason not on the list is refused by ctid, whatever a page sends.
    response = await desk.context.request.post(
        ctid.base_url + "/api/agents/1002/pause", data={"reason": "\x1b[2Jnap"},
        headers={"authorization": f"Bearer {await token_of(desk)}"})
    assert response.status == 400 and (await response.json())["error"]["code"] == "bad-reason"
    await desk.close()


@pytest.mark.parametrize("width, height", [(1180, 760), (700, 760), (360, 740)])
@browser_test
async def test_the_state_buttons_stay_inside_their_card(browser, ctid, width, height):
    context = await browser.new_context(viewport={"width": width, "height": height},
                                        locale="zh-CN")
    desk = Desk(context, await context.new_page())
    await desk.page.goto(ctid.base_url + "/")
    await desk.sign_in("agent1001")
    await desk.connected()
    await expect(desk.page.locator("#reason option")).not_to_have_count(1)
    card = await desk.page.locator(".state-card").bounding_box()
    for control in ("#btn-ready", "#reason", "#btn-not-ready"):
        box = await desk.page.locator(control).bounding_box()
        assert box["x"] >= card["x"] and box["x"] + box["width"] <= card["x"] + card["width"], (
            control, box, card)
    assert await desk.page.evaluate("document.documentElement.scrollWidth") <= width
    await snap(desk.page, f"desk-{width}x{height}")
    await desk.close()


@browser_test
async def test_a_supervisor_lands_on_the_supervisor_view_of_their_teams(browser, ctid):
    desk = await Desk.open(browser, ctid)
    await desk.sign_in(SUPERVISOR)
    board = desk.page.locator("#board")
    await expect(board).to_be_visible()
    await expect(desk.page.locator("#desk")).to_be_hidden()
    await expect(desk.page.locator("#leave-label")).to_be_hidden()
    rows = desk.page.locator("#board-agents tbody tr")
    await expect(rows).to_have_count(1)              # team blue: agent 1001 only
    await expect(rows.first.locator("td").first).to_have_text("1001")
    await expect(rows.first.locator("td").nth(3)).to_have_text("就绪 Ready")
    await expect(desk.page.locator("#board-queue-empty")).to_be_visible()

    ctid.daemon.agents.pause("1001", "lunch")        # what the supervisor watches changes
    await expect(rows.first.locator("td").nth(3)).to_have_text("未就绪 Not ready", timeout=12_000)
    await expect(rows.first.locator("td").nth(4)).to_have_text("用餐 Lunch")
    await snap(desk.page, "supervisor-1180x760")

    await desk.page.click("#btn-sign-out")
    await expect(desk.page.locator("#login")).to_be_visible()
    await desk.close()


@browser_test
async def test_the_reason_codes_are_served_with_their_labels(browser, ctid):
    context = await browser.new_context()
    response = await context.request.get(ctid.base_url + "/api/reasons",
                                         headers={"authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.ok
    reasons = await response.json()
    assert {"code": "training", "zh": "培训", "en": "Training"} in reasons
    assert not {"rona", "desktop-offline"} & {r["code"] for r in reasons}
    await context.close()
