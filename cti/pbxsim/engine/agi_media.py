"""The AGI commands that play, read digits and record, as ``res/res_agi.c`` answers them.

Registered in :data:`~cti.pbxsim.engine.agi_commands.COMMANDS` on import (replacing the
first, simpler versions there). What each answers:

* ``STREAM FILE file escape [offset]``: ``200 result=<ascii of the escape digit or 0>
  endpos=<sample where it stopped>``; a digit not in ``escape`` is dropped and the file goes on;
  ``PLAYBACKSTATUS`` is ``FAILED`` when a digit stopped it; a missing file ``200 result=-1
  endpos=<offset>``; a hangup during it ``200 result=-1 endpos=<sample reached>``.
* ``GET OPTION file escape [timeout ms]``: the same, then waits (5 s by default) for a digit,
  kept only if it is an escape digit.
* ``CONTROL STREAM FILE file escape [skipms ffchar rewchr pausechr offsetms]``: result the
  stop digit or 0, ``endpos`` in milliseconds; ``CPLAYBACKSTATUS`` / ``CPLAYBACKOFFSET`` /
  ``CPLAYBACKSTOPKEY``.
* ``WAIT FOR DIGIT ms``: the digit's ascii code or 0 (-1 waits for ever).
* ``GET DATA file [timeout ms [max]]``: the digits (a digit during the prompt is the first
  one); ``#`` ends; ``200 result=<digits> (timeout)`` when the time ran out; ``200 result=``
  for a bare ``#``; ``200 result=-1`` for a missing prompt. Without a timeout: 10 s for the
  first digit, 5 s between digits (the channel's response and digit timeouts).
* ``RECORD FILE file format escape timeout [offset] [BEEP] [s=silence]``: ``200 result=<d>
  (dtmf) endpos=<n>``, ``200 result=<r> (timeout) endpos=<n>`` (time or silence),
  ``200 result=-1 (hangup) endpos=<n>``. ``endpos`` counts the audio written: on a Local
  channel, which carries no frames, it stays 0 and silence is never detected, and a time-out
  answers ``result=1`` (both as captured from Asterisk 22, ``agi-session.txt``).
* ``SAY NUMBER n escape [gender]`` / ``SAY DIGITS n escape``: ``200 result=<digit or 0>``.
"""
from __future__ import annotations

from . import say
from .agi_commands import Outcome, command, ok, usage
from .apps.input import _atoi
from .channel import Interruption
from .playback import (DIGIT_TIMEOUT_MS, RATE, GetData, RecordEnd, carries_media, read_string,
                       record, stream, wait_digit)


def _ascii(digit: str | None) -> int:
    return ord(digit) if digit else 0


def _failing(exc: Interruption, wire: str) -> Interruption:
    """Tell the session which line answers the command a hangup/redirect cut short."""
    exc.agi_wire = wire
    return exc


def _is_int(text: str) -> bool:
    return text.strip().lstrip("+-").isdigit() if text.strip() else False


@command("STREAM FILE")
async def stream_file(session, args):
    if not 2 <= len(args) <= 3 or (len(args) == 3 and not _is_int(args[2])):
        return usage("STREAM FILE")
    pbx, chan = session.pbx, session.chan
    offset = _atoi(args[2]) if len(args) == 3 else 0
    try:
        played = await stream(pbx, chan, args[0], args[1], offset)
    except Interruption as exc:
        raise _failing(exc, f"200 result=-1 endpos={exc.endpos}")
    if played is None:
        return Outcome(f"200 result=-1 endpos={offset}", -1, "Failure")
    pbx.set_var(chan, "PLAYBACKSTATUS", "FAILED" if played.digit else "SUCCESS")
    return ok(f"result={_ascii(played.digit)} endpos={played.endpos}")


@command("GET OPTION")
async def get_option(session, args):
    if not 2 <= len(args) <= 3:
        return usage("GET OPTION")
    pbx, chan = session.pbx, session.chan
    timeout_ms = _atoi(args[2]) if len(args) == 3 else DIGIT_TIMEOUT_MS
    try:
        played = await stream(pbx, chan, args[0], args[1])
    except Interruption as exc:
        raise _failing(exc, f"200 result=-1 endpos={exc.endpos}")
    if played is None:
        return Outcome("200 result=-1 endpos=0", -1, "Failure")
    digit = played.digit
    if digit is None:
        digit = await wait_digit(pbx, chan, timeout_ms)
        if digit is not None and digit not in args[1]:
            digit = None
    return ok(f"result={_ascii(digit)} endpos={played.endpos}")


@command("CONTROL STREAM FILE")
async def control_stream_file(session, args):
    if not 2 <= len(args) <= 7:
        return usage("CONTROL STREAM FILE")
    if len(args) > 2 and not _is_int(args[2]):
        return usage("CONTROL STREAM FILE")
    if len(args) > 6 and not _is_int(args[6]):
        return usage("CONTROL STREAM FILE")
    pbx, chan = session.pbx, session.chan
    stop = args[1]
    offset_ms = _atoi(args[6]) if len(args) > 6 else 0
    try:
        played = await stream(pbx, chan, args[0], stop, offset_ms * RATE // 1000)
    except Interruption as exc:
        raise _failing(exc, f"200 result=-1 endpos={exc.endpos * 1000 // RATE}")
    if played is None:
        pbx.set_var(chan, "CPLAYBACKSTATUS", "ERROR")
        pbx.set_var(chan, "CPLAYBACKOFFSET", str(offset_ms))
        return Outcome(f"200 result=-1 endpos={offset_ms}", -1, "Failure")
    endpos_ms = played.endpos * 1000 // RATE
    if played.digit:
        pbx.set_var(chan, "CPLAYBACKSTATUS", "USERSTOPPED")
        pbx.set_var(chan, "CPLAYBACKSTOPKEY", played.digit)
    else:
        pbx.set_var(chan, "CPLAYBACKSTATUS", "SUCCESS")
    pbx.set_var(chan, "CPLAYBACKOFFSET", str(endpos_ms))
    return ok(f"result={_ascii(played.digit)} endpos={endpos_ms}")


@command("WAIT FOR DIGIT")
async def wait_for_digit(session, args):
    if len(args) != 1 or not _is_int(args[0].split()[0] if args[0].split() else ""):
        return usage("WAIT FOR DIGIT")
    digit = await wait_digit(session.pbx, session.chan, _atoi(args[0]))
    return ok(f"result={_ascii(digit)}")


@command("GET DATA")
async def get_data(session, args):
    if not args:
        return usage("GET DATA")
    pbx, chan = session.pbx, session.chan
    timeout_ms = _atoi(args[1]) if len(args) > 1 else 0
    maxlen = _atoi(args[2]) if len(args) > 2 else 1024
    first, following = 10000, DIGIT_TIMEOUT_MS
    if timeout_ms > 0:
        first = following = timeout_ms
    elif timeout_ms < 0:
        first = following = -1
    playing = None
    if args[0]:
        playing = await stream(pbx, chan, args[0], "0123456789*#ABCD")
        if playing is None:
            return Outcome("200 result=-1", -1, "Failure")
    if maxlen <= 0:
        return Outcome("200 result=-1", -1, "Failure")
    result, digits = await read_string(pbx, chan, maxlen, first, following, "#", playing)
    if result is GetData.TIMEOUT:
        return ok(f"result={digits} (timeout)")
    return ok(f"result={digits}")


@command("RECORD FILE")
async def record_file(session, args):
    if len(args) < 4 or not _is_int(args[3]):
        return usage("RECORD FILE")
    pbx, chan = session.pbx, session.chan
    name, escape, timeout_ms = args[0], args[2], _atoi(args[3])
    extra = args[4:7]
    silence_ms = 0
    for word in extra:
        if "s" in word:
            found = word[word.index("s"):]
            if len(found) > 2 and found.startswith("s="):
                silence_ms = max(0, _atoi(found[2:])) * 1000
            break
    offset = 0
    if extra and _is_int(extra[0]):
        offset = _atoi(extra[0])
    beep = ((len(extra) > 0 and not _is_int(extra[0]) and not extra[0].startswith("s="))
            or (len(extra) > 1 and not extra[1].startswith("s=")))
    if beep:
        try:
            played = await stream(pbx, chan, "beep", escape)
        except Interruption as exc:
            raise _failing(exc, f"200 result=-1 (randomerror) endpos={offset}")
        if played is not None and played.digit:
            return ok(f"result={_ascii(played.digit)} (randomerror) endpos={offset}")
    try:
        done = await record(pbx, chan, name, timeout_ms if timeout_ms >= 0 else None,
                            silence_ms, escape)
    except Interruption as exc:
        heard = getattr(exc, "elapsed_ms", 0) if carries_media(chan) else 0
        samples = offset + heard * RATE // 1000
        pbx.keep_recording(name, samples)
        raise _failing(exc, f"200 result=-1 (hangup) endpos={samples}")
    if not done.media:
        pbx.keep_recording(name, offset)
        if done.end is RecordEnd.DTMF:
            return ok(f"result={_ascii(done.digit)} (dtmf) endpos={offset}")
        return ok(f"result=1 (timeout) endpos={offset}")
    if done.end is RecordEnd.DTMF:
        samples = offset + max(0, done.elapsed_ms - 200) * RATE // 1000
        pbx.keep_recording(name, samples)
        return ok(f"result={_ascii(done.digit)} (dtmf) endpos={samples}")
    if done.end is RecordEnd.SILENCE:
        samples = offset + max(0, done.elapsed_ms - (silence_ms - 1000)) * RATE // 1000
        # the last ast_waitfor's remaining time: what Asterisk prints as the result here
        left = (timeout_ms - done.elapsed_ms) if timeout_ms >= 0 else 100000 - 20
        pbx.keep_recording(name, samples)
        return ok(f"result={max(0, left)} (timeout) endpos={samples}")
    samples = offset + done.elapsed_ms * RATE // 1000
    pbx.keep_recording(name, samples)
    return ok(f"result=1 (timeout) endpos={samples}")


async def _say(session, files: list[str], escape: str) -> Outcome:
    for name in files:
        try:
            played = await stream(session.pbx, session.chan, name, escape)
        except Interruption as exc:
            raise _failing(exc, "200 result=-1")
        if played is not None and played.digit:
            return ok(f"result={_ascii(played.digit)}")
    return ok("result=0")


@command("SAY NUMBER")
async def say_number(session, args):
    if not 2 <= len(args) <= 3:
        return usage("SAY NUMBER")
    try:
        number = int(args[0].strip().split()[0])
    except (ValueError, IndexError):
        return usage("SAY NUMBER")
    return await _say(session, say.number_files(number, session.chan.language), args[1])


@command("SAY DIGITS")
async def say_digits(session, args):
    if len(args) != 2 or not _is_int(args[0]):
        return usage("SAY DIGITS")
    return await _say(session, say.digit_files(args[0]), args[1])
