"""Manual → automatic (人工转自动): the agent sends the caller into a flow and gets them back.

``POST /api/calls/{call_id}/ivr {"flow": "verify-pin"}`` (the agent on that call, a
supervisor of their team, or an admin). Check, then effect:

1. the call must be connected, the flow a name the flow runner knows, the AMI link up;
2. the tracker marks the call *away* (:meth:`CallTracker.sent_to_flow`) — a second request
   for the same call is refused from then on, so the caller is never moved twice;
3. ``Setvar CTI_FLOW`` and **one** ``Redirect`` to ``cti-flow``. Refused by Asterisk: the
   call is taken back (the caller never left the agent). Fate unknown (AMI link lost): never
   sent again; the resynchronisation finds the caller still bridged (taken back) or not.

The agent's ``Dial`` leg is hung up by Asterisk when the caller leaves the bridge; the agent
stays *busy* in ctid, held for this caller for ``agentivr.hold_seconds``. In ``cti-flow`` the
caller runs ``AGI(agi://ctid/agent-flow,<call id>,<flow>)``: the flow runs (the IVR's flow
runner, injected), its result is pushed to the agent's desktop (a ``call`` frame with
``event: "ivr-result"``), and the dialplan takes the caller back to ``cti-connect`` to ring
that same agent — no Redirect, no queue: the agent was never given to anyone else. If the
hold ran out meanwhile (the agent is let go to after-call work), the caller goes to
``cti-wait`` and queues with their first arrival time, ahead of everyone who called after them
in their tier. A caller who hangs up in the flow ends an answered call (one contact). An agent
cannot log out while held (they are busy); the hold bounds that.
"""
from __future__ import annotations

import logging
import re
from typing import Any, Callable, Iterable, Protocol

from twisted.internet import defer

from cti.agi_errors import AGICommandFailed
from cti.domain import channel_vars as V
from cti.domain.call_state import CallEvent, CallState
from cti.domain.principal import Principal
from cti.domain.reasons import bilingual
from cti.net.ami_errors import AMIConnectionLost, AMINotConnected, AMITimeout
from cti.services.agents import AgentService
from cti.services.calls import Call, CallChange, CallTracker
from cti.services.control import ControlError

from .model import Hold

log = logging.getLogger(__name__)

SCRIPT = "agent-flow"
CTX_FLOW = "cti-flow"
FLOW = "CTI_FLOW"                # the flow to run, set before the Redirect
NEXT = "CTI_FLOW_NEXT"           # where the dialplan takes the caller: agent | queue | hangup
FLOW_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


class FlowOutcome(Protocol):
    """What a flow run gives back (the IVR capability's ``FlowResult`` is one)."""

    outcome: str                    # "agent" | "hangup" | "done"
    results: dict[str, str]


class RunFlow(Protocol):
    """Runs a named flow on a caller's FastAGI session (the IVR capability's flow runner,
    passed in by the composition root)."""

    def __call__(self, session: Any, flow_name: str, call: Call) -> "defer.Deferred[FlowOutcome]": ...


class SendToFlow:
    def __init__(self, *, tracker: CallTracker, agents: AgentService,
                 send_action: Callable[..., defer.Deferred], ami_ready: Callable[[], bool],
                 push: Callable[..., int], clock, hold_seconds: float,
                 run_flow: RunFlow | None = None,
                 flows: Callable[[], Iterable[str]] | None = None):
        self._tracker = tracker
        self._agents = agents
        self._send = send_action
        self._ami_ready = ami_ready
        self._push = push                     # PushHub.send_to_agent
        self._clock = clock                   # IReactorTime
        self.hold_seconds = hold_seconds
        self.run_flow = run_flow              # (session, flow, call) -> Deferred[FlowResult]
        self.flows = flows                    # the flow names the runner knows, if it can say
        self.holds: dict[str, Hold] = {}
        self._timers: dict[str, Any] = {}
        self.redirects_sent = 0

    # -- the API's use case ----------------------------------------------------------------
    def request(self, principal: Principal, call_id: str, body: dict[str, Any]):
        flow = body.get("flow")
        call = self._tracker.get(call_id)
        if call is None:
            raise ControlError("not-found", "unknown-call", bilingual(
                "没有这个通话", f"no live call {call_id[:64]!r}"))
        agent = self._agents.find(call.agent_id) if call.agent_id else None
        allowed = principal.role == "admin" or (agent is not None and (
            (principal.role == "agent" and principal.agent_id == agent.agent_id)
            or (principal.role == "supervisor" and principal.may_see_agent(agent.agent_id,
                                                                           agent.team))))
        if not allowed:
            raise ControlError("forbidden", "forbidden", bilingual(
                "只有该通话的座席或其班长可以转入自动流程",
                "only the agent on this call or a supervisor of their team may do this"))
        if not isinstance(flow, str) or not FLOW_NAME.match(flow):
            raise ControlError("invalid", "bad-flow", bilingual(
                "流程名称无效", "'flow' must be a flow name (a-z, 0-9, - and _)"))
        if self.run_flow is None or (self.flows is not None and flow not in set(self.flows())):
            raise ControlError("invalid", "unknown-flow", bilingual(
                "没有这个自动流程", f"no flow {flow!r} is configured"))
        if call.state is not CallState.CONNECTED or agent is None:
            raise ControlError("conflict", "not-connected", bilingual(
                "通话不在通话中状态，不能转入自动流程",
                f"the call is {call.state.value}, not connected"))
        if not self._ami_ready():
            raise ControlError("conflict", "pbx-unreachable", bilingual(
                "与交换机的连接中断，请稍后再试", "the link to the PBX is down; try again shortly"))
        # -- effect: once marked away, no second request can move this caller
        self._tracker.sent_to_flow(call_id, flow)
        now = self._clock.seconds()
        hold = Hold(call_id, agent.agent_id, flow, now, now + self.hold_seconds)
        self.holds[call_id] = hold
        self._timers[call_id] = self._clock.callLater(self.hold_seconds, self._hold_ran_out,
                                                      call_id)
        log.info("call %s: agent %s sends the caller into flow %s (held %.0f s)", call_id,
                 agent.agent_id, flow, self.hold_seconds)
        d = self._move(call.channel, flow)
        d.addCallback(lambda _: {"call_id": call_id, "state": "away", "flow": flow,
                                 "agent_id": agent.agent_id, "hold_until": hold.until})
        d.addErrback(self._move_failed, call_id, flow)
        return d

    @defer.inlineCallbacks
    def _move(self, channel: str, flow: str):
        yield self._send("Setvar", {"Channel": channel, "Variable": FLOW, "Value": flow})
        self.redirects_sent += 1
        yield self._send("Redirect", {"Channel": channel, "Context": CTX_FLOW,
                                      "Exten": "s", "Priority": "1"})

    def _move_failed(self, failure, call_id: str, flow: str):
        if failure.check(AMIConnectionLost, AMITimeout):
            # the Redirect may have reached Asterisk: never sent again; the resync decides
            log.warning("call %s: Redirect into flow %s uncertain (%s): left to resync",
                        call_id, flow, failure.getErrorMessage())
            hold = self.holds.get(call_id)
            return {"call_id": call_id, "state": "away", "flow": flow, "uncertain": True,
                    "agent_id": hold.agent_id if hold else None}
        log.warning("call %s: moving the caller into flow %s failed: %s", call_id, flow,
                    failure.getErrorMessage())
        self._drop_hold(call_id)
        self._tracker.flow_refused(call_id, "redirect-failed")
        if failure.check(AMINotConnected):
            raise ControlError("conflict", "pbx-unreachable", bilingual(
                "与交换机的连接中断，请稍后再试", "the link to the PBX is down; try again shortly"))
        raise ControlError("conflict", "not-moved", bilingual(
            "交换机拒绝转接，来电仍与您通话", "the PBX refused to move the caller; "
            "the caller is still with you"))

    # -- the hold ------------------------------------------------------------------------------
    def _hold_ran_out(self, call_id: str) -> None:
        self._timers.pop(call_id, None)
        hold = self.holds.get(call_id)
        call = self._tracker.get(call_id)
        if hold is None or call is None or call.state is not CallState.AWAY:
            return
        hold.released = True
        log.info("call %s: hold of agent %s ran out while the caller is in flow %s", call_id,
                 hold.agent_id, hold.flow)
        self._tracker.free_agent(call_id, "hold-expired")

    def _drop_hold(self, call_id: str) -> Hold | None:
        timer = self._timers.pop(call_id, None)
        if timer is not None and timer.active():
            timer.cancel()
        return self.holds.pop(call_id, None)

    def call_changed(self, change: CallChange) -> None:
        """A CallObserver: a held call that ended, or reached the agent or the queue, is no
        longer held."""
        if change.call.call_id in self.holds and change.kind in (
                CallEvent.HANGUP, CallEvent.ENQUEUE, CallEvent.ANSWER, CallEvent.FALL_BACK,
                CallEvent.FLOW_REFUSED):
            self._drop_hold(change.call.call_id)

    def stop(self) -> None:
        for call_id in list(self._timers):
            self._drop_hold(call_id)

    # -- the route ----------------------------------------------------------------------------
    async def __call__(self, session) -> None:
        call_id = session.args[0] if session.args else ""
        flow = session.args[1] if len(session.args) > 1 else ""
        call = self._tracker.get(call_id)
        hold = self.holds.get(call_id)
        if (call is None or call.uniqueid != session.uniqueid or call.state is not CallState.AWAY
                or call.flow != flow or hold is None):
            log.warning("agent-flow session for %s (%s) on %s matches no caller sent there: "
                        "to the queue", call_id[:64], flow[:40], session.channel)
            await session.set_variable(NEXT, "queue")
            return
        outcome, results = "error", {}
        try:
            result = await defer.maybeDeferred(self.run_flow, session, flow, call)
            outcome = str(getattr(result, "outcome", "done"))
            results = {str(k): str(v) for k, v in (getattr(result, "results", None) or {}).items()}
        except Exception as exc:
            if session.hung_up:
                raise                                   # the caller hung up in the flow
            log.error("call %s: flow %s failed (%s): back to the agent", call_id, flow, exc)
        hold.results = results
        self._tell_agent(hold, outcome, results)
        if outcome == "hangup":
            self._drop_hold(call_id)
            await session.set_variable(NEXT, "hangup")
            return
        if hold.expired(self._clock.seconds()) or call.agent_id != hold.agent_id:
            if not hold.released:
                self._hold_ran_out(call_id)
            await session.set_variable(NEXT, "queue")
            await self._play(session, "cti/back-to-queue")
            return
        self._drop_hold_timer(call_id)          # the return's own ring time bounds it now
        agent = self._agents.get(hold.agent_id)
        await session.set_variable(V.TARGET, agent.endpoint)
        await session.set_variable(V.AGENT, agent.agent_id)
        await session.set_variable(NEXT, "agent")
        await self._play(session, "cti/back-to-agent")

    def _drop_hold_timer(self, call_id: str) -> None:
        timer = self._timers.pop(call_id, None)
        if timer is not None and timer.active():
            timer.cancel()

    def _tell_agent(self, hold: Hold, outcome: str, results: dict[str, str]) -> None:
        agent = self._agents.find(hold.agent_id)
        data = {"event": "ivr-result", "call_id": hold.call_id, "flow": hold.flow,
                "outcome": outcome, "results": results, "summary": summary(hold.flow, outcome,
                                                                           results)}
        delivered = self._push(hold.agent_id, "call", data, team=agent.team if agent else None)
        log.info("call %s: flow %s %s for agent %s (%d desktop(s))", hold.call_id, hold.flow,
                 outcome, hold.agent_id, delivered)

    @staticmethod
    async def _play(session, prompt: str) -> None:
        try:
            await session.stream_file(prompt)
        except AGICommandFailed:
            log.info("prompt %s not played (missing recording)", prompt)


_KNOWN = {("pin", "verified"): ("密码已验证", "PIN verified"),
          ("pin", "failed"): ("密码验证未通过", "PIN not verified")}


def summary(flow: str, outcome: str, results: dict[str, str]) -> str:
    """One line for the agent's desktop, in Chinese and English."""
    for (key, value), (zh, en) in _KNOWN.items():
        if results.get(key) == value:
            return bilingual(zh, en)
    if outcome == "hangup":
        return bilingual(f"来电在流程 {flow} 中挂机", f"the caller hung up in flow {flow}")
    if outcome == "error":
        return bilingual(f"流程 {flow} 出错，来电已转回", f"flow {flow} failed; the caller is back")
    shown = ", ".join(f"{k}={v}" for k, v in sorted(results.items())) or "-"
    return bilingual(f"流程 {flow} 已完成：{shown}", f"flow {flow} done: {shown}")
