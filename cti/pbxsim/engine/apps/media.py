"""Media applications: Playback, Background, WaitExten, MusicOnHold, MixMonitor, StopMixMonitor.

No audio flows; what is simulated is the time a prompt takes (from the sound table of the
PBX, in 8 kHz samples, in the channel's language) and the events and variables Asterisk
publishes around it. ``Background`` and ``WaitExten`` hand a pressed digit to the dialplan
loop, which collects the rest of the extension (``__ast_pbx_run``).
"""
from __future__ import annotations

from cti.pbxsim.dialplan import split_args

from .. import events
from ..channel import ChannelState
from ..playback import ANY_DIGIT, RESPONSE_TIMEOUT_MS, stream, wait_digit
from . import AppHangup, ExtenDigit, application


def _files(text: str) -> list[str]:
    return [f.strip() for f in text.split("&") if f.strip()]


@application("Playback")
async def playback(pbx, chan, data):
    """``app_playback``: answers first (unless ``noanswer``), ``skip`` when not up; digits are
    ignored; a missing file sets ``PLAYBACKSTATUS=FAILED`` and the next one plays."""
    args = split_args(data)
    options = {o.strip().lower() for o in (args[1] if len(args) > 1 else "").split("&")}
    if chan.state is not ChannelState.UP:
        if "skip" in options:
            pbx.set_var(chan, "PLAYBACKSTATUS", "SUCCESS")
            return
        if "noanswer" not in options:
            pbx.answer(chan)
    status = "SUCCESS"
    for name in _files(args[0] if args else ""):
        if await stream(pbx, chan, name) is None:
            status = "FAILED"
    pbx.set_var(chan, "PLAYBACKSTATUS", status)


@application("Background", "BackGround")
async def background(pbx, chan, data):
    """``pbx_builtin_background``: plays until a digit; a digit that is a whole one-digit
    extension of the context jumps there, any other goes to the loop's digit collection."""
    args = split_args(data)
    if not args or not args[0].strip():
        raise AppHangup()
    options = args[1].strip() if len(args) > 1 else ""
    language = args[2].strip() if len(args) > 2 and args[2].strip() else None
    context = args[3].strip() if len(args) > 3 and args[3].strip() else chan.context
    flags = {"skip": {"s"}, "noanswer": {"n"}}.get(options.lower(), set(options))
    skip, noanswer = "s" in flags, "n" in flags
    failed = False
    digit = None
    if chan.state is not ChannelState.UP and skip:
        pbx.set_var(chan, "BACKGROUNDSTATUS", "SUCCESS")
        return
    if chan.state is not ChannelState.UP and not noanswer:
        pbx.answer(chan)
    saved = chan.language
    if language:
        chan.language = language
    try:
        for name in _files(args[0]):
            played = await stream(pbx, chan, name, "" if "p" in flags else ANY_DIGIT)
            if played is None:
                failed = True
                break
            if played.digit is not None:
                digit = played.digit
                break
    finally:
        chan.language = saved
    pbx.set_var(chan, "BACKGROUNDSTATUS", "FAILED" if failed else "SUCCESS")
    if digit is None:
        return
    if pbx.dialplan.exists(context, digit, 1) and not pbx.dialplan.matchmore(context, digit):
        chan.jump = (context, digit, 1)
        return
    raise ExtenDigit(digit)


@application("WaitExten")
async def wait_exten(pbx, chan, data):
    """``pbx_builtin_waitexten``: a digit goes to the loop's collection; a timeout goes on to
    the next priority if there is one, else to ``t``, else the call ends."""
    args = split_args(data)
    try:
        seconds = float(args[0]) if args and args[0].strip() else 0.0
    except ValueError:
        seconds = 0.0
    timeout_ms = int(seconds * 1000) if seconds > 0 else RESPONSE_TIMEOUT_MS
    options = args[1] if len(args) > 1 else ""
    moh = options.startswith("m")
    if moh:
        pbx.emit(events.moh_start(chan, options[2:-1] if options[1:2] == "(" else "default"))
    try:
        digit = await wait_digit(pbx, chan, timeout_ms)
    finally:
        if moh:
            pbx.emit(events.moh_stop(chan))
    if digit is not None:
        raise ExtenDigit(digit)
    if pbx.dialplan.exists(chan.context, chan.exten, chan.priority + 1):
        return
    if pbx.dialplan.exists(chan.context, "t", 1):
        chan.jump = (chan.context, "t", 1)
        return
    raise AppHangup()


@application("MusicOnHold")
async def music_on_hold(pbx, chan, data):
    args = split_args(data)
    klass = args[0] if args and args[0] else "default"
    duration = float(args[1]) if len(args) > 1 and args[1].strip() else None
    pbx.emit(events.moh_start(chan, klass))
    try:
        await chan.suspend(pbx.reactor, duration)
    finally:
        pbx.emit(events.moh_stop(chan))


@application("MixMonitor")
async def mixmonitor(pbx, chan, data):
    args = split_args(data)
    pbx.mixmonitor_start(chan, args[0] if args else "", args[1] if len(args) > 1 else "")


@application("StopMixMonitor")
async def stop_mixmonitor(pbx, chan, data):
    pbx.mixmonitor_stop(chan)
