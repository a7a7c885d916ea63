"""What Asterisk's file and digit routines do to a channel, shared by the applications and
the AGI commands: ``ast_streamfile`` + ``ast_waitstream_full`` (:func:`stream`),
``ast_app_getdata`` / ``ast_readstring`` (:func:`get_data`), ``ast_waitfordigit``
(:func:`wait_digit`) and the recording loop of ``app_record`` / ``RECORD FILE``
(:func:`record`).

No audio flows: a prompt takes its length from the PBX's sound table (8 kHz samples), digits
arrive from the simulated caller, and a recording hears the caller's voice as the times
:meth:`~cti.pbxsim.engine.channel.Channel.speak` set.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from .channel import VOICE, Interruption

RATE = 8000
ANY_DIGIT = "0123456789*#ABCD"
#: ``__ast_pbx_run`` gives every channel these (``TIMEOUT(response)``, ``TIMEOUT(digit)``)
RESPONSE_TIMEOUT_MS = 10000
DIGIT_TIMEOUT_MS = 5000


@dataclass(frozen=True)
class Streamed:
    """A file played to its end or until an escape digit: ``endpos`` in samples."""

    digit: str | None
    endpos: int


async def stream(pbx, chan, name: str, escape: str = "", offset: int = 0) -> Streamed | None:
    """Play ``name`` in the channel's language from sample ``offset``; None if no such file.

    Digits in ``escape`` stop it (``ast_waitstream_full``); any other digit is read and
    dropped while the file goes on. A hangup or redirect raises the
    :class:`~cti.pbxsim.engine.channel.Interruption` with ``endpos`` set on it.
    """
    samples = pbx.sound_samples(name, chan.language)
    if samples is None:
        return None
    pos = min(max(0, offset), samples)
    chan.playing_prompt = True
    chan.media_started("prompt", name.strip().strip('"'))
    while pos < samples:
        started = pbx.now()
        chan.playing_prompt = True
        try:
            digit = await chan.suspend(pbx.reactor, (samples - pos) / RATE, wake_on_dtmf=bool(escape))
        except Interruption as exc:
            exc.endpos = pos + int((pbx.now() - started) * RATE)
            raise
        finally:
            chan.playing_prompt = False
        if digit is None:
            pos = samples
            break
        pos = min(samples, pos + int((pbx.now() - started) * RATE))
        if digit in escape:
            return Streamed(digit, pos)
    chan.playing_prompt = False
    return Streamed(None, samples)


async def wait_digit(pbx, chan, timeout_ms: int | None) -> str | None:
    """``ast_waitfordigit``: a digit, or None after ``timeout_ms`` (None or < 0: forever)."""
    seconds = None if timeout_ms is None or timeout_ms < 0 else timeout_ms / 1000.0
    return await chan.suspend(pbx.reactor, seconds, wake_on_dtmf=True)


class GetData(enum.IntEnum):
    """``enum ast_getdata_result``."""

    FAILED = -1
    COMPLETE = 0
    TIMEOUT = 1
    INTERRUPTED = 2
    EMPTY_END_TERMINATED = 3


async def read_string(pbx, chan, maxlen: int, first_ms: int, next_ms: int, enders: str,
                      playing: Streamed | None = None) -> tuple[GetData, str]:
    """``ast_readstring``: the digit that stopped a prompt counts as the first one."""
    digits = ""
    wait_ms = first_ms
    pending = playing.digit if playing is not None else None
    while True:
        digit = pending if pending is not None else await wait_digit(pbx, chan, wait_ms)
        pending = None
        if digit is None:
            return GetData.TIMEOUT, digits
        if digit in enders and not digits:
            return GetData.EMPTY_END_TERMINATED, digits
        if digit not in enders:
            digits += digit
        if digit in enders or len(digits) >= maxlen:
            return GetData.COMPLETE, digits
        wait_ms = next_ms


async def get_data(pbx, chan, prompts: list[str], maxlen: int, timeout_ms: int,
                   enders: str = "#") -> tuple[GetData, str]:
    """``ast_app_getdata_terminator`` (``Read``): each prompt may be barged into; a missing
    prompt is skipped, and a missing last prompt fails the read (-1), as in Asterisk.
    ``timeout_ms`` 0 takes the channel's response/digit timeouts, < 0 waits for ever."""
    result: tuple[GetData, str] = (GetData.COMPLETE, "")
    prompts = prompts or [""]
    for index, name in enumerate(prompts):
        playing = None
        if name.strip():
            playing = await stream(pbx, chan, name, ANY_DIGIT)
            if playing is None:
                result = (GetData.FAILED, "")
                continue
        last = index == len(prompts) - 1
        if last:
            first, following = RESPONSE_TIMEOUT_MS, DIGIT_TIMEOUT_MS
            if timeout_ms > 0:
                first = following = timeout_ms
            elif timeout_ms < 0:
                first = following = -1
        else:
            first, following = 50, DIGIT_TIMEOUT_MS
        result = await read_string(pbx, chan, maxlen, first, following, enders, playing)
        if result[0] is GetData.EMPTY_END_TERMINATED or result[1]:
            return result
    return result


class RecordEnd(enum.Enum):
    DTMF = "dtmf"
    SILENCE = "silence"
    TIMEOUT = "timeout"


@dataclass(frozen=True)
class Recorded:
    """How a recording ended; ``elapsed_ms`` from its start, ``digit`` the one that stopped it."""

    end: RecordEnd
    elapsed_ms: int
    digit: str | None = None
    silence_ms: int = 0
    #: the channel carries audio frames (a trunk or phone); a Local channel with nothing
    #: behind it carries none, so its file stays empty and silence is never detected
    media: bool = True


async def record(pbx, chan, name: str, max_ms: int | None, silence_ms: int,
                 stop_digits: str) -> Recorded:
    """Record until a stop digit, ``silence_ms`` of silence (0: no detection) or ``max_ms``
    (None: no limit). The caller's voice (:attr:`Channel.voice_until`) resets the silence
    count, as Asterisk's DSP does. A hangup raises the Interruption with ``elapsed_ms`` set."""
    start = pbx.now()
    media = carries_media(chan)
    if not media:
        silence_ms = 0
    chan.media_started("record", name)
    while True:
        now = pbx.now()
        deadlines = []
        if max_ms is not None:
            deadlines.append(start + max_ms / 1000.0)
        if silence_ms > 0:
            quiet_from = max(start, chan.voice_until)
            # the detector ends the recording when the silence is *longer* than asked: one
            # more 20 ms frame
            deadlines.append(quiet_from + (silence_ms + 20) / 1000.0)
        until = min(deadlines) if deadlines else None
        try:
            got = await chan.suspend(pbx.reactor, None if until is None else max(0.0, until - now),
                                     wake_on_dtmf=True, wake_on_voice=silence_ms > 0)
        except Interruption as exc:
            exc.elapsed_ms = int((pbx.now() - start) * 1000)
            raise
        elapsed_ms = int(round((pbx.now() - start) * 1000))
        if got is None:
            if max_ms is not None and elapsed_ms >= max_ms:
                return Recorded(RecordEnd.TIMEOUT, max_ms, media=media)
            if silence_ms > 0 and pbx.now() >= max(start, chan.voice_until) + silence_ms / 1000.0:
                return Recorded(RecordEnd.SILENCE, elapsed_ms, silence_ms=silence_ms, media=media)
            continue
        if got == VOICE:
            continue
        if got in stop_digits:
            return Recorded(RecordEnd.DTMF, elapsed_ms, got, media=media)


def carries_media(chan) -> bool:
    """Whether audio frames reach the channel: not on a Local channel (nothing plays into it)."""
    return chan.tech != "Local"
