"""AMI ``Originate``: create the outgoing channel, wait for it to answer, then send it into
the dialplan (``Context``/``Exten``/``Priority``) or run one application on it.

Result reasons as Asterisk reports them: 4 answered, 5 busy, 3 no answer (timeout),
1 hung up / failed. ``OriginateResponse`` is published here, with the action's ``ActionID``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from twisted.internet import defer

from . import events, runner
from .channel import Party

if TYPE_CHECKING:  # pragma: no cover
    from .pbx import PBX

REASON_ANSWERED, REASON_BUSY, REASON_NO_ANSWER, REASON_FAILED = 4, 5, 3, 1


def originate(pbx: "PBX", channel: str, *, context, exten, priority, application, data,
              timeout_ms: int, callerid, variables: Iterable, account, action_id) -> defer.Deferred:
    from .pbx import OriginateResult, parse_callerid

    tech, _, resource = channel.partition("/")
    target_context, target_exten = context or "default", exten or "s"
    if not application:   # raises InvalidPriority before any channel exists
        target_priority = pbx.priority_number(target_context, target_exten, priority)
    out = pbx.request_channel(tech, resource, requestor=None)   # raises OriginateError
    done: defer.Deferred = defer.Deferred()
    out.accountcode = account or ""
    for item in variables:
        name, _, value = (item if isinstance(item, str) else "=".join(item)).partition("=")
        out.variables[name.strip()] = value
    pbx.emit(events.newexten(out, "AppDial2", "(Outgoing Line)"))
    out.app, out.appdata = "AppDial2", "(Outgoing Line)"
    party = parse_callerid(callerid)
    if party is not None:
        out.caller = Party(party.num, party.name)
        pbx.emit(events.newcallerid(out))
        out.connected = Party(party.num, party.name)
        pbx.emit(events.newconnectedline(out))

    def finish(success: bool, reason: int) -> None:
        timer_call = state.get("timer")
        if timer_call is not None and timer_call.active():
            timer_call.cancel()
        out.owner_listener = None
        pbx.emit(events.originate_response(
            action_id, success, out.name if success else channel, context, exten, reason,
            out if success else None, application, data))
        done.callback(OriginateResult(success, reason, out.name, out.uniqueid if success else None))

    def on_event(kind, _detail=None) -> None:
        if done.called:
            return
        if kind == "answer":
            pbx.emit(events.dial_end(None, out, "ANSWER"))
            if application:
                pbx.reactor.callLater(0, _run_application, pbx, out, application, data or "")
            else:
                out.jump = (target_context, target_exten, target_priority)
                pbx.start_pbx(out)
            finish(True, REASON_ANSWERED)
        elif kind == "ringing":
            pbx.emit(events.dial_state(None, out, "RINGING"))
        elif kind == "busy":
            pbx.emit(events.dial_end(None, out, "BUSY"))
            finish(False, REASON_BUSY)
            pbx.hangup_outgoing(out)
        elif kind == "hangup":
            pbx.emit(events.dial_end(None, out, "CHANUNAVAIL"))
            finish(False, REASON_FAILED)
            pbx.hangup_outgoing(out)

    def on_timeout() -> None:
        if done.called:
            return
        pbx.emit(events.dial_end(None, out, "NOANSWER"))
        out.hangupcause = 19
        finish(False, REASON_NO_ANSWER)
        pbx.hangup_outgoing(out)

    state = {}
    out.owner_listener = on_event
    pbx.call_channel(out, {})
    pbx.emit(events.dial_begin(None, out, resource))
    if not done.called:
        state["timer"] = pbx.reactor.callLater(max(0, timeout_ms) / 1000.0, on_timeout)
    return done


async def _run_one(pbx: "PBX", chan, application: str, data: str) -> None:
    chan.pbx_running = True
    pbx.emit(events.newexten(chan, application, data))
    chan.app, chan.appdata = application, data
    try:
        await runner.execute(pbx, chan, application, data)
    except Exception:  # noqa: BLE001 - the call ends whatever the application did
        pass
    chan.pbx_running = False
    if chan.hangupcause is None:
        chan.hangupcause = 16
    if not chan.hung_up:
        pbx.soft_hangup(chan, 16)
        pbx.destroy(chan)


def _run_application(pbx: "PBX", chan, application: str, data: str) -> defer.Deferred:
    return defer.ensureDeferred(_run_one(pbx, chan, application, data))
