"""The AMI server's session rules: login, permissions, event fan-out, ordering, robustness."""
from __future__ import annotations

import hashlib

import pytest

from cti.pbxsim.ami import BANNER, load_manager_conf, parse_manager_conf
from cti.pbxsim.ami.accounts import ManagerConfigError
from cti.pbxsim.ami import privileges

from .ami_helpers import Client, FakePBX, event, make_factory
from .conformance import MANAGER_CONF, loopback_transport


# -- manager.conf --------------------------------------------------------------------------
def test_the_captured_manager_conf_gives_the_captured_users() -> None:
    config = load_manager_conf(MANAGER_CONF)
    assert set(config.accounts) == {"cti", "ro", "cti_filtered"}
    cti, ro, filtered = (config.accounts[n] for n in ("cti", "ro", "cti_filtered"))
    assert cti.secret == "cti" and cti.read == privileges.ALL and cti.write == privileges.ALL
    assert ro.write == 0 and ro.read == privileges.ALL
    assert [f.exclude for f in filtered.eventfilters] == [True, True]
    assert config.authtimeout == 30 and config.port == 5038
    assert cti.allows("127.0.0.1") and not cti.allows("192.168.1.1")


@pytest.mark.parametrize("text", ["[a]\nsecret", "secret = x\n", "[a\nsecret=x",
                                  "[a]\neventfilter = !(unclosed\n", "[a]\npermit = nonsense\n",
                                  "[a]\neventfilter(action(exclude),name(VarSet)) =\n"])
def test_bad_manager_conf_lines_are_reported(text: str) -> None:
    with pytest.raises(ManagerConfigError):
        parse_manager_conf(text)


# -- login ---------------------------------------------------------------------------------
def test_banner_is_one_line() -> None:
    factory, _ = make_factory()
    client = Client(factory)
    assert client.transport.value() == BANNER


def test_login_refused_by_acl_after_the_delay() -> None:
    factory, clock = make_factory()
    client = Client(factory)
    client.login("nohome", "x")
    assert client.read() == []
    clock.advance(1)
    [reply] = client.read()
    assert reply["Message"] == "Authentication failed" and client.closed


def test_unknown_user_fails_like_a_wrong_secret() -> None:
    factory, clock = make_factory()
    client = Client(factory)
    client.login("nobody", "x")
    clock.advance(1)
    assert [m["Message"] for m in client.read()] == ["Authentication failed"]


def test_failed_logins_are_reported_to_sessions_reading_security() -> None:
    factory, clock = make_factory()
    watcher = Client(factory)
    watcher.login()
    intruder = Client(factory, loopback_transport(50000))
    intruder.login("admin", "guess")
    intruder.login("nobody", "guess")  # queued behind the first: the session is closing
    clock.advance(1)
    names = [m.name for m in watcher.read()]
    assert names == ["InvalidPassword"]
    assert intruder.closed


def test_md5_login_with_the_issued_challenge() -> None:
    factory, _ = make_factory(challenge_source=lambda: 4242)
    client = Client(factory)
    client.action("Challenge", AuthType="md5", ActionID="c")
    [challenge] = client.read()
    assert challenge.headers == (("Response", "Success"), ("ActionID", "c"), ("Challenge", "4242"))
    key = hashlib.md5(b"4242s3cret").hexdigest().upper()
    client.action("Login", AuthType="MD5", Username="admin", Key=key)
    assert client.read()[0]["Message"] == "Authentication accepted"


def test_challenge_without_md5_is_refused() -> None:
    factory, _ = make_factory()
    client = Client(factory)
    client.action("Challenge", AuthType="plain")
    assert client.read()[0]["Message"] == "Must specify AuthType"


def test_logoff_before_login_is_allowed() -> None:
    factory, _ = make_factory()
    client = Client(factory)
    client.action("Logoff")
    assert client.read()[0]["Response"] == "Goodbye" and client.closed


def test_unauthenticated_session_is_closed_after_authtimeout() -> None:
    factory, clock = make_factory()
    idle, active = Client(factory), Client(factory)
    active.login()
    clock.advance(30)
    assert idle.closed and not active.closed


# -- permissions ---------------------------------------------------------------------------
def test_write_classes_gate_actions_and_report_not_allowed() -> None:
    factory, _ = make_factory(pbx=FakePBX(None))
    watcher, calls = Client(factory), Client(factory)
    watcher.login()
    calls.login("calls", "calls", Events="off")
    watcher.read()
    calls.action("Command", Command="core show version", ActionID="1")   # needs command
    calls.action("Getvar", Variable="AGI_HOST", ActionID="2")              # call|reporting
    assert [m.get("Message") or m.get("Value") for m in calls.read()] == [
        "Permission denied", "127.0.0.1:4573"]
    [denied] = watcher.read()
    assert denied.name == "RequestNotAllowed" and denied["RequestType"] == "Action: Command"
    assert denied["AccountID"] == "calls"


def test_unknown_action_before_login_is_permission_denied() -> None:
    factory, _ = make_factory()
    client = Client(factory)
    client.action("NoSuchAction")
    assert client.read()[0]["Message"] == "Permission denied"


def test_action_names_are_case_insensitive() -> None:
    factory, _ = make_factory()
    client = Client(factory)
    client.login()
    client.action("PING", ActionID="p")
    assert client.read()[-1]["Ping"] == "Pong"


# -- event fan-out -------------------------------------------------------------------------
def test_events_follow_each_sessions_events_setting_and_read_classes() -> None:
    pbx = FakePBX(None)
    factory, _ = make_factory(pbx=pbx)
    everything, off, calls_only = Client(factory), Client(factory), Client(factory)
    everything.login()
    off.login(Events="off")
    calls_only.login("calls", "calls")
    for c in (everything, off, calls_only):
        c.read()
    pbx.emit(event("Newchannel"))
    pbx.emit(event("VarSet", "dialplan,all"))
    pbx.emit(event("FullyBooted", "system,all"))
    assert [m.name for m in everything.read()] == ["Newchannel", "VarSet", "FullyBooted"]
    assert off.read() == []
    assert [m.name for m in calls_only.read()] == ["Newchannel"]


def test_events_before_login_are_not_replayed_afterwards() -> None:
    pbx = FakePBX(None)
    factory, _ = make_factory(pbx=pbx)
    client = Client(factory)
    pbx.emit(event("Newchannel"))
    names = [m.name for m in client.login()]
    assert "Newchannel" not in names


def test_events_action_switches_the_stream() -> None:
    pbx = FakePBX(None)
    factory, _ = make_factory(pbx=pbx)
    client = Client(factory)
    client.login()
    client.read()
    client.action("Events", EventMask="off", ActionID="a")
    pbx.emit(event("Newchannel"))
    client.action("Events", EventMask="call", ActionID="b")
    pbx.emit(event("Newchannel"))
    pbx.emit(event("VarSet", "dialplan,all"))
    client.action("Events", EventMask="", ActionID="c")
    got = [(m.name, m.get("Events") or m.get("Message")) for m in client.read()]
    assert got == [("Success", "Off"), ("Success", "On"), ("Newchannel", None),
                   ("Error", "Invalid event mask")]


def test_exclude_filters_drop_events_but_never_responses() -> None:
    pbx = FakePBX(None)
    pbx.add("Local/1@x-00000000;1")
    factory, _ = make_factory(pbx=pbx)
    client = Client(factory)
    client.login("quiet", "quiet")
    client.read()
    client.action("Setvar", Channel="Local/1@x-00000000;1", Variable="A", Value="1", ActionID="s")
    pbx.emit(event("Newexten", "dialplan,all"))
    pbx.emit(event("Hangup"))
    assert [m.name for m in client.read()] == ["Success", "Hangup"]


def test_include_filter_lets_only_matching_events_through() -> None:
    pbx = FakePBX(None)
    factory, _ = make_factory(pbx=pbx)
    client = Client(factory)
    client.login("only_hangups", "oh")
    client.read()
    pbx.emit(event("Newchannel"))
    pbx.emit(event("Hangup"))
    assert [m.name for m in client.read()] == ["Hangup"]


def test_reply_comes_before_the_events_the_action_caused() -> None:
    pbx = FakePBX(None)
    pbx.add("Local/1@x-00000000;1")
    factory, _ = make_factory(pbx=pbx)
    actor, other = Client(factory), Client(factory)
    actor.login()
    other.login()
    actor.read(), other.read()
    actor.action("Hangup", Channel="Local/1@x-00000000;1", ActionID="h")
    assert [m.name for m in actor.read()] == ["Success", "SoftHangupRequest", "Hangup"]
    assert [m.name for m in other.read()] == ["SoftHangupRequest", "Hangup"]


def test_a_pending_action_holds_later_actions_and_events_of_its_session_only() -> None:
    from twisted.internet import defer
    pbx = FakePBX(None)
    pending = defer.Deferred()
    pbx.originate_outcome = pending
    factory, _ = make_factory(pbx=pbx)
    actor, other = Client(factory), Client(factory)
    actor.login(), other.login()
    actor.read(), other.read()
    actor.action("Originate", Channel="Local/1@x", Application="Wait", Data="1", ActionID="o")
    actor.action("Ping", ActionID="p")
    pbx.emit(event("Hangup"))
    assert actor.read() == []
    assert [m.name for m in other.read()] == ["Newchannel", "Hangup"]
    from .ami_helpers import Result
    pending.callback(Result(False, 1, "Local/1@x", None))
    got = [(m.name, m.get("ActionID")) for m in actor.read()]
    assert got == [("Error", "o"), ("Newchannel", None), ("Hangup", None), ("Success", "p")]


def test_slow_client_is_dropped_without_blocking_others() -> None:
    pbx = FakePBX(None)
    factory, _ = make_factory(pbx=pbx, max_backlog=10_000)
    slow, fast = Client(factory), Client(factory)
    slow.login(), fast.login()
    slow.read(), fast.read()
    slow.protocol.pauseProducing()  # the transport's buffer is full: the client does not read
    for n in range(200):
        pbx.emit(event("VarSet", "dialplan,all", Variable=f"V{n}", Value="x" * 40))
    assert slow.transport.disconnected  # aborted once its backlog passed the bound
    assert len(fast.read()) == 200
    pbx.emit(event("Hangup"))
    assert [m.name for m in fast.read()] == ["Hangup"]


def test_paused_client_gets_its_backlog_in_order_when_it_reads_again() -> None:
    pbx = FakePBX(None)
    factory, _ = make_factory(pbx=pbx)
    client = Client(factory)
    client.login()
    client.read()
    client.protocol.pauseProducing()
    for n in range(3):
        pbx.emit(event("VarSet", "dialplan,all", Variable=f"V{n}"))
    assert client.read() == []
    client.protocol.resumeProducing()
    assert [m["Variable"] for m in client.read()] == ["V0", "V1", "V2"]


def test_logoff_while_paused_closes_after_the_backlog() -> None:
    factory, _ = make_factory()
    client = Client(factory)
    client.login()
    client.protocol.pauseProducing()
    client.action("Logoff")
    assert not client.closed
    client.protocol.resumeProducing()
    assert client.read()[-1]["Response"] == "Goodbye" and client.closed


def test_closed_session_leaves_the_fan_out() -> None:
    pbx = FakePBX(None)
    factory, _ = make_factory(pbx=pbx)
    client = Client(factory)
    client.login()
    client.protocol.connectionLost()
    assert factory.sessions == set()
    pbx.emit(event("Hangup"))  # nobody to send to: nothing breaks
    factory.close()
    assert pbx.listeners == []


def test_engine_originate_response_is_not_duplicated() -> None:
    pbx = FakePBX(None)
    factory, _ = make_factory(pbx=pbx)
    client = Client(factory)
    client.login()
    client.read()
    pbx.emit(event("OriginateResponse"))
    assert client.read() == []


# -- bad input -----------------------------------------------------------------------------
def test_pipelined_actions_in_one_chunk_are_answered_in_order() -> None:
    factory, _ = make_factory()
    client = Client(factory)
    client.login()
    client.read()
    client.send(raw=b"".join(
        f"Action: Ping\r\nActionID: {n}\r\n\r\n".encode() for n in range(5)))
    assert [m["ActionID"] for m in client.read()] == ["0", "1", "2", "3", "4"]


def test_a_block_with_garbage_lines_is_read_as_asterisk_reads_it() -> None:
    factory, _ = make_factory()
    client = Client(factory)
    client.login()
    client.read()
    client.send(raw=b"this is not a header\r\nAction: Ping\r\nActionID: g\r\n\r\n")
    client.send(raw=b"\x00\xff\xfe garbage\r\n\r\n")
    replies = [m for m in client.read() if m.kind == "response"]
    assert [(m["Response"], m.get("ActionID")) for m in replies] == [("Success", "g"),
                                                                     ("Error", None)]
    assert replies[1]["Message"] == "Missing action in request"


def test_a_stray_cr_in_a_value_is_not_echoed_into_the_reply() -> None:
    factory, _ = make_factory()
    client = Client(factory)
    client.send(raw=b"Action:Ping\nActionID:a\r\rb\r\n\r\n")
    [reply] = client.read()
    assert reply.headers == (("Response", "Error"), ("ActionID", "ab"),
                             ("Message", "Permission denied"))
