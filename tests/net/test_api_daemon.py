"""The API of a ctid built by ``app.build`` (no PBX needed): sign-in under a flood, sign-out,
and sessions that outlive a restart."""
from __future__ import annotations

import json
from io import BytesIO

import pytest
import pytest_twisted
from twisted.internet import defer, reactor
from twisted.internet.protocol import Protocol
from twisted.web.client import Agent, FileBodyProducer, HTTPConnectionPool
from twisted.web.http_headers import Headers

from cti import app
from cti import config as cfg
from cti.customers.service import CustomerService
from cti.storage.repositories.agents import add_agent, add_user
from cti.customers.store import add_customer

VIP_NUMBER = "13800000001"


def _seed(session) -> None:
    add_agent(session, "1001", "Agent 1001", "PJSIP/6001", "pw-1001", team="blue")
    add_user(session, "agent1001", "pw-1001", "agent", agent_number="1001")
    add_customer(session, "VIP Silver", [VIP_NUMBER], tier="silver", language="zh")


def _config(tmp_path):
    return cfg.load(environ={}, overrides=[
        f"database.url=sqlite:///{tmp_path}/ctid.sqlite",
        f"database.spill_file={tmp_path}/outbox.jsonl",
        f"queue_log.file={tmp_path}/queue_log",
        "api.port=0", "web.port=0", "fastagi.port=0",
        "ami.port=1", "ami.secret=x", "api.token=admin-token",
    ])


@pytest.fixture
def seeded(tmp_path):
    config = _config(tmp_path)
    db = app.open_database(config, reactor)
    db.run_blocking(_seed)
    db.engine.dispose()
    return config


class Ctid:
    def __init__(self, config):
        self.daemon = app.build(config, reactor)
        self.daemon.service.startService()
        self.pool = HTTPConnectionPool(reactor, persistent=False)
        self.agent = Agent(reactor, pool=self.pool)

    @property
    def url(self) -> bytes:
        return b"http://127.0.0.1:%d" % self.daemon.port("api")

    async def call(self, method: bytes, path: bytes, body=None, token: str | None = None):
        headers = Headers({b"content-type": [b"application/json"]})
        if token:
            headers.addRawHeader(b"authorization", b"Bearer " + token.encode())
        producer = None if body is None else FileBodyProducer(BytesIO(json.dumps(body).encode()))
        response = await self.agent.request(method, self.url + path, headers, producer)
        payload = await _body(response)
        return response.code, json.loads(payload) if payload else None

    async def stop(self):
        await self.pool.closeCachedConnections()
        await defer.maybeDeferred(self.daemon.service.stopService)


@pytest.mark.parametrize("who", ["agent1001", "nobody{n}"])     # a real name; unknown names
@pytest_twisted.ensureDeferred
async def test_a_login_flood_does_not_starve_customer_lookups(seeded, who):
    ctid = Ctid(seeded)
    directory = CustomerService(ctid.daemon.db, reactor, timeout=0.5)
    try:
        assert (await directory.lookup(VIP_NUMBER)).known        # warm: the row is there
        directory._cache.clear()                                  # no fallback to a cached answer
        flood = [defer.ensureDeferred(ctid.call(b"POST", b"/api/login",
                                                {"user": who.format(n=n), "password": f"guess{n}"}))
                 for n in range(48)]
        await _sleep(0.15)                                        # the flood is in flight
        callers = await defer.gatherResults([directory.lookup(VIP_NUMBER) for _ in range(8)])
        answers = await defer.gatherResults(flood)
    finally:
        await ctid.stop()
    assert all(c.known and c.tier == "silver" for c in callers), callers
    assert {code for code, _ in answers} <= {401, 423, 429}


@pytest_twisted.ensureDeferred
async def test_sign_out_revokes_the_token_and_can_leave_the_queue(seeded):
    ctid = Ctid(seeded)
    try:
        ctid.daemon.agents.login("1001")
        code, signed_in = await ctid.call(b"POST", b"/api/login",
                                          {"user": "agent1001", "password": "pw-1001"})
        assert code == 200
        token = signed_in["token"]
        assert (await ctid.call(b"GET", b"/api/agents", token=token))[0] == 200
        code, out = await ctid.call(b"POST", b"/api/logout", {"leave_queue": True}, token=token)
        assert code == 200 and out["signed_out"] and out["agent"]["state"] == "logged-out"
        assert ctid.daemon.agents.get("1001").state.value == "logged-out"
        code, err = await ctid.call(b"GET", b"/api/agents", token=token)
        assert code == 401 and err["error"]["code"] == "unauthenticated"
    finally:
        await ctid.stop()


@pytest_twisted.ensureDeferred
async def test_sessions_survive_a_restart_and_a_sign_out_survives_it_too(seeded):
    first = Ctid(seeded)
    try:
        tokens = []
        for _ in range(2):
            code, signed_in = await first.call(b"POST", b"/api/login",
                                               {"user": "agent1001", "password": "pw-1001"})
            assert code == 200
            tokens.append(signed_in["token"])
        kept, ended = tokens
        assert (await first.call(b"POST", b"/api/logout", {}, token=ended))[0] == 200
        for _ in range(100):                           # the session rows are written
            rows = first.daemon.db.run_blocking(
                lambda s: [r[0] for r in s.execute(__import__("sqlalchemy").text(
                    "SELECT token_hash FROM user_sessions"))])
            if len(rows) == 1:
                break
            await _sleep(0.05)
        assert len(rows) == 1 and kept not in rows[0] and len(rows[0]) == 64   # a hash only
    finally:
        await first.stop()

    second = Ctid(seeded)
    try:
        code, agents = await second.call(b"GET", b"/api/agents", token=kept)
        assert code == 200 and [a["agent_id"] for a in agents] == ["1001"]
        assert (await second.call(b"GET", b"/api/agents", token=ended))[0] == 401
    finally:
        await second.stop()


def _body(response) -> defer.Deferred:
    done, chunks = defer.Deferred(), []

    class Collect(Protocol):
        def dataReceived(self, data):
            chunks.append(data)

        def connectionLost(self, reason):
            done.callback(b"".join(chunks))
    response.deliverBody(Collect())
    return done


def _sleep(seconds: float) -> defer.Deferred:
    from twisted.internet import task
    return task.deferLater(reactor, seconds, lambda: None)


def test_a_bad_reason_code_in_the_config_is_a_config_error_before_anything_starts(tmp_path):
    config = _config(tmp_path)
    config["acd"]["not_ready_reasons"] = {"Bad|Code": {"zh": "坏", "en": "Bad"}}
    with pytest.raises(cfg.ConfigError, match="acd.not_ready_reasons"):
        cfg.validate(config)                # what load() runs, before anything is built
    assert not (tmp_path / "ctid.sqlite").exists()


@pytest_twisted.ensureDeferred
async def test_a_sign_out_just_before_a_stop_stays_signed_out_after_the_restart(seeded):
    first = Ctid(seeded)
    try:
        code, signed_in = await first.call(b"POST", b"/api/login",
                                           {"user": "agent1001", "password": "pw-1001"})
        assert code == 200
        token = signed_in["token"]
        assert (await first.call(b"POST", b"/api/logout", {}, token=token))[0] == 200
    finally:
        await first.stop()                             # at once: the delete may be under way

    second = Ctid(seeded)
    try:
        assert (await second.call(b"GET", b"/api/agents", token=token))[0] == 401
    finally:
        await second.stop()
