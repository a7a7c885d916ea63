"""Media applications: Playback, MusicOnHold, MixMonitor, StopMixMonitor.

No audio flows; what is simulated is the time a prompt takes (from the sound table of the
PBX, in 8 kHz samples) and the events and variables Asterisk publishes around it.
"""
from __future__ import annotations

from cti.pbxsim.dialplan import split_args

from .. import events
from . import application


@application("Playback")
async def playback(pbx, chan, data):
    args = split_args(data)
    files = [f for f in (args[0] if args else "").split("&") if f]
    status = "SUCCESS"
    for name in files:
        samples = pbx.sound_samples(name)
        if samples is None:
            status = "FAILED"
            continue
        await chan.suspend(pbx.reactor, samples / 8000.0)
    pbx.set_var(chan, "PLAYBACKSTATUS", status)


@application("Background")
async def background(pbx, chan, data):
    args = split_args(data)
    for name in [f for f in (args[0] if args else "").split("&") if f]:
        samples = pbx.sound_samples(name)
        if samples is None:
            continue
        digit = await chan.suspend(pbx.reactor, samples / 8000.0, wake_on_dtmf=True)
        if digit is not None:
            pbx.goto(chan, f"{digit},1")
            return


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

