"""The FastAGI server with StringTransport and task.Clock: command queueing, reply matching
around HANGUP notices, error mapping, timeouts, vanished clients and the fallback context."""
from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from cti.agi_errors import (
    AGIArgumentError, AGICommandFailed, AGIDeadChannel, AGIHangup, AGIProtocolError, AGITimeout,
    AGIUnknownCommand, AGIUsageError,
)
from cti.net.fastagi import FastAGIFactory
from cti.protocol.agi import DEAD_CHANNEL, encode_environment, encode_result
from cti.services.agi_routes import build_routes, probe

ENV = {
    "agi_network": "yes", "agi_network_script": "probe",
    "agi_request": "agi://127.0.0.1:4573/probe", "agi_channel": "Local/100@callers-0000000c;1",
    "agi_uniqueid": "1795360282.24", "agi_callerid": "5553000", "agi_context": "hotline",
    "agi_extension": "10010", "agi_priority": "2", "agi_arg_1": "hotline", "agi_arg_2": "5553000",
}
OK = encode_result(1)


def env_block(script: str = "probe", **more: str) -> bytes:
    return encode_environment({**ENV, "agi_network_script": script,
                               "agi_request": f"agi://127.0.0.1:4573/{script}", **more})


class Harness:
    """One FastAGI connection on a StringTransport, with a fake clock."""

    def __init__(self, routes, **options):
        self.clock = Clock()
        self.factory = FastAGIFactory(routes, clock=self.clock, **options)
        self.protocol = self.factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40000))
        self.transport = StringTransport()
        self.protocol.makeConnection(self.transport)

    def feed(self, data: bytes) -> None:
        self.protocol.dataReceived(data)

    def sent(self) -> bytes:
        data = self.transport.value()
        self.transport.clear()
        return data

    def vanish(self) -> None:
        self.protocol.connectionLost(Failure(ConnectionDone()))

    @property
    def closing(self) -> bool:
        return self.transport.disconnecting

    @property
    def session(self):
        return self.protocol.session


def holder():
    """A route that keeps its session for the test to drive, and stays running until told."""
    box = {"done": defer.Deferred()}

    def route(session):
        box["session"] = session
        return box["done"]
    return box, route


# -- the session and its queue --------------------------------------------------------------------
def test_session_exposes_the_environment():
    box, route = holder()
    h = Harness({"probe": route})
    h.feed(env_block())
    session = box["session"]
    assert (session.script, session.args, session.uniqueid, session.channel) == (
        "probe", ["hotline", "5553000"], "1795360282.24", "Local/100@callers-0000000c;1")
    assert session.env["agi_context"] == "hotline" and not session.hung_up


def test_commands_go_out_one_at_a_time_and_replies_match_in_order_around_hangup():
    box, route = holder()
    h = Harness({"probe": route})
    h.feed(env_block())
    session = box["session"]
    first = session.command("WAIT", "FOR", "DIGIT", 1000)
    second = session.get_variable("CHANNEL")
    third = session.stream_file("beep")
    assert h.sent() == b"WAIT FOR DIGIT 1000\n"  # nothing else until the reply
    h.feed(b"200 result=-1\nHANGUP\n")  # reply and notice in one read, as Asterisk may send
    assert session.hung_up
    assert first.result.result == "-1"
    assert h.sent() == b"GET VARIABLE CHANNEL\n"
    h.feed(b"HANGUP\n")  # a notice is never taken for a reply
    h.feed(b"200 result=1 (Local/100@callers-0000000c;1)\n")
    assert second.result == "Local/100@callers-0000000c;1"
    assert h.sent() == b'STREAM FILE beep ""\n'
    h.feed(DEAD_CHANNEL)
    third.addErrback(lambda f: box.setdefault("error", f.value))
    assert isinstance(box["error"], AGIDeadChannel) and box["error"].code == "agi.dead-channel"
    assert h.clock.getDelayedCalls() == []  # each reply cancelled its command's timer


def test_commands_after_hangup_are_still_sent_and_asterisk_decides():
    box, route = holder()
    h = Harness({"probe": route})
    h.feed(env_block() + b"HANGUP\n")
    session = box["session"]
    assert session.hung_up
    value = session.get_variable("CTI_CALL_ID")
    assert h.sent() == b"GET VARIABLE CTI_CALL_ID\n"
    h.feed(b"200 result=1 (cti-1)\n")
    assert value.result == "cti-1"


@pytest.mark.parametrize("reply, error, code", [
    (b"510 Invalid or unknown command\n", AGIUnknownCommand, "agi.unknown-command"),
    (b"511 Command Not Permitted on a dead channel or intercept routine\n", AGIDeadChannel,
     "agi.dead-channel"),
    (b"520-Invalid command syntax.  Proper usage follows:\nUsage: <literal>X</literal>\n"
     b"520 End of proper usage.\n", AGIUsageError, "agi.usage"),
    (b"503 Service Unavailable\n", AGIProtocolError, "agi.protocol"),
])
def test_error_replies_map_to_the_exception_hierarchy(reply, error, code):
    box, route = holder()
    h = Harness({"probe": route})
    h.feed(env_block())
    failed = []
    box["session"].command("FOO", "BAR").addErrback(failed.append)
    h.feed(reply)
    [failure] = failed
    assert isinstance(failure.value, error) and failure.value.code == code
    assert failure.value.command == "FOO BAR"
    if error is AGIUsageError:
        assert failure.value.usage == "Usage: <literal>X</literal>"
    assert not h.closing  # the conversation goes on


@pytest.mark.parametrize("call, reply, expected", [
    (lambda s: s.get_variable("X"), b"200 result=0\n", None),
    (lambda s: s.get_variable("X"), b"200 result=1 ()\n", ""),
    (lambda s: s.get_full_variable("${X}"), b"200 result=1 (a b)\n", "a b"),
    (lambda s: s.wait_for_digit(5000), b"200 result=53\n", "5"),
    (lambda s: s.wait_for_digit(0), b"200 result=0\n", None),
    (lambda s: s.get_data("beep", 3000, 4), b"200 result=5555\n", "5555"),
    (lambda s: s.get_data("beep", 1000, 4), b"200 result= (timeout)\n", ""),
    (lambda s: s.stream_file("beep", "#"), b"200 result=35 endpos=100\n", "#"),
    (lambda s: s.stream_file("beep"), b"200 result=0 endpos=3404\n", None),
    (lambda s: s.channel_status(), b"200 result=6\n", 6),
    (lambda s: s.exec_app("Playback", "beep"), b"200 result=0\n", 0),
    (lambda s: s.answer(), b"200 result=0\n", None),
    (lambda s: s.set_variable("X", 5), b"200 result=1\n", None),
])
def test_typed_helpers_read_results(call, reply, expected):
    box, route = holder()
    h = Harness({"probe": route})
    h.feed(env_block())
    d = call(box["session"])
    h.feed(reply)
    assert d.result == expected


@pytest.mark.parametrize("call, reply, error", [
    (lambda s: s.wait_for_digit(1000), b"200 result=-1\n", AGIHangup),
    (lambda s: s.get_data("beep"), b"200 result=-1\n", AGIHangup),
    (lambda s: s.answer(), b"200 result=-1\n", AGIHangup),
    (lambda s: s.stream_file("no-such-sound"), b"200 result=-1 endpos=0\n", AGICommandFailed),
    (lambda s: s.exec_app("NoSuchApplication", "foo"), b"200 result=-2\n", AGICommandFailed),
    (lambda s: s.get_variable("X"), b"200 result=7\n", AGIProtocolError),
])
def test_typed_helpers_raise_for_failures(call, reply, error):
    box, route = holder()
    h = Harness({"probe": route})
    h.feed(env_block())
    failed = []
    call(box["session"]).addErrback(failed.append)
    h.feed(reply)
    assert isinstance(failed[0].value, error)


@pytest.mark.parametrize("call, line", [
    (lambda s: s.set_variable("ACD_TARGET", "Local/1001@agents"),
     b'SET VARIABLE ACD_TARGET "Local/1001@agents"\n'),
    (lambda s: s.verbose("hello world", 3), b'VERBOSE "hello world" 3\n'),
    (lambda s: s.exec_app("MusicOnHold", "default", 2), b"EXEC MusicOnHold default,2\n"),
    (lambda s: s.get_data("beep", max_digits=4), b"GET DATA beep 0 4\n"),
    (lambda s: s.set_context("cti-wait"), b"SET CONTEXT cti-wait\n"),
    (lambda s: s.set_extension("s"), b"SET EXTENSION s\n"),
    (lambda s: s.set_priority(1), b"SET PRIORITY 1\n"),
    (lambda s: s.hangup(), b"HANGUP\n"),
])
def test_typed_helpers_write_commands(call, line):
    box, route = holder()
    h = Harness({"probe": route})
    h.feed(env_block())
    call(box["session"])
    assert h.sent() == line


def test_an_injected_newline_is_refused_and_nothing_is_written():
    box, route = holder()
    h = Harness({"probe": route})
    h.feed(env_block())
    failed = []
    box["session"].set_variable("X", "a\nEXEC Dial PJSIP/evil").addErrback(failed.append)
    assert isinstance(failed[0].value, AGIArgumentError)
    assert h.sent() == b""


def test_a_cancelled_queued_command_is_never_sent():
    box, route = holder()
    h = Harness({"probe": route})
    h.feed(env_block())
    session = box["session"]
    first = session.command("NOOP", "1")
    second = session.command("NOOP", "2")
    second.addErrback(lambda f: None)
    second.cancel()
    third = session.command("NOOP", "3")
    h.sent()
    h.feed(b"200 result=0\n")
    assert first.called and h.sent() == b"NOOP 3\n"
    h.feed(b"200 result=0\n")
    assert third.called


# -- time limits and vanishing clients --------------------------------------------------------------
def test_half_a_header_then_close_costs_nothing():
    h = Harness({})
    h.feed(b"agi_network: yes\nagi_network_scr")
    h.vanish()
    assert h.session is None and h.sent() == b""
    assert h.clock.getDelayedCalls() == []


def test_a_header_never_finished_is_dropped_by_the_header_timer():
    h = Harness({}, header_timeout=5.0)
    h.feed(b"agi_network: yes\n")
    h.clock.advance(4.9)
    assert not h.closing
    h.clock.advance(0.2)
    assert h.closing and h.session is None
    h.vanish()
    assert h.clock.getDelayedCalls() == []


def test_a_complete_header_cancels_the_header_timer():
    box, route = holder()
    h = Harness({"probe": route}, header_timeout=5.0)
    h.feed(env_block())
    assert h.clock.getDelayedCalls() == []
    h.clock.advance(60)
    assert not h.closing


def test_garbage_instead_of_a_header_closes_the_connection():
    h = Harness({})
    h.feed(b"GET / HTTP/1.1\r\nHost: ctid\r\n\r\n")
    assert h.closing and h.session is None and h.sent() == b""
    h.vanish()
    assert h.clock.getDelayedCalls() == []


def test_a_route_gets_agihangup_when_the_client_vanishes():
    outcome = []

    async def route(session):
        try:
            await session.wait_for_digit(5000)
        except AGIHangup as error:
            outcome.append(error)
            await session.verbose("too late")  # later commands fail the same way, not hang

    h = Harness({"probe": route})
    h.feed(env_block())
    h.vanish()
    assert isinstance(outcome[0], AGIHangup)
    assert h.session.closed
    assert h.clock.getDelayedCalls() == []


def test_no_reply_in_time_fails_the_command_and_ends_the_session(caplog):
    outcome = []

    async def route(session):
        try:
            await session.command("EXEC", "Wait", "999")
        except AGITimeout as error:
            outcome.append(error)
            raise

    h = Harness({"probe": route}, command_timeout=30.0)
    h.feed(env_block())
    h.sent()
    h.clock.advance(30)
    assert isinstance(outcome[0], AGITimeout) and outcome[0].code == "agi.timeout"
    assert h.closing and h.sent() == b""  # no fallback into a conversation out of step
    h.vanish()
    assert h.clock.getDelayedCalls() == []
    assert "linkedid=?" in caplog.text


def test_a_stray_line_among_replies_fails_the_pending_command_and_closes():
    failed = []
    box, route = holder()
    h = Harness({"probe": route})
    h.feed(env_block())
    box["session"].command("NOOP").addErrback(failed.append)
    h.feed(b"this is not agi\n200 result=0\n")
    assert isinstance(failed[0].value, AGIProtocolError)
    assert h.closing


# -- routes, fallback ---------------------------------------------------------------------------------
def expect_fallback(h: Harness, linkedid: bytes = b"1795360282.20") -> None:
    for line in (b"SET CONTEXT cti-fallback\n", b"SET EXTENSION s\n", b"SET PRIORITY 1\n"):
        assert h.sent() == line
        h.feed(b"200 result=0\n")
    assert h.sent() == b"GET VARIABLE CHANNEL(linkedid)\n"
    h.feed(b"200 result=1 (" + linkedid + b")\n")


def test_a_route_that_raises_sends_the_channel_to_the_fallback_context(caplog):
    async def route(session):
        await session.answer()
        raise RuntimeError("no agent table")

    h = Harness({"probe": route})
    h.feed(env_block())
    assert h.sent() == b"ANSWER\n"
    h.feed(b"200 result=0\n")
    expect_fallback(h)
    assert h.closing and h.sent() == b""
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "uniqueid=1795360282.24" in record.getMessage()
    assert "linkedid=1795360282.20" in record.getMessage()
    assert "sent to cti-fallback" in record.getMessage()
    assert record.exc_info[0] is RuntimeError


def test_an_unknown_script_goes_to_the_fallback_context(caplog):
    h = Harness({"probe": probe.probe}, fallback_context="cti-fallback")
    h.feed(env_block("no-such-route"))
    expect_fallback(h)
    assert h.closing
    assert "no AGI route" in caplog.text and "'no-such-route'" in caplog.text


def test_a_plain_function_route_raising_also_falls_back():
    def route(session):
        raise KeyError("tier")

    h = Harness({"probe": route})
    h.feed(env_block())
    expect_fallback(h)
    assert h.closing


def test_no_fallback_for_a_channel_already_hung_up(caplog):
    async def route(session):
        await session.command("NOOP")
        raise ValueError("bug after hangup")

    h = Harness({"probe": route})
    h.feed(env_block())
    assert h.sent() == b"NOOP\n"
    h.feed(b"HANGUP\n200 result=0\n")
    assert h.sent() == b"GET VARIABLE CHANNEL(linkedid)\n"  # still allowed on a dead channel
    h.feed(b"200 result=1 (1795360282.20)\n")
    assert h.closing and h.sent() == b""
    assert "channel not moved" in caplog.text and "linkedid=1795360282.20" in caplog.text


def test_a_route_ending_with_agihangup_is_not_an_error(caplog):
    async def route(session):
        await session.wait_for_digit(5000)

    h = Harness({"probe": route})
    h.feed(env_block())
    h.sent()
    h.feed(b"200 result=-1\nHANGUP\n")
    assert h.closing and h.sent() == b""
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_route_returning_a_deferred_is_waited_for():
    done = defer.Deferred()
    h = Harness({"probe": lambda session: done})
    h.feed(env_block())
    assert not h.closing
    done.callback(None)
    assert h.closing


def test_a_plain_function_route_returning_none_closes_the_session():
    h = Harness({"probe": lambda session: None})
    h.feed(env_block())
    assert h.closing and h.sent() == b""


# -- the route registry and the probe ---------------------------------------------------------------
def test_build_routes_and_the_probe_route():
    routes = build_routes(acd=object())
    assert set(routes) == {"probe"}
    h = Harness(routes)
    h.feed(env_block())
    assert h.sent() == b"GET VARIABLE CALLERID(num)\n"
    h.feed(b"200 result=1 (5553000)\n")
    assert h.sent() == b"GET FULL VARIABLE ${CONTEXT},${EXTEN},${PRIORITY}\n"
    h.feed(b"200 result=1 (hotline,10010,2)\n")
    assert h.sent() == b'SET VARIABLE CTI_PROBE "ok"\n'
    h.feed(OK)
    verbose = h.sent()
    assert verbose.startswith(b'VERBOSE "ctid ') and verbose.endswith(b' 3\n')
    assert b"uniqueid=1795360282.24" in verbose and b"5553000" not in verbose  # number masked
    h.feed(OK)
    assert h.closing


# -- fuzzing --------------------------------------------------------------------------------------
@settings(max_examples=150, deadline=None)
@given(st.booleans(), st.binary(max_size=600), st.lists(st.integers(min_value=0), max_size=12))
def test_fuzz_any_bytes_never_raise_and_leave_no_timer(with_header, data, cuts):
    box, route = holder()
    h = Harness({"probe": route})
    if with_header:
        h.feed(env_block())
        box["session"].command("NOOP").addErrback(lambda failure: None)
    points = sorted({c % (len(data) + 1) for c in cuts})
    for a, b in zip([0, *points], [*points, len(data)]):
        h.feed(data[a:b])
    h.vanish()
    assert h.clock.getDelayedCalls() == []


def test_when_hung_up_and_raise_if_hung_up_follow_the_notice():
    box, route = holder()
    h = Harness({"probe": route})
    h.feed(env_block())
    session = box["session"]
    waiter, dropped = session.when_hung_up(), session.when_hung_up()
    dropped.addErrback(lambda failure: None)
    dropped.cancel()
    session.raise_if_hung_up()  # nothing yet
    assert not waiter.called
    h.feed(b"HANGUP\n")
    assert waiter.called and session.when_hung_up().called
    with pytest.raises(AGIHangup):
        session.raise_if_hung_up()


def test_when_hung_up_fires_when_the_client_vanishes():
    box, route = holder()
    h = Harness({"probe": route})
    h.feed(env_block())
    waiter = box["session"].when_hung_up()
    h.vanish()
    assert waiter.called and box["session"].closed
