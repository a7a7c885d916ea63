"""The dialplan loop of one channel (Asterisk's ``__ast_pbx_run``) and variable expansion.

Each channel that runs dialplan gets one coroutine: find the step at its location, expand
``${...}``/``$[...]`` in the data, publish ``Newexten``, run the application, move on. A
``Goto``/``Redirect`` sets :attr:`Channel.jump`; a hangup ends the loop, after which the ``h``
extension of the context runs (if there is one) and the channel is destroyed.
"""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from twisted.internet import defer

from . import cdr, events
from .apps import APPLICATIONS, AppHangup, ExtenDigit, UnknownApplication
from .channel import Channel, HangupInterruption, RedirectInterruption

if TYPE_CHECKING:  # pragma: no cover
    from .pbx import PBX

log = logging.getLogger(__name__)


def run(pbx: "PBX", chan: Channel) -> defer.Deferred:
    """Start the dialplan of ``chan`` at its current location; fires when it is gone."""
    return defer.ensureDeferred(_run(pbx, chan))


async def _run(pbx: "PBX", chan: Channel) -> None:
    chan.pbx_running = True
    try:
        await _main_loop(pbx, chan)
    except Exception:  # noqa: BLE001 - a broken application must not kill the simulator
        log.exception("dialplan of %s failed", chan.name)
    chan.pbx_running = False
    if chan.hangupcause is None:
        chan.hangupcause = 16
    if not chan.hung_up:
        pbx.soft_hangup(chan, 16)
        await _run_h_exten(pbx, chan)
        pbx.destroy(chan)


async def _main_loop(pbx: "PBX", chan: Channel) -> None:
    while not chan.hangup_requested:
        if chan.jump is not None:
            chan.context, chan.exten, chan.priority = chan.jump
            chan.jump = None
        step = pbx.dialplan.find(chan.context, chan.exten, chan.priority)
        if step is None:
            log.info("no step at %s,%s,%s for %s: hanging up", chan.context, chan.exten,
                     chan.priority, chan.name)
            return
        if step.app.lower() not in APPLICATIONS:
            log.warning("no application %r (channel %s): hanging up", step.app, chan.name)
            return
        data = pbx.substitute(chan, step.data or "")
        if chan.redirected_from_bridge:
            chan.redirected_from_bridge = False      # Asterisk reported this one already
        else:
            pbx.emit(events.newexten(chan, step.app, data))
        chan.app, chan.appdata = step.app, data
        cdr.on_step(chan, step.app, data, pbx.now())
        try:
            await execute(pbx, chan, step.app, data)
        except RedirectInterruption:
            continue
        except (HangupInterruption, AppHangup, UnknownApplication):
            return
        except ExtenDigit as pressed:
            try:
                if not await collect_extension(pbx, chan, pressed.digit):
                    return
            except RedirectInterruption:
                continue
            except HangupInterruption:
                return
            continue
        if chan.hangup_requested:
            return
        if chan.jump is None:
            chan.priority += 1


async def collect_extension(pbx: "PBX", chan: Channel, digit: str) -> bool:
    """``__ast_pbx_run`` after an application returned a digit: read more digits (5 s apart)
    while a longer extension could still match, then go to that extension, else to ``i``
    (with ``INVALID_EXTEN``); False when neither exists (the call ends)."""
    from .playback import DIGIT_TIMEOUT_MS, wait_digit

    typed = digit
    while pbx.dialplan.matchmore(chan.context, typed):
        more = await wait_digit(pbx, chan, DIGIT_TIMEOUT_MS)
        if more is None:
            break
        typed += more
    if pbx.dialplan.exists(chan.context, typed, 1):
        chan.jump = (chan.context, typed, 1)
        return True
    if pbx.dialplan.exists(chan.context, "i", 1):
        pbx.set_var(chan, "INVALID_EXTEN", typed)
        chan.jump = (chan.context, "i", 1)
        return True
    log.warning("Invalid extension '%s', but no rule 'i' or 'e' in context '%s' (%s)", typed,
                chan.context, chan.name)
    return False


async def execute(pbx: "PBX", chan: Channel, app: str, data: str) -> None:
    """Run one application. Unknown ones hang the channel up, as Asterisk does."""
    handler = APPLICATIONS.get(app.lower())
    if handler is None:
        log.warning("no application %r (channel %s): hanging up", app, chan.name)
        raise UnknownApplication(app)
    await handler(pbx, chan, data)


async def _run_h_exten(pbx: "PBX", chan: Channel) -> None:
    if not pbx.dialplan.exists(chan.context, "h", 1):
        return
    chan.in_h_exten = True
    chan.exten, chan.priority, chan.jump = "h", 1, None
    chan.hangup_requested = False            # the h extension runs on a hung-up channel
    while True:
        step = pbx.dialplan.find(chan.context, chan.exten, chan.priority)
        if step is None:
            return
        data = pbx.substitute(chan, step.data or "")
        pbx.emit(events.newexten(chan, step.app, data))
        chan.app, chan.appdata = step.app, data
        try:
            await execute(pbx, chan, step.app, data)
        except (HangupInterruption, RedirectInterruption, AppHangup):
            return
        except UnknownApplication:
            return
        if chan.jump is not None:           # a Goto inside h (ast_pbx_h_exten_run loops too)
            chan.context, chan.exten, chan.priority = chan.jump
            chan.jump = None
        else:
            chan.priority += 1


async def run_subroutine(pbx: "PBX", chan: Channel, context: str, args: list[str]) -> None:
    """``ast_app_exec_sub`` as Dial's ``U()`` uses it: run ``context,s,1`` on ``chan`` (a
    channel running no dialplan, the answered callee) until ``Return``, with ``ARG1``…
    set, then put the channel back where it was. A step that fails, a hangup or a missing
    step ends the routine early, as Asterisk's does."""
    saved = (chan.context, chan.exten, chan.priority, chan.app, chan.appdata)
    names = [f"ARG{n}" for n in range(1, len(args) + 1)]
    chan.context, chan.exten, chan.priority, chan.jump = context, "s", 1, None
    for name, value in zip(names, args):
        pbx.set_var(chan, name, value)
    try:
        while not chan.hangup_requested:
            step = pbx.dialplan.find(chan.context, chan.exten, chan.priority)
            if step is None:
                log.warning("Gosub %s,s,1 on %s: no step at priority %s", context, chan.name,
                            chan.priority)
                return
            data = pbx.substitute(chan, step.data or "")
            pbx.emit(events.newexten(chan, step.app, data))
            chan.app, chan.appdata = step.app, data
            if step.app.lower() == "return":
                return
            try:
                await execute(pbx, chan, step.app, data)
            except (HangupInterruption, RedirectInterruption, AppHangup, UnknownApplication):
                return
            if chan.jump is not None:
                chan.context, chan.exten, chan.priority = chan.jump
                chan.jump = None
            else:
                chan.priority += 1
    finally:
        for name in names:                    # the frame's variables go with the frame
            if name in chan.variables:
                pbx.set_var(chan, name, "")
                del chan.variables[name]
        chan.context, chan.exten, chan.priority, chan.app, chan.appdata = saved


# -- variables and functions -------------------------------------------------------------------
def resolve_variable(pbx: "PBX", chan: Channel | None, name: str) -> str | None:
    if chan is not None:
        builtin = _builtin(pbx, chan, name)
        if builtin is not None:
            return builtin
        if name in chan.variables:
            return chan.variables[name]
    return pbx.globals.get(name)


def _builtin(pbx: "PBX", chan: Channel, name: str) -> str | None:
    if name == "CHANNEL":
        return chan.name
    if name == "UNIQUEID":
        return chan.uniqueid
    if name == "EXTEN":
        return chan.exten
    if name == "CONTEXT":
        return chan.context
    if name == "PRIORITY":
        return str(chan.priority)
    if name == "LINKEDID":
        return chan.linkedid
    if name == "HANGUPCAUSE":
        return str(chan.hangupcause or 0)
    if name == "EPOCH":
        return str(int(pbx.now()))
    if name == "CALLERIDNUM":
        return chan.caller.num or ""
    if name == "CALLERIDNAME":
        return chan.caller.name or ""
    if name == "SYSTEMNAME":
        return pbx.system_name
    return None


def call_function(pbx: "PBX", chan: Channel | None, name: str, args: str) -> str:
    fname = name.upper()
    arg = args.strip()
    if fname in ("CALLERID", "CONNECTEDLINE"):
        if chan is None:
            return ""
        party = chan.caller if fname == "CALLERID" else chan.connected
        what = arg.lower()
        if what in ("num", "number"):
            return party.num or ""
        if what == "name":
            return party.name or ""
        if what == "all":
            if party.name:
                return f'"{party.name}" <{party.num or ""}>'
            return f"<{party.num}>" if party.num else ""
        return ""
    if fname == "CHANNEL":
        if chan is None:
            return ""
        return {"name": chan.name, "uniqueid": chan.uniqueid, "linkedid": chan.linkedid,
                "language": chan.language, "state": chan.state.desc.lower(),
                "channeltype": chan.tech, "context": chan.context,
                "exten": chan.exten}.get(arg.lower(), "")
    if fname == "LEN":
        return str(len(args))
    if fname == "DB":
        family, _, key = arg.partition("/")
        return pbx.database.get((family, key), "")
    if fname == "DB_EXISTS":
        family, _, key = arg.partition("/")
        return "1" if (family, key) in pbx.database else "0"
    if fname in ("STRFTIME",):
        return time.strftime("%Y%m%d-%H%M%S", time.gmtime(pbx.now()))
    if fname == "GLOBAL":
        return pbx.globals.get(arg, "")
    if fname == "EXISTS" or fname == "ISNULL":
        return "1" if (args == "") == (fname == "ISNULL") else "0"
    log.debug("unknown dialplan function %s(%s)", name, args)
    return ""
