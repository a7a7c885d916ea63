"""``Dial``: ring one or more targets, bridge the first to answer, report ``DIALSTATUS``.

Options understood: ``g`` (go on in the dialplan when the callee hangs up), ``t`` (accepted:
transfer features are not simulated), ``U(context[^arg[^...]])`` (once the callee answers and
before it is bridged, run ``context,s,1`` on the callee's channel as a Gosub until
``Return``, ``^`` separating its arguments, as app_dial does), ``F([[context^]exten^]priority)``
(when the *caller* hangs up, the answered *callee* is not hung up but starts its own dialplan
at that place — exten and context default to the callee's own; ``F`` alone: the caller's next
priority, only if it exists — as app_dial does; variables are not copied, only inherited ``_``
ones would be). Without ``g`` the caller is hung up when an answered callee hangs up, so the
lines after ``Dial`` run only on no answer, busy or failure.
"""
from __future__ import annotations

import logging

from cti.pbxsim.dialplan import split_args

from .. import cdr, events, runner
from ..channel import HangupInterruption, Interruption
from . import AppHangup, application

log = logging.getLogger(__name__)

_RESET = ("DIALSTATUS", "DIALEDPEERNUMBER", "DIALEDPEERNAME", "ANSWEREDTIME", "ANSWEREDTIME_MS",
          "DIALEDTIME", "DIALEDTIME_MS", "RINGTIME", "RINGTIME_MS", "PROGRESSTIME", "PROGRESSTIME_MS")


@application("Dial")
async def dial(pbx, chan, data):
    args = split_args(data)
    targets = [t for t in (args[0] if args else "").split("&") if t]
    timeout = float(args[1]) if len(args) > 1 and args[1].strip() else None
    options = args[2] if len(args) > 2 else ""
    for name in _RESET:
        pbx.set_var(chan, name, "")
    started = pbx.now()
    outcome = await _ring(pbx, chan, targets, timeout)
    status, peer, ringing_at = outcome
    if status != "ANSWER":
        pbx.set_var(chan, "DIALSTATUS", status)
        return None
    callee_gosub = _option_argument(options, "U")
    if callee_gosub:
        context, *gosub_args = callee_gosub.split("^")
        await runner.run_subroutine(pbx, peer, context, gosub_args)
    try:
        await pbx.bridge_call(chan, peer)
    finally:
        if (_has_option(options, "F") and chan.hangup_requested and not peer.hung_up
                and not chan.redirected_from_bridge):
            _callee_goes_on(pbx, chan, peer, _option_argument(options, "F"))
        cdr.on_dial_end(chan, "ANSWER", pbx.now())
        if not chan.redirected_from_bridge:   # also when the caller hung up: the h
            # extension sees DIALSTATUS=ANSWER (app_dial sets it on the way out either way)
            now = pbx.now()
            answered = chan.answered_at if chan.answered_at is not None else started
            pbx.set_var(chan, "ANSWEREDTIME", str(int(now - answered)))
            pbx.set_var(chan, "ANSWEREDTIME_MS", str(int((now - answered) * 1000)))
            pbx.set_var(chan, "DIALEDTIME", str(int(now - started)))
            pbx.set_var(chan, "DIALEDTIME_MS", str(int((now - started) * 1000)))
            pbx.set_var(chan, "DIALSTATUS", "ANSWER")
    if chan.hangup_requested:
        raise HangupInterruption()
    if not _has_option(options, "g"):
        raise AppHangup()
    return None


def _callee_goes_on(pbx, chan, peer, where: str | None) -> None:
    """Option F: the caller hung up; the callee starts its own dialplan at ``where``
    (``[[context^]exten^]priority``), or at the caller's next priority if ``where`` is None
    and that priority exists. A place that does not exist leaves the callee to be hung up."""
    if where is None:
        target = (chan.context, chan.exten, chan.priority + 1)
        if pbx.dialplan.find(*target) is None:
            return
    else:
        parts = where.split("^")
        context, exten = peer.context, peer.exten
        if len(parts) == 3:
            context, exten = parts[0], parts[1]
        elif len(parts) == 2:
            exten = parts[0]
        try:
            target = (context, exten, pbx.priority_number(context, exten, parts[-1]))
        except Exception:  # noqa: BLE001 - an unknown label: as Asterisk, the callee hangs up
            log.warning("Dial on %s: F(%s) names no place: the callee hangs up", chan.name, where)
            return
    peer.context, peer.exten, peer.priority = target
    runner.run(pbx, peer)              # its PBX is running before the bridge's orphan hangup


def _has_option(options: str, letter: str) -> bool:
    return letter in _strip_arguments(options)


def _strip_arguments(options: str) -> str:
    """The option letters alone: ``tU(sub^g)`` → ``tU``."""
    out, depth = [], 0
    for ch in options:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def _option_argument(options: str, letter: str) -> str | None:
    """The argument of option ``letter`` in a Dial option string (``tU(sub^a)g`` → ``sub^a``)."""
    i = 0
    while i < len(options):
        if options[i] == "(":                      # an argument of another option: skip it
            depth = 1
            i += 1
            while i < len(options) and depth:
                depth += {"(": 1, ")": -1}.get(options[i], 0)
                i += 1
            continue
        if options[i] == letter and options[i + 1:i + 2] == "(":
            end = options.find(")", i + 2)
            return options[i + 2:end if end >= 0 else len(options)]
        i += 1
    return None


async def _ring(pbx, chan, targets, timeout):
    """Create and call every target; wait for the first answer, all busy, or the timeout."""
    outgoing = []
    for target in targets:
        tech, _, resource = target.partition("/")
        try:
            out = pbx.request_channel(tech, resource, requestor=chan)
        except Exception as exc:  # noqa: BLE001 - a bad target is CHANUNAVAIL, as in Asterisk
            log.warning("Dial(%s) on %s: %s", target, chan.name, exc)
            continue
        outgoing.append((out, resource))
        pbx.set_var(out, "DIALEDPEERNUMBER", resource)
        out.caller.num, out.caller.name = chan.exten, chan.caller.name
        out.connected.num, out.connected.name = chan.caller.num, chan.caller.name
        out.exten = chan.exten
        pbx.emit(events.newexten(out, "AppDial", "(Outgoing Line)"))
        out.app, out.appdata = "AppDial", "(Outgoing Line)"
        pbx.emit(events.newcallerid(out))
        pbx.emit(events.newconnectedline(out))
        pbx.call_channel(out, {"DIALEDPEERNUMBER": resource})
        pbx.emit(events.dial_begin(chan, out, resource))
        cdr.on_dial_begin(chan, out, pbx.now())
    if not outgoing:
        pbx.set_var(chan, "DIALSTATUS", "CHANUNAVAIL")
        return "CHANUNAVAIL", None, None

    pending = {out.name: out for out, _ in outgoing}
    resources = dict((out.name, res) for out, res in outgoing)
    started = pbx.now()
    deadline = None if timeout is None else started + timeout
    ringing_at = None
    busy_seen = False

    def listener_for(out):
        def on_event(kind, _detail=None):
            chan.wake((kind, out))
        return on_event

    for out, _ in outgoing:
        out.owner_listener = listener_for(out)

    status, winner = "NOANSWER", None
    try:
        while pending:
            remaining = None if deadline is None else max(0.0, deadline - pbx.now())
            if remaining == 0.0:
                break
            got = await chan.suspend(pbx.reactor, remaining)
            if got is None:
                break                                            # timeout
            kind, out = got
            if kind == "ringing":
                ringing_at = pbx.now()
                pbx.set_var(chan, "RINGTIME", str(int(ringing_at - started)))
                pbx.set_var(chan, "RINGTIME_MS", str(int((ringing_at - started) * 1000)))
                pbx.emit(events.dial_state(chan, out, "RINGING"))
            elif kind == "answer":
                winner, status = out, "ANSWER"
                break
            elif kind == "busy":
                busy_seen = True
                pbx.emit(events.dial_end(chan, out, "BUSY"))
                pending.pop(out.name, None)
                pbx.hangup_outgoing(out)
            elif kind == "hangup":
                pbx.emit(events.dial_end(chan, out, "CHANUNAVAIL"))
                pending.pop(out.name, None)
                pbx.hangup_outgoing(out)
        else:
            status = "BUSY" if busy_seen else "CHANUNAVAIL"
    except Interruption:
        for out in list(pending.values()):
            pbx.emit(events.dial_end(chan, out, "CANCEL"))
            pbx.hangup_outgoing(out)
        cdr.on_dial_end(chan, "CANCEL", pbx.now())
        pbx.set_var(chan, "DIALSTATUS", "CANCEL")
        raise
    finally:
        for out, _ in outgoing:
            out.owner_listener = None

    if winner is not None:
        winner.exten = ""                     # the answered leg loses its exten (AppDial)
        pbx.set_var(chan, "DIALSTATUS", "ANSWER")
        pbx.set_var(chan, "DIALEDPEERNAME", winner.name)
        pbx.set_var(chan, "DIALEDPEERNUMBER", resources[winner.name])
        pbx.emit(events.dial_end(chan, winner, "ANSWER"))
        for out in list(pending.values()):
            if out is not winner:
                pbx.emit(events.dial_end(chan, out, "CANCEL"))
                pbx.hangup_outgoing(out)
        return "ANSWER", winner, ringing_at
    if pending:                                                  # timed out
        for out in list(pending.values()):
            pbx.emit(events.dial_end(chan, out, "NOANSWER"))
            pbx.hangup_outgoing(out)
    cdr.on_dial_end(chan, status, pbx.now())
    return status, None, ringing_at
