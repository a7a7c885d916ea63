"""A real ctid beside the PBX simulator, and Debian's Chromium driven by Playwright.

Everything runs on the test session's asyncio reactor: ctid and the simulator are Twisted
services, Playwright's async API is asyncio. :func:`run` bridges an asyncio coroutine into a
Deferred and waits for it (pytest-twisted's ``blockon``); inside a coroutine, a Deferred is
awaited with :func:`wait`.

The simulator runs our own ``dialplan/`` files, so a screen-pop in these tests comes from a
real call: trunk channel → FastAGI ``inbound`` (customer lookup) → ACD → pop → Redirect → ring.
"""
from __future__ import annotations

import asyncio
import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import defer

from cti import app
from cti import config as cfg
from cti.demo import DIALPLAN, manager_conf
from cti.domain import channel_vars as V
from cti.pbxsim.prompts import shipped_sounds
from cti.pbxsim.ami.accounts import parse_manager_conf
from cti.pbxsim.ami.server import AMIServerFactory
from cti.pbxsim.dialplan import Dialplan
from cti.pbxsim.engine.callers import CallHandle, place_call
from cti.pbxsim.engine.pbx import PBX
from cti.pbxsim.engine.phones import Phones, PhoneScript
from cti.storage.repositories.agents import add_agent, add_user, set_skill
from cti.customers.store import add_customer

CHROMIUM = Path(os.environ.get("CTID_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
HOTLINE = "10010"
PASSWORD = "demo"
ADMIN_TOKEN = "browser-test-admin-token"
AMI_SECRET = "browser-test-secret"

# Who is in the seeded database: two agents on two seats, a supervisor, one known VIP customer.
AGENTS = {"1001": ("6001", "vip", "blue"), "1002": ("6002", "general", "red")}
VIP_CUSTOMER = ("王小明", "13912345678", "gold")
SUPERVISOR = "sup-blue"           # a supervisor of team blue (agent 1001), with no agent of their own


def reactor():
    from twisted.internet import reactor as the_reactor
    return the_reactor


def deferred(coro, timeout: float = 60.0) -> defer.Deferred:
    """An asyncio coroutine, run on the reactor's loop, as a Deferred."""
    loop = reactor()._asyncioEventloop
    d = defer.Deferred.fromFuture(asyncio.ensure_future(coro, loop=loop))
    d.addTimeout(timeout, reactor())
    return d


def run(coro, timeout: float = 60.0) -> Any:
    """Run an asyncio coroutine and wait for its result (from fixtures, not from tests)."""
    return pytest_twisted.blockon(deferred(coro, timeout))


async def wait(d: defer.Deferred) -> Any:
    """Await a Deferred from asyncio code."""
    return await d.asFuture(asyncio.get_running_loop())


def browser_test(fn):
    """Turn ``async def test_...(fixtures)`` into a test run on the reactor's asyncio loop.

    pytest-twisted calls tests inside the reactor's greenlet and waits for a returned Deferred.
    """
    @functools.wraps(fn)
    def test(*args, **kwargs):
        return deferred(fn(*args, **kwargs))
    return test


def require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: the browser tests need Debian's chromium "
                    f"package (scripts/test installs it: apt-get install chromium). "
                    f"Never `playwright install`: its download is not used here.", pytrace=False)


async def launch_chromium(playwright):
    return await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


@dataclass
class CtidUnderTest:
    daemon: app.Daemon
    pbx: PBX
    ami_listener: Any
    published_by_app: bool        # did app.build give make_site a web_config of its own?
    calls: list[CallHandle] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.daemon.port('api')}"

    def call_in(self, number: str, dtmf: str = "") -> CallHandle:
        """A caller on the trunk dials the hotline, as a real one would."""
        handle = place_call(self.pbx, number, V.CTX_INBOUND, HOTLINE, dtmf=dtmf, patience=30.0)
        self.calls.append(handle)
        return handle

    def drop_desktops(self, agent_id: str) -> int:
        """Cut the agent's WebSocket connections from ctid's side (a lost network)."""
        conns = list(self.daemon.hub._by_agent.get(agent_id, ()))
        for conn in conns:
            conn.dropConnection(abort=True)
        return len(conns)

    def stop(self) -> None:
        for chan in list(self.pbx.channels()):
            if not chan.hung_up:
                self.pbx.hangup(chan.name, 16)
        pytest_twisted.blockon(defer.maybeDeferred(self.daemon.service.stopService))
        pytest_twisted.blockon(defer.maybeDeferred(self.ami_listener.stopListening))


def _seed(session) -> None:
    for number, (seat, group, team) in AGENTS.items():
        add_agent(session, number, f"Agent {number}", f"PJSIP/{seat}", PASSWORD, group=group, team=team)
        set_skill(session, number, "general", 8)
        add_user(session, f"agent{number}", PASSWORD, "agent", agent_number=number)
    add_user(session, SUPERVISOR, PASSWORD, "supervisor", teams=("blue",))
    name, phone, tier = VIP_CUSTOMER
    add_customer(session, name, [phone], tier=tier, language="zh")


def start_ctid(tmp_path: Path, monkeypatch) -> CtidUnderTest:
    """ctid on a fresh SQLite file, all ports chosen by the kernel, its agents logged in."""
    the_reactor = reactor()
    phones = Phones.of({seat: PhoneScript(ring_delay=1.0, talk_time=1.0)
                        for seat, _, _ in AGENTS.values()})
    pbx = PBX(Dialplan.from_files([DIALPLAN]), reactor=the_reactor, phones=phones, seed=7,
              sounds=shipped_sounds(longest=0.3))     # the IVR walked in test time
    accounts = parse_manager_conf(manager_conf("ctid", AMI_SECRET))
    ami_listener = the_reactor.listenTCP(0, AMIServerFactory(accounts, pbx, the_reactor),
                                         interface="127.0.0.1")
    config = cfg.load(environ={}, overrides=[
        f"database.url=sqlite:///{tmp_path}/ctid.sqlite",
        f"database.spill_file={tmp_path}/outbox.jsonl",
        f"queue_log.file={tmp_path}/queue_log",
        f"recordings.directory={tmp_path}/recordings",
        "api.port=0", "web.port=0", "fastagi.port=0",
        f"ami.port={ami_listener.getHost().port}", f"ami.secret={AMI_SECRET}", "ami.auth=md5",
        f"api.token={ADMIN_TOKEN}", "acd.wrap_up_seconds=1.0",
    ])
    db = app.open_database(config, the_reactor)
    db.run_blocking(_seed)
    db.engine.dispose()

    # The page asks /web-config.json for the push port. If app.build does not tell make_site
    # (see test_ctid_publishes_its_push_port), tell it here so the page itself is still tested.
    holder: dict[str, app.Daemon] = {}
    published = {"by_app": False}
    real_make_site = app.make_site

    def make_site(panel, authenticate, **kw):
        published["by_app"] = "web_config" in kw
        kw.setdefault("web_config", lambda: {"push_port": holder["daemon"].port("web")})
        return real_make_site(panel, authenticate, **kw)

    monkeypatch.setattr(app, "make_site", make_site)
    daemon = holder["daemon"] = app.build(config, the_reactor)
    monkeypatch.setattr(app, "make_site", real_make_site)
    daemon.service.startService()
    pbx.agi_hosts["127.0.0.1:4573"] = ("127.0.0.1", daemon.port("fastagi"))
    ctid = CtidUnderTest(daemon, pbx, ami_listener, published["by_app"])
    try:
        ready = daemon.ami.when_ready()
        ready.addTimeout(15, the_reactor)
        pytest_twisted.blockon(ready)
        for agent_id in AGENTS:
            daemon.agents.login(agent_id)
    except BaseException:
        ctid.stop()
        raise
    return ctid
