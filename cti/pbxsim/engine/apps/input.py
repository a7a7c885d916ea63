"""Applications that take something from the caller: Read (digits) and Record (voice).

``Read`` follows ``app_read.c`` (``READSTATUS`` OK / TIMEOUT / HANGUP / SKIPPED / ERROR, one
more attempt per empty answer, ``#`` or the ``t()`` terminators, barge-in into the prompt);
``Record`` follows ``app_record.c`` (a beep unless ``q``, ``RECORD_STATUS`` DTMF / SILENCE /
TIMEOUT / HANGUP / SKIP / OPERATOR / ERROR, ``RECORDED_FILE``, the silence cut from the
end). A finished recording becomes a sound of the PBX with its length, so it can be played
back (``pbx.recordings`` lists them).
"""
from __future__ import annotations

import logging

from cti.pbxsim.dialplan import split_args

from ..channel import ChannelState, Interruption
from ..playback import GetData, RecordEnd, carries_media, get_data, record, stream
from . import application

log = logging.getLogger(__name__)


def _flags(text: str) -> dict[str, str | None]:
    """``ast_app_parse_options``: letters, some with ``(argument)``."""
    flags: dict[str, str | None] = {}
    i = 0
    while i < len(text):
        letter = text[i]
        if text[i + 1:i + 2] == "(":
            end = text.find(")", i + 2)
            end = len(text) if end < 0 else end
            flags[letter] = text[i + 2:end]
            i = end + 1
        else:
            flags[letter] = None
            i += 1
    return flags


@application("Read")
async def read(pbx, chan, data):
    pbx.set_var(chan, "READSTATUS", "ERROR")
    args = split_args(data) + [""] * 6
    variable, prompt, maxdigits, options, attempts, timeout = (a.strip() for a in args[:6])
    if not variable:
        log.warning("Read requires an argument (variable) on %s", chan.name)
        return
    flags = _flags(options)
    tries = _atoi(attempts) if attempts else 1
    tries = tries if tries > 0 else 1
    timeout_ms = 0
    if timeout:
        try:
            seconds = float(timeout)
        except ValueError:
            seconds = 0.0
        timeout_ms = int(seconds * 1000) if seconds > 0 else 0
    count = _atoi(maxdigits) if maxdigits else 255
    count = count if 1 <= count <= 255 else 255
    terminator = "#"
    if "t" in flags:
        terminator = flags["t"] or ""
    if chan.state is not ChannelState.UP:
        if "s" in flags:
            pbx.set_var(chan, variable, "")
            pbx.set_var(chan, "READSTATUS", "SKIPPED")
            return
        if "n" not in flags:
            pbx.answer(chan)
    status = "ERROR"
    try:
        while tries:
            result, digits = await get_data(pbx, chan, prompt.split("&") if prompt else [],
                                            count, timeout_ms, terminator)
            if result is GetData.FAILED:
                pbx.set_var(chan, variable, digits)
                break
            if result is GetData.EMPTY_END_TERMINATED and "e" in flags:
                digits = terminator
            status = {GetData.COMPLETE: "OK", GetData.EMPTY_END_TERMINATED: "OK",
                      GetData.TIMEOUT: "TIMEOUT"}.get(result, status)
            pbx.set_var(chan, variable, digits)
            tries = 0 if digits else tries - 1
    except Interruption:
        if chan.hangup_requested:
            pbx.set_var(chan, "READSTATUS", "HANGUP")
        raise
    pbx.set_var(chan, "READSTATUS", status)


@application("Record")
async def record_app(pbx, chan, data):
    args = split_args(data) + [""] * 4
    filename, silence_arg, max_arg, options = (a.strip() for a in args[:4])
    flags = _flags(options) if len(split_args(data)) == 4 else {}
    if not filename:
        pbx.set_var(chan, "RECORD_STATUS", "ERROR")
        return
    base, dot, fmt = filename.rpartition(".")
    if not dot:
        base, colon, fmt = filename.rpartition(":")
        if not colon:
            log.warning("Record: no format in %r on %s", filename, chan.name)
            pbx.set_var(chan, "RECORD_STATUS", "ERROR")
            return
    silence_ms = max(0, _atoi(silence_arg)) * 1000 if silence_arg else 0
    max_ms = max(0, _atoi(max_arg)) * 1000 if max_arg else 0
    terminators = "#"
    if "t" in flags:
        terminators = "*"
    if "x" in flags:
        terminators = ""
    if "y" in flags:
        terminators = "0123456789*#ABCD"
    if "o" in flags:
        terminators += "0"
    if "%d" in base:
        count = 0
        while pbx.sound_samples(base.replace("%d", str(count))) is not None:
            count += 1
        base = base.replace("%d", str(count))
    pbx.set_var(chan, "RECORDED_FILE", base)
    if chan.state is not ChannelState.UP:
        if "s" in flags:
            pbx.set_var(chan, "RECORD_STATUS", "SKIP")
            return
        if "n" not in flags:
            pbx.answer(chan)
    try:
        if "q" not in flags:
            await stream(pbx, chan, "beep")
        done = await record(pbx, chan, base, max_ms or None, silence_ms, terminators)
    except Interruption as exc:
        if chan.hangup_requested:
            if "k" in flags:
                heard = getattr(exc, "elapsed_ms", 0) if carries_media(chan) else 0
                pbx.keep_recording(base, int(heard) * 8)
            pbx.set_var(chan, "RECORD_STATUS", "HANGUP")
        raise
    if not done.media:
        kept_ms = 0
    elif done.end is RecordEnd.SILENCE and "u" not in flags:
        kept_ms = done.elapsed_ms - (silence_ms - 1000)
    elif done.end is RecordEnd.TIMEOUT:
        kept_ms = done.elapsed_ms
    else:
        kept_ms = done.elapsed_ms - 250
    pbx.keep_recording(base, max(0, kept_ms) * 8)
    if done.end is RecordEnd.DTMF:
        status = "OPERATOR" if done.digit == "0" and "o" in flags and "y" not in flags else "DTMF"
    else:
        status = done.end.name
    pbx.set_var(chan, "RECORD_STATUS", status)


def _atoi(text: str) -> int:
    """C's ``atoi``/``sscanf("%d")``: the leading integer, 0 if none."""
    text = text.strip()
    end = 1 if text[:1] in "+-" else 0
    while end < len(text) and text[end].isdigit():
        end += 1
    try:
        return int(text[:end])
    except ValueError:
        return 0
