"""The agent-desktop WebSocket over a real loopback connection: auth first, own frames only,
hostile frames answered with errors and never crashing the server."""
import json

import pytest
import pytest_twisted
from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol
from twisted.internet import defer, reactor, task
from twisted.internet.protocol import ClientCreator, Protocol

from cti.net.push_server import MAX_BAD_FRAMES, PushHub, make_factory
from cti.protocol.push import FrameError
from cti.services.auth import Principal, TokenStore

TOKENS = {
    "tok-a1": Principal("alice", "agent", agent_id="1001"),
    "tok-a2": Principal("bob", "agent", agent_id="1002"),
    "tok-sup": Principal("sue", "supervisor", teams=frozenset({"red"})),
}


class Client(WebSocketClientProtocol):
    def onOpen(self):
        self.factory.opened.callback(self)

    def onMessage(self, payload, isBinary):
        self.factory.frames.append(json.loads(payload))
        waiters, self.factory.waiters = self.factory.waiters, []
        for d in waiters:
            d.callback(None)

    def onClose(self, wasClean, code, reason):
        self.factory.closed.callback(code)


async def connect(port):
    factory = WebSocketClientFactory(f"ws://127.0.0.1:{port}/push")
    factory.protocol = Client
    factory.opened, factory.closed = defer.Deferred(), defer.Deferred()
    factory.frames, factory.waiters = [], []
    reactor.connectTCP("127.0.0.1", port, factory)
    proto = await factory.opened
    return proto, factory


async def next_frame(factory, count=1):
    while len(factory.frames) < count:
        d = defer.Deferred()
        factory.waiters.append(d)
        await d.addTimeout(5, reactor)              # a test that fails must not hang
    return factory.frames[count - 1]


def send(proto, **kw):
    proto.sendMessage(json.dumps({"v": 1, **kw}).encode())


@pytest.fixture
def server():
    def on_frame(principal, frame):
        if frame.data.get("state") == "bad":
            raise FrameError("illegal-state", "not allowed", frame.id)
        return {"state": frame.data["state"]}

    tokens = dict(TOKENS)
    hub = PushHub(tokens.get, reactor, auth_timeout=0.5, recheck_interval=0.1, on_frame=on_frame)
    hub.tokens = tokens
    port = reactor.listenTCP(0, make_factory(hub), interface="127.0.0.1")
    yield hub, port.getHost().port
    port.stopListening()


@pytest_twisted.ensureDeferred
async def test_agent_gets_only_own_pops_and_supervisor_sees_team(server):
    hub, port = server
    a1, f1 = await connect(port)
    a2, f2 = await connect(port)
    sup, fs = await connect(port)
    for proto, factory, tok in ((a1, f1, "tok-a1"), (a2, f2, "tok-a2"), (sup, fs, "tok-sup")):
        send(proto, type="auth", id="a", data={"token": tok})
        ack = await next_frame(factory)
        assert ack["type"] == "ack"
    assert hub.send_to_agent("1001", "screen-pop", {"call": "c1"}, team="red") == 1
    pop = await next_frame(f1, 2)
    assert pop["type"] == "screen-pop" and pop["data"] == {"call": "c1"}
    seen = await next_frame(fs, 2)
    assert seen["data"] == {"call": "c1"}
    send(a2, type="ping", id="p")
    pong = await next_frame(f2, 2)
    assert pong["type"] == "pong"
    assert [f["type"] for f in f2.frames] == ["ack", "pong"]      # never got 1001's pop
    for p in (a1, a2, sup):
        p.sendClose()


@pytest_twisted.ensureDeferred
async def test_bad_token_and_unauthenticated_frames_close(server):
    hub, port = server
    proto, factory = await connect(port)
    send(proto, type="auth", id="x", data={"token": "forged"})
    err = await next_frame(factory)
    assert err["type"] == "error" and err["data"]["code"] == "bad-token"
    assert await factory.closed == 4002
    proto, factory = await connect(port)
    send(proto, type="ping", id="y")
    err = await next_frame(factory)
    assert err["data"]["code"] == "unauthenticated"
    await factory.closed


@pytest_twisted.ensureDeferred
async def test_silent_connection_is_closed_after_auth_timeout(server):
    hub, port = server
    proto, factory = await connect(port)
    assert await factory.closed == 4001


@pytest_twisted.ensureDeferred
async def test_hostile_frames_get_errors_and_server_keeps_serving(server):
    hub, port = server
    proto, factory = await connect(port)
    send(proto, type="auth", id="a", data={"token": "tok-a1"})
    await next_frame(factory)
    proto.sendMessage(b"{garbage")
    assert (await next_frame(factory, 2))["data"]["code"] == "bad-json"
    send(proto, type="state", id="s1", data={"state": "bad"})
    assert (await next_frame(factory, 3))["data"]["code"] == "illegal-state"
    send(proto, type="state", id="s2", data={"state": "ready"})
    ack = await next_frame(factory, 4)
    assert ack["type"] == "ack" and ack["data"] == {"id": "s2", "state": "ready"}
    for i in range(5):
        proto.sendMessage(b"[]")
    assert await factory.closed == 4002
    assert not hub.agent_connected("1001")


@pytest_twisted.ensureDeferred
async def test_session_ends_when_its_token_is_revoked_or_expires(server):
    hub, port = server
    hub.recheck_interval = 0                         # busy: only its next frame can notice
    busy, f_busy = await connect(port)
    send(busy, type="auth", id="a", data={"token": "tok-sup"})
    assert (await next_frame(f_busy))["type"] == "ack"
    hub.recheck_interval = 0.1                       # idle: the periodic check must notice
    idle, f_idle = await connect(port)
    send(idle, type="auth", id="a", data={"token": "tok-a1"})
    assert (await next_frame(f_idle))["type"] == "ack"
    del hub.tokens["tok-a1"]
    assert await f_idle.closed.addTimeout(5, reactor) == 4003
    assert f_idle.frames[-1]["data"]["code"] == "session-expired"
    assert not hub.agent_connected("1001")
    del hub.tokens["tok-sup"]
    send(busy, type="state", id="s", data={"state": "ready"})
    assert await f_busy.closed.addTimeout(5, reactor) == 4003
    assert [f["type"] for f in f_busy.frames] == ["ack", "error"]   # the request was not run


@pytest_twisted.ensureDeferred
async def test_json_nested_too_deeply_before_auth_closes_the_connection(server):
    hub, port = server
    proto, factory = await connect(port)
    proto.sendMessage(b"[" * 15000)
    err = await next_frame(factory)
    assert err["type"] == "error" and err["data"]["code"] == "bad-json"
    assert await factory.closed.addTimeout(5, reactor) == 4002


@pytest_twisted.ensureDeferred
async def test_refusals_do_not_count_toward_closing_but_violations_do(server):
    hub, port = server
    proto, factory = await connect(port)
    send(proto, type="auth", id="a", data={"token": "tok-a1"})
    await next_frame(factory)
    for n in range(MAX_BAD_FRAMES * 2):               # "cannot pause now", again and again
        send(proto, type="state", id=f"s{n}", data={"state": "bad"})
        assert (await next_frame(factory, n + 2))["data"]["code"] == "illegal-state"
    send(proto, type="state", id="ok", data={"state": "ready"})
    assert (await next_frame(factory, MAX_BAD_FRAMES * 2 + 2))["type"] == "ack"
    assert hub.agent_connected("1001")
    for _ in range(MAX_BAD_FRAMES):                   # frames that are not requests at all
        proto.sendMessage(b"[" * 15000)
    assert await factory.closed.addTimeout(5, reactor) == 4002


@pytest_twisted.ensureDeferred
async def test_a_client_that_never_finishes_the_handshake_is_dropped():
    hub = PushHub(lambda token: None, reactor, auth_timeout=0.5, handshake_timeout=0.5)
    port = reactor.listenTCP(0, make_factory(hub), interface="127.0.0.1")
    closed = defer.Deferred()

    class Loris(Protocol):
        def connectionMade(self):
            self.transport.write(b"GET /push HTTP/1.1\r\nHost: x\r\n")
            self.drip = task.LoopingCall(self.transport.write, b"X-a: b\r\n")
            self.drip.start(0.1)

        def connectionLost(self, reason):
            self.drip.stop()
            closed.callback(reactor.seconds())

    started = reactor.seconds()
    await ClientCreator(reactor, Loris).connectTCP("127.0.0.1", port.getHost().port)
    try:
        ended = await closed.addTimeout(5, reactor)
    finally:
        await port.stopListening()
    assert ended - started < 2.0


@pytest_twisted.ensureDeferred
async def test_a_revoked_token_closes_its_desktop_at_once_not_at_the_next_check():
    """After a sign-out the hub's recheck closes that token's connection straight away; the
    other desktop stays (the periodic check is an hour away here, so only the recheck can)."""
    tokens = dict(TOKENS)
    hub = PushHub(tokens.get, reactor, auth_timeout=0.5, recheck_interval=3600)
    port = reactor.listenTCP(0, make_factory(hub), interface="127.0.0.1")
    try:
        a1, f1 = await connect(port.getHost().port)
        a2, f2 = await connect(port.getHost().port)
        for proto, factory, tok in ((a1, f1, "tok-a1"), (a2, f2, "tok-a2")):
            send(proto, type="auth", id="a", data={"token": tok})
            assert (await next_frame(factory))["type"] == "ack"
        del tokens["tok-a1"]                        # the sign-out revoked it
        assert hub.recheck_sessions() == 1
        assert (await next_frame(f1, 2))["data"]["code"] == "session-expired"
        assert await f1.closed.addTimeout(5, reactor) == 4003
        assert hub.agent_connected("1002") and not f2.closed.called
        a2.sendClose()
    finally:
        await port.stopListening()
