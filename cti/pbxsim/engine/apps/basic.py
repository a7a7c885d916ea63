"""Flow and signalling applications: Answer, NoOp, Set, Goto, GotoIf, Wait, Hangup, Busy,
Ringing, Verbose, Log, UserEvent, SendDTMF."""
from __future__ import annotations

import logging

from cti.pbxsim.dialplan import GotoError, check_condition, parse_gotoif, split_args

from .. import events
from ..channel import ChannelState
from . import AppHangup, application

log = logging.getLogger(__name__)


@application("NoOp", "Verbose", "Log")
async def noop(pbx, chan, data):
    return None


@application("Answer")
async def answer(pbx, chan, data):
    pbx.answer(chan)


@application("Wait")
async def wait(pbx, chan, data):
    await chan.suspend(pbx.reactor, _seconds(data, 0.0))


@application("Hangup")
async def hangup(pbx, chan, data):
    cause = _int(data, 0)
    if cause:
        chan.hangupcause = cause
    elif chan.hangupcause is None:
        chan.hangupcause = 16
    pbx.soft_hangup(chan, chan.hangupcause)
    raise AppHangup()


@application("Busy")
async def busy(pbx, chan, data):
    chan.hangupcause = 17
    pbx.indicate(chan, "busy")
    if chan.state is not ChannelState.UP:
        pbx.set_state(chan, ChannelState.BUSY)
    timeout = _seconds(data, 0.0)
    await chan.suspend(pbx.reactor, timeout if timeout > 0 else None)
    raise AppHangup()


@application("Congestion")
async def congestion(pbx, chan, data):
    chan.hangupcause = 34
    pbx.indicate(chan, "congestion")
    timeout = _seconds(data, 0.0)
    await chan.suspend(pbx.reactor, timeout if timeout > 0 else None)
    raise AppHangup()


@application("Ringing")
async def ringing(pbx, chan, data):
    pbx.indicate(chan, "ringing")


@application("Progress")
async def progress(pbx, chan, data):
    return None


@application("Set")
async def set_(pbx, chan, data):
    name, sep, value = data.partition("=")
    if not sep:
        return None
    name = name.strip()
    if "," in value and value.rsplit(",", 1)[1] in ("g", "G"):
        value = value.rsplit(",", 1)[0]
        pbx.setvar(None, name, value)
        return None
    pbx.assign(chan, name, value)


@application("Goto")
async def goto(pbx, chan, data):
    jump(pbx, chan, data)


@application("GotoIf")
async def gotoif(pbx, chan, data):
    """``pbx_builtin_gotoif``: ``condition?[true][:false]``; no branch taken goes on."""
    condition, if_true, if_false = parse_gotoif(data)
    target = if_true if check_condition(condition) else if_false
    if target:
        jump(pbx, chan, target)


def jump(pbx, chan, target: str) -> None:
    """Move ``chan`` to ``target``; a Goto that leads nowhere fails and hangs the channel up."""
    try:
        pbx.goto(chan, target)
    except GotoError as exc:
        log.warning("Goto(%s) on %s at %s,%s,%s: %s: hanging up", target, chan.name,
                    chan.context, chan.exten, chan.priority, exc.message)
        raise AppHangup() from exc


@application("UserEvent")
async def user_event(pbx, chan, data):
    args = split_args(data)
    if not args:                # app_userevent: no event name is an error that ends the call
        log.warning("UserEvent requires an argument (eventname[,body1,...]) on %s", chan.name)
        raise AppHangup()
    fields = []
    for arg in args[1:]:
        key, _, value = arg.partition(":")
        fields.append((key.strip(), value.strip()))
    pbx.emit(events.user_event(chan, args[0].strip(), fields))


@application("SendDTMF")
async def send_dtmf(pbx, chan, data):
    args = split_args(data)
    digits = args[0] if args else ""
    gap_ms = _int(args[1], 250) if len(args) > 1 and args[1] else 250
    for digit in digits:
        if digit in "0123456789*#ABCDabcdwW":
            if digit in "wW":
                await chan.suspend(pbx.reactor, 0.5)
                continue
            pbx.send_dtmf(chan, digit)
            await chan.suspend(pbx.reactor, gap_ms / 1000.0)


def _seconds(text: str, default: float) -> float:
    try:
        return float(split_args(text)[0]) if text.strip() else default
    except ValueError:
        return default


def _int(text: str, default: int) -> int:
    try:
        return int(text.strip()) if text.strip() else default
    except ValueError:
        return default
