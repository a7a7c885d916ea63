"""The agent desktop in a real Chromium against a real ctid whose calls come from the simulator.

Each test signs in through the page as a person would (user, password, click) and checks what
the page shows and what ctid then believes, through ctid's own API with the admin token.
Set ``CTID_SCREENSHOT=/some/file.png`` to keep a picture of the desktop showing a pop.
"""
from __future__ import annotations

import os
import re

import pytest
from playwright.async_api import expect
from twisted.internet import defer, task

from tests.browser.harness import (ADMIN_TOKEN, PASSWORD, VIP_CUSTOMER, browser_test, reactor,
                                   wait)

pytestmark = pytest.mark.slow
expect.set_options(timeout=10_000)


class Desk:
    """One agent's page in its own browser context (its own session storage)."""

    def __init__(self, context, page):
        self.context, self.page = context, page
        self.crashes: list[str] = []
        page.on("pageerror", lambda exc: self.crashes.append(str(exc)))

    @classmethod
    async def open(cls, browser, ctid) -> "Desk":
        context = await browser.new_context(viewport={"width": 1180, "height": 760}, locale="zh-CN")
        desk = cls(context, await context.new_page())
        await desk.page.goto(ctid.base_url + "/")
        return desk

    async def sign_in(self, user: str, password: str = PASSWORD) -> None:
        await self.page.fill("#user", user)
        await self.page.fill("#password", password)
        await self.page.click("#btn-login")

    async def connected(self) -> None:
        await expect(self.page.locator("#desk:visible, #login-error:visible").first).to_be_visible()
        error = self.page.locator("#login-error")
        if await error.is_visible():
            pytest.fail(f"the page refused the sign-in: {await error.inner_text()!r}")
        await expect(self.page.locator("#conn")).to_have_attribute("data-state", "connected")

    async def close(self) -> None:
        await self.context.close()
        assert self.crashes == [], f"uncaught errors in the page: {self.crashes}"


async def agent_in_ctid(ctid, desk: Desk, agent_id: str) -> dict:
    response = await desk.context.request.get(
        ctid.base_url + "/api/agents", headers={"authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.ok, await response.text()
    return {a["agent_id"]: a for a in await response.json()}[agent_id]


@browser_test
async def test_a_wrong_password_is_refused_plainly(browser, ctid):
    desk = await Desk.open(browser, ctid)
    await desk.sign_in("agent1001", "not-the-password")
    error = desk.page.locator("#login-error")
    await expect(error).to_be_visible()
    await expect(error).to_contain_text("Wrong user or password")
    await expect(desk.page.locator("#desk")).to_be_hidden()
    assert not ctid.daemon.hub.agent_connected("1001")
    await desk.close()


@browser_test
async def test_screen_pop_shows_the_caller_on_the_right_desk_only(browser, ctid):
    first, second = await Desk.open(browser, ctid), await Desk.open(browser, ctid)
    await first.sign_in("agent1001")
    await second.sign_in("agent1002")
    await first.connected()
    await second.connected()
    await expect(first.page.locator("#agent-state")).to_have_attribute("data-state", "ready")

    # Agent 1002 goes to lunch, so the ACD can offer the call to 1001 only.
    await second.page.select_option("#reason", "lunch")
    await second.page.click("#btn-not-ready")
    await expect(second.page.locator("#agent-state")).to_have_attribute("data-state", "not-ready")
    assert (await agent_in_ctid(ctid, second, "1002"))["state"] == "not-ready"

    ringing = defer.Deferred()                       # the first DialBegin towards an agent
    ctid.pbx.subscribe(lambda m: m.name == "DialBegin" and not ringing.called
                       and ringing.callback(ctid.pbx.now()))
    name, number, tier = VIP_CUSTOMER
    ctid.call_in(number)

    page = first.page
    await expect(page.locator("#pop-caller")).to_have_text(number)
    await expect(page.locator("#pop-name")).to_have_text(name)
    await expect(page.locator("#pop-tier")).to_have_text(f"金 · {tier}")
    await expect(page.locator("#pop-vip")).to_be_visible()
    await expect(page.locator("#pop-skill")).to_have_text("general")
    await expect(page.locator("#pop-ivr")).to_have_text("vip:t")
    await expect(page.locator("#pop-wait")).to_have_text(re.compile(r"^\d+\.\d 秒 s$"))
    call_id = await page.locator("#pop").get_attribute("data-call")
    assert call_id and call_id.startswith("cti-")
    await expect(page.locator("#recent tbody tr")).to_have_count(1)
    await expect(page.locator("#recent tbody tr td").nth(2)).to_have_text(name)

    # ctid sent exactly one pop, to 1001's one desktop, before the agent's phone began to ring.
    sent = ctid.daemon.screenpop.sent
    assert [(p.call_id, p.agent_id, p.delivered) for p in sent] == [(call_id, "1001", 1)]
    assert sent[0].at <= await wait(ringing.addTimeout(10, reactor()))

    if os.environ.get("CTID_SCREENSHOT"):
        await page.screenshot(path=os.environ["CTID_SCREENSHOT"], full_page=True)

    # The other agent's page never saw it.
    await expect(second.page.locator("#pop-body")).to_be_hidden()
    await expect(second.page.locator("#pop-empty")).to_be_visible()
    await expect(second.page.locator("#recent tbody tr")).to_have_count(0)
    assert number not in await second.page.locator("body").inner_text()
    await first.close()
    await second.close()


@browser_test
async def test_not_ready_and_ready_buttons_change_the_state_in_ctid(browser, ctid):
    desk = await Desk.open(browser, ctid)
    await desk.sign_in("agent1002")
    await desk.connected()
    state = desk.page.locator("#agent-state")
    await expect(state).to_have_attribute("data-state", "ready")
    await expect(desk.page.locator("#btn-ready")).to_be_disabled()

    await desk.page.select_option("#reason", "meeting")
    await desk.page.click("#btn-not-ready")
    await expect(state).to_have_attribute("data-state", "not-ready")
    await expect(desk.page.locator("#agent-reason")).to_have_text("(会议 Meeting)")
    seen = await agent_in_ctid(ctid, desk, "1002")
    assert (seen["state"], seen["reason"]) == ("not-ready", "meeting")

    await desk.page.click("#btn-ready")
    await expect(state).to_have_attribute("data-state", "ready")
    seen = await agent_in_ctid(ctid, desk, "1002")
    assert (seen["state"], seen["reason"]) == ("ready", None)
    await desk.close()


@browser_test
async def test_a_lost_connection_is_shown_and_the_page_reconnects(browser, ctid):
    desk = await Desk.open(browser, ctid)
    await desk.sign_in("agent1001")
    await desk.connected()

    push = ctid.daemon.servers["web"]
    await wait(push.stopService())                   # ctid's push socket goes away...
    assert ctid.drop_desktops("1001") == 1
    conn = desk.page.locator("#conn")
    await expect(conn).to_have_attribute("data-state", "reconnecting")
    await expect(desk.page.locator("#notice")).to_contain_text("connection lost")
    await expect(desk.page.locator("#notice")).to_contain_text("retrying in")

    push.startService()                              # ...and comes back, on a new port
    await expect(conn).to_have_attribute("data-state", "connected", timeout=20_000)
    await expect(desk.page.locator("#notice")).to_be_hidden()
    assert ctid.daemon.hub.agent_connected("1001")

    # And it works again: the next call pops on this page.
    ctid.call_in(VIP_CUSTOMER[1])
    await expect(desk.page.locator("#pop-caller")).to_have_text(VIP_CUSTOMER[1])
    await desk.close()


@browser_test
async def test_ctid_publishes_its_push_port_to_the_page(browser, ctid):
    context = await browser.new_context()
    response = await context.request.get(ctid.base_url + "/web-config.json")
    assert response.ok
    assert ctid.published_by_app, (
        "app.build does not tell make_site where the push socket listens: pass "
        "web_config=lambda: {'push_port': <the web listener's port>} to make_site")
    assert (await response.json())["push_port"] == ctid.daemon.port("web")
    await context.close()


@browser_test
async def test_a_revoked_session_ends_on_the_page_and_on_the_push_socket(browser, ctid):
    ctid.daemon.hub.recheck_interval = 0.2
    desk = await Desk.open(browser, ctid)
    await desk.sign_in("agent1001")
    await desk.connected()
    assert ctid.daemon.hub.agent_connected("1001")
    saved = await desk.page.evaluate("() => Object.values(sessionStorage).join()")
    token = re.search(r'"token":"([^"]+)"', saved).group(1)
    ctid.daemon.tokens.revoke(token)                 # what expiry after a shift amounts to
    await expect(desk.page.locator("#login-error")).to_contain_text("Session expired")
    await expect(desk.page.locator("#desk")).to_be_hidden()
    for _ in range(50):
        if not ctid.daemon.hub.agent_connected("1001"):
            break
        await wait(task.deferLater(reactor(), 0.1, lambda: None))
    assert not ctid.daemon.hub.agent_connected("1001")
    await desk.close()
