"""The recorded Asterisk conversations replayed against FastAGIFactory: Asterisk's side is fed in
its real TCP chunks, and every command our session writes is checked against the capture."""
from __future__ import annotations

import pytest

from cti.agi_errors import (
    AGICommandFailed, AGIDeadChannel, AGIError, AGIHangup, AGIUnknownCommand, AGIUsageError,
)
from cti.protocol.agi import AGICommandParser, AGIServerParser, Result, split_words
from tests.net.test_fastagi import Harness
from tests.protocol.test_agi_parser import AGI_CAPTURES, load_agi_capture

EXPECTED_ERROR = {510: AGIUnknownCommand, 511: AGIDeadChannel, 520: AGIUsageError}


def commands_of(name: str) -> list[tuple[str, ...]]:
    parser = AGICommandParser()
    return [command.words for chunk in load_agi_capture(name).tx for command in parser.feed(chunk)]


def script_of(name: str) -> str:
    return AGIServerParser().feed(load_agi_capture(name).server)[0].network_script


def words(data: bytes) -> list[tuple[str, ...]]:
    return [split_words(line) for line in data.decode().splitlines()]


def play(name: str, route, exact: bool = False) -> Harness:
    """Feed Asterisk's chunks in order; at each of the client's chunks, check what we wrote."""
    h = Harness({script_of(name): route})
    for direction, data in load_agi_capture(name).chunks:
        if direction == "rx":
            h.feed(data)
        elif exact:
            assert h.sent() == data
        else:
            assert words(h.sent()) == words(data)
    assert h.closing and h.sent() == b""  # the route finished and the session closed itself
    h.vanish()
    assert h.clock.getDelayedCalls() == []
    return h


@pytest.mark.parametrize("name", AGI_CAPTURES)
def test_replay_every_command_of_every_capture(name):
    """Each captured command sent through ``session.command``; each outcome is the captured
    reply, or the exception its code maps to."""
    outcomes = []

    async def route(session):
        for command in commands_of(name):
            try:
                outcomes.append(await session.command(*command))
            except AGIError as error:
                outcomes.append(error)

    play(name, route)
    replies = [i for i in AGIServerParser().feed(load_agi_capture(name).server)
               if isinstance(i, Result)]
    assert len(outcomes) == len(replies) == len(commands_of(name))
    for outcome, reply in zip(outcomes, replies):
        if reply.code == 200:
            assert outcome == reply
        else:
            assert type(outcome) is EXPECTED_ERROR[reply.code]
            assert outcome.result == reply


def test_replay_the_routing_session_byte_for_byte_with_typed_helpers():
    seen = {}

    async def route(session):
        assert session.args == ["hotline", "5553000"]
        seen["caller"] = await session.get_variable("CALLERID(num)")
        seen["where"] = await session.get_full_variable("${CHANNEL}-${UNIQUEID}")
        await session.set_variable("ACD_TARGET", "Local/1001@agents")
        await session.verbose(f"ACD routed caller {seen['caller']}", 1)

    play("agi-session-route", route, exact=True)
    assert seen == {"caller": "5553000", "where": "Local/100@callers-0000000c;1-1795360282.24"}


def test_replay_the_redirect_during_a_pending_command_surfaces_as_agihangup():
    """agi-session-redirected: a Redirect landed during WAIT FOR DIGIT. It must look like a
    hangup (AGIHangup, then 511 as AGIDeadChannel), and the session must not decide more."""
    seen = []

    async def route(session):
        assert session.args == ["cti-1795363028.134185"]
        while True:
            try:
                await session.stream_file("queue-periodic-announce")
                await session.wait_for_digit(5000)
            except AGIHangup as gone:
                seen.append(gone)
                break
        seen.append(await session.get_variable("CTI_CALL_ID"))
        seen.append(session.hung_up)
        for probe in (session.channel_status, lambda: session.stream_file("beep"),
                      lambda: session.wait_for_digit(100)):
            try:
                await probe()
            except AGIDeadChannel as dead:
                seen.append(dead)
        await session.verbose("wait-announce after redirect", 1)

    play("agi-session-redirected", route, exact=True)
    assert isinstance(seen[0], AGIHangup) and seen[0].result.result == "-1"
    assert seen[1:3] == ["cti-1795363028.134185", True]
    assert [type(e) for e in seen[3:]] == [AGIDeadChannel] * 3


def test_replay_the_hangup_session_with_typed_helpers():
    seen = []

    async def attempt(call):
        try:
            seen.append(await call)
        except (AGIHangup, AGIDeadChannel, AGICommandFailed) as error:
            seen.append(type(error).__name__)

    async def route(session):
        await attempt(session.verbose("waiting for the caller to hang up", 1))
        await attempt(session.get_variable("CHANNEL"))
        await attempt(session.get_data("beep", 1000, 4))
        for _ in range(3):
            await attempt(session.wait_for_digit(1000))
        await attempt(session.answer())
        seen.append(session.hung_up)  # the HANGUP line came in before ANSWER's 511
        await attempt(session.stream_file("beep"))
        await attempt(session.wait_for_digit(100))
        await attempt(session.get_variable("CHANNEL"))
        await attempt(session.set_variable("AFTER_HANGUP", "yes"))
        await attempt(session.verbose("still here after hangup", 1))
        await attempt(session.command("NOOP"))
        await attempt(session.exec_app("NoOp", "after-hangup"))
        await attempt(session.channel_status())
        await attempt(session.hangup())

    play("agi-session-hangup", route)
    channel = "Local/101@callers-0000000a;1"
    assert seen[:8] == [None, channel, "", None, None, "AGIHangup", "AGIDeadChannel", True]
    assert seen[8:10] == ["AGIDeadChannel"] * 2
    assert seen[10:13] == [channel, None, None]
    assert seen[13].result == "0" and seen[14] == 0
    assert seen[15:] == ["AGIDeadChannel"] * 2
