"""AMIClient against the fake AMI server on loopback: one test per panoramisk defect it fixes.

Each docstring says what panoramisk 1.4 does in the same situation (the defect the test would
catch); ``test_ami_client_panoramisk.py`` shows those behaviours on panoramisk itself. Timers
run on a ``task.Clock`` where the test is about timing, so nothing here sleeps for real beyond
a few milliseconds of loopback I/O.
"""
from __future__ import annotations

import hashlib
import logging

import pytest
import pytest_twisted
from twisted.internet import defer, reactor, task

from cti.net.ami_client import TRANSITIONS, AMIClient, ActionResult, Backoff, LinkState
from cti.net.ami_errors import (AMIActionError, AMIConnectionLost, AMILoginFailed,
                                AMINotConnected, AMITimeout)
from cti.protocol.ami_message import Message
from tests.net.fake_ami import CHALLENGE, FakeAMI


async def eventually(predicate, timeout: float = 2.0) -> None:
    """Let real loopback I/O happen until ``predicate()`` holds (polls every 2 ms)."""
    for _ in range(int(timeout / 0.002)):
        if predicate():
            return
        await task.deferLater(reactor, 0.002, lambda: None)
    raise AssertionError(f"condition not met within {timeout} s: {predicate}")


@pytest_twisted.async_yield_fixture
async def server():
    fake = FakeAMI(reactor, login_fail_delay=0.0)
    fake.listen()
    yield fake
    await fake.close()


@pytest_twisted.async_yield_fixture
async def make_client(server):
    clients = []

    def make(secret="cti", **options):
        client = AMIClient("127.0.0.1", server.port.getHost().port, "cti", secret, **options)
        clients.append(client)
        client.startService()
        return client

    yield make
    for client in clients:
        if client.running:
            await client.stopService()


@pytest_twisted.ensureDeferred
async def test_md5_login_sends_challenge_then_key(server, make_client):
    """panoramisk logs in only with ``Secret:`` in clear; MD5 must be done by hand."""
    client = make_client(auth="md5")
    await client.when_ready(fail_after_failures=1)
    assert client.connected
    challenge, login = server.received[:2]
    assert challenge.name == "Challenge" and challenge["AuthType"] == "MD5"
    assert login.name == "Login" and login["AuthType"] == "MD5"
    assert login["Key"] == hashlib.md5(f"{CHALLENGE}cti".encode()).hexdigest()
    assert "Secret" not in login
    assert client.banner.version == "11.0.0"


@pytest_twisted.ensureDeferred
async def test_plain_login_when_asked(server, make_client):
    client = make_client(auth="plain", events="off")
    await client.when_ready(fail_after_failures=1)
    login = server.received[0]
    assert login.name == "Login" and login["Secret"] == "cti" and login["Events"] == "off"


@pytest_twisted.ensureDeferred
async def test_login_failure_raises_and_backs_off(server, make_client, caplog):
    """panoramisk records a refused login in ``authenticated = False`` and says nothing; it
    then reconnects on a fixed timer, forever at the same pace."""
    server.login_fail_delay = 0.02  # Asterisk waits 1 s; the shape is the same
    clock = task.Clock()
    caplog.set_level(logging.DEBUG)
    client = make_client(secret="wrong-secret", reactor=clock, backoff_initial=0.5)
    with pytest.raises(AMILoginFailed, match="Authentication failed"):
        await client.when_ready(fail_after_failures=1)
    delays = []
    for attempt in range(1, 4):
        await eventually(lambda: client.state is LinkState.WAITING and clock.getDelayedCalls())
        assert server.connections == attempt  # nothing more until the backoff timer fires
        (retry,) = clock.getDelayedCalls()
        delays.append(retry.getTime() - clock.seconds())
        failed = client.when_ready(fail_after_failures=1)
        clock.advance(delays[-1])
        with pytest.raises(AMILoginFailed):
            await failed
    assert delays == [0.5, 1.0, 2.0]
    assert not client.connected
    assert "wrong-secret" not in caplog.text
    assert any(r.levelno == logging.ERROR and "refused" in r.getMessage() for r in caplog.records)

    server.secret = "wrong-secret"  # the PBX side is fixed: the next attempt logs in
    await eventually(lambda: clock.getDelayedCalls())
    clock.advance(4.0)
    await client.when_ready()
    server.drop()  # a later drop starts again from the first delay
    await eventually(lambda: client.state is LinkState.WAITING)
    (retry,) = [c for c in clock.getDelayedCalls() if c.active()]
    assert retry.getTime() - clock.seconds() == 0.5


@pytest_twisted.ensureDeferred
async def test_every_action_times_out(server, make_client):
    """panoramisk's action futures have no timeout: an unanswered action waits forever."""
    clock = task.Clock()
    server.silent_actions.add("getvar")
    client = make_client(reactor=clock, action_timeout=3.0)
    await client.when_ready()
    default = client.send_action("Getvar", {"Variable": "FOO"})
    short = client.send_action("Getvar", {"Variable": "BAR"}, timeout=1.0)
    await eventually(lambda: len(server.actions("Getvar")) == 2)
    clock.advance(1.0)
    with pytest.raises(AMITimeout):
        await short
    assert not default.called
    clock.advance(2.0)
    with pytest.raises(AMITimeout) as caught:
        await default
    assert caught.value.action == "Getvar"
    assert client.connected  # a slow action is not a dead link
    pong = await client.send_action("Ping")
    assert pong["Ping"] == "Pong"


@pytest_twisted.ensureDeferred
async def test_originate_pending_at_link_drop_is_never_resent(server, make_client):
    """panoramisk's ``AMIProtocol.close`` queues the unanswered Originate in
    ``awaiting_actions`` and sends it again after the next ``FullyBooted``: it dials twice."""
    server.silent_actions.add("originate")
    client = make_client(backoff_initial=0.01)
    await client.when_ready()
    originate = client.send_action("Originate", [
        ("Channel", "Local/103@callers"), ("Context", "hotline"), ("Exten", "10090"),
        ("Priority", "1"), ("Variable", ["FOO=bar", "RIG_ORIGIN=test"]), ("Async", "true")])
    await eventually(lambda: server.actions("Originate"))
    server.drop()
    with pytest.raises(AMIConnectionLost):
        await originate
    await client.when_ready()
    assert server.connections == 2
    await client.send_action("Ping")  # one round trip on the new link after FullyBooted
    sent = server.actions("Originate")
    assert len(sent) == 1
    assert sent[0].getall("Variable") == ["FOO=bar", "RIG_ORIGIN=test"]


@pytest_twisted.ensureDeferred
async def test_resync_hooks_run_after_each_login_in_order(server, make_client):
    """panoramisk has only ``on_login``, called before a refused login is even noticed."""
    seen = []

    async def channels(client):
        result = await client.send_action("CoreShowChannels")
        seen.append(("channels", result))

    def broken(client):
        seen.append(("broken", None))
        raise RuntimeError("this hook is broken")

    def status(client):
        return client.send_action("Status").addCallback(lambda r: seen.append(("status", r)))

    client = make_client(backoff_initial=0.01)
    for hook in (channels, broken, status):
        client.add_resync_hook(hook)
    await client.when_ready()
    assert [name for name, _ in seen] == ["channels", "broken", "status"]
    result = seen[0][1]
    assert isinstance(result, ActionResult)
    assert [item.name for item in result.items] == ["CoreShowChannel"] * 2
    assert result.complete.name == "CoreShowChannelsComplete"
    assert result.announced_items == len(result.items)
    assert [item.name for item in seen[2][1].items] == ["Status"]

    server.drop()
    await eventually(lambda: len(seen) == 6)
    assert [name for name, _ in seen[3:]] == ["channels", "broken", "status"]
    assert server.connections == 2


@pytest_twisted.ensureDeferred
async def test_raising_listener_does_not_cost_the_chunk_or_the_link(server, make_client):
    """panoramisk's ``Manager.dispatch`` lets the exception out of ``data_received``: asyncio
    closes the connection and the rest of the chunk is lost."""
    client = make_client()
    seen = []

    def explode(event):
        raise ValueError("listener bug")

    def record(event):
        if event.name in ("Newchannel", "Hangup"):
            seen.append(event.name)

    client.add_listener({"Newchannel": explode, "*": record})
    client.add_listener({"Newchannel": lambda e: seen.append("second " + e["Channel"])})
    await client.when_ready()
    chunk = (Message.of([("Event", "Newchannel"), ("Channel", "PJSIP/6001-00000001")]).encode()
             + Message.of([("Event", "Hangup"), ("Channel", "PJSIP/6001-00000001")]).encode())
    await server.inject(chunk)  # both events in one write
    await eventually(lambda: "Hangup" in seen)
    assert seen == ["second PJSIP/6001-00000001", "Newchannel", "Hangup"]
    assert client.connected and server.connections == 1


@pytest_twisted.ensureDeferred
async def test_utf8_character_split_across_reads_survives(server, make_client):
    """panoramisk decodes each read with ``errors='ignore'``: both halves of 张 are dropped."""
    client = make_client()
    names = []
    client.add_listener({"Newchannel": lambda e: names.append(e["CallerIDName"])})
    await client.when_ready()
    raw = Message.of([("Event", "Newchannel"), ("CallerIDName", "张三"),
                      ("CallerIDNum", "5551000")]).encode()
    cut = raw.index("张".encode()) + 1  # one byte of the three
    await server.inject(raw, split_at=[cut])
    await eventually(lambda: names)
    assert names == ["张三"]


@pytest_twisted.ensureDeferred
async def test_hung_link_is_detected_by_ping_and_replaced(server, make_client):
    """panoramisk writes ``Ping`` on a timer and never reads the answer: a link that went
    silent stays 'connected' forever."""
    clock = task.Clock()
    client = make_client(reactor=clock, ping_interval=20.0, ping_timeout=5.0,
                         backoff_initial=0.5)
    await client.when_ready()
    clock.advance(20.0)
    await eventually(lambda: len(server.actions("Ping")) == 1)
    clock.advance(1.0)  # the answer came: the next ping is planned, the link kept
    assert client.connected

    server.stall()
    clock.advance(19.0)
    await eventually(lambda: len(server.actions("Ping")) == 2)
    assert client.connected
    clock.advance(5.0)  # no Pong within ping_timeout
    await eventually(lambda: client.state is LinkState.WAITING)
    clock.advance(0.5)
    await client.when_ready()
    assert server.connections == 2


@pytest_twisted.ensureDeferred
async def test_actions_fail_fast_while_disconnected(server, make_client):
    """panoramisk parks actions sent while down in a queue and sends them on reconnect."""
    client = AMIClient("127.0.0.1", server.port.getHost().port, "cti", "cti")
    with pytest.raises(AMINotConnected):
        await client.send_action("Originate", {"Channel": "Local/100@callers"})
    client = make_client(auth="plain", reactor=task.Clock())
    assert client.state is LinkState.CONNECTING
    with pytest.raises(AMINotConnected):
        await client.send_action("Ping")
    assert server.actions("Ping") == []


@pytest_twisted.ensureDeferred
async def test_error_response_is_an_action_error(server, make_client):
    client = make_client()
    await client.when_ready()
    with pytest.raises(AMIActionError) as caught:
        await client.send_action("NoSuchAction")
    assert caught.value.message.startswith("Invalid/unknown command: NoSuchAction")
    assert caught.value.response["Response"] == "Error"
    assert all(action.action_id for action in server.received)


@pytest_twisted.ensureDeferred
async def test_async_originate_answers_then_its_event_reaches_listeners(server, make_client):
    client = make_client()
    events = []
    client.add_listener({"OriginateResponse": events.append})
    await client.when_ready()
    response = await client.send_action("Originate", {"Channel": "Local/103@callers",
                                                      "Async": "true"})
    assert response["Message"] == "Originate successfully queued"
    await eventually(lambda: events)
    assert events[0]["ActionID"] == response["ActionID"]


@pytest_twisted.ensureDeferred
async def test_header_injection_is_refused_before_sending(server, make_client):
    client = make_client()
    await client.when_ready()
    with pytest.raises(ValueError):
        await client.send_action("Setvar", {"Variable": "X", "Value": "a\r\nAction: Hangup"})
    await client.send_action("Ping")
    assert server.actions("Setvar") == [] and server.actions("Hangup") == []


@pytest_twisted.ensureDeferred
async def test_refused_connection_backs_off(server):
    clock = task.Clock()
    port = server.port.getHost().port
    await server.close()  # nothing listens there now
    client = AMIClient("127.0.0.1", port, "cti", "cti", reactor=clock, backoff_initial=0.25)
    client.startService()
    try:
        with pytest.raises(AMINotConnected, match="cannot connect"):
            await client.when_ready(fail_after_failures=1)
        (retry,) = [c for c in clock.getDelayedCalls() if c.active()]
        assert retry.getTime() - clock.seconds() == 0.25
    finally:
        await client.stopService()
    assert client.state is LinkState.STOPPED
    assert not [c for c in clock.getDelayedCalls() if c.active()]


@pytest_twisted.ensureDeferred
async def test_stop_fails_pending_actions_and_closes(server, make_client):
    server.silent_actions.add("getvar")
    client = make_client()
    await client.when_ready()
    pending = client.send_action("Getvar", {"Variable": "FOO"})
    await client.stopService()
    with pytest.raises(AMIConnectionLost):
        await pending
    await eventually(lambda: not server.sessions)
    assert not client.connected


@pytest_twisted.ensureDeferred
async def test_coroutine_listener_failure_is_logged_not_raised(server, make_client, caplog):
    client = make_client()

    async def failing(event):
        raise RuntimeError("async listener bug")

    client.add_listener({"FullyBooted": failing})
    await client.when_ready()
    await eventually(lambda: "async listener bug" in caplog.text)
    assert client.connected
    await defer.succeed(None)


def test_backoff_doubles_up_to_the_cap_and_resets():
    backoff = Backoff(0.5, 3.0)
    assert [backoff.next_delay() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    backoff.reset()
    assert backoff.next_delay() == 0.5


def test_link_transitions_are_explicit():
    client = AMIClient("127.0.0.1", 5038, "cti", "cti", reactor=task.Clock())
    with pytest.raises(RuntimeError, match="no transition for 'logged_in' in stopped"):
        client._move("logged_in")
    assert client.state is LinkState.STOPPED
    assert TRANSITIONS[(LinkState.READY, "link_down")] is LinkState.WAITING
    assert all(TRANSITIONS[(state, "stop")] is LinkState.STOPPED for state in LinkState)


def test_auth_must_be_md5_or_plain():
    with pytest.raises(ValueError):
        AMIClient("127.0.0.1", 5038, "cti", "cti", auth="sha1")
