"""The ACD use case: feeds the router the facts of calls and agents and carries out its offers.

The router (:mod:`cti.domain.routing`) decides; this service turns call changes (from the
tracker) and agent changes (from the agent service) into router facts, and each resulting
:class:`Offer` into effects, in this order: reserve the agent, mark the call offered, push the
screen-pop (so it reaches the desktop before the phone rings), then ``Setvar CTI_TARGET`` /
``CTI_AGENT`` and one ``Redirect`` to ``cti-connect``. A Redirect is sent once per offer and never
repeated: if its fate is unknown (AMI link lost) the resynchronisation settles it.

While the AMI link is down nothing can move a caller, so offers the router makes meanwhile are
held, untouched (no reservation, no pop), and carried out after the resync, those the router
still stands by; the rest were overtaken by what the resync found.

Offers produced while an offer is being carried out are queued and run after it, so the
services never see a half-done offer.
"""
from __future__ import annotations

import logging
from collections import deque
from typing import Callable, Iterable, Protocol

from twisted.internet import defer

from cti.domain import channel_vars as V
from cti.domain.agent_state import AgentEvent, AgentState
from cti.domain.call_state import CallEvent, CallState
from cti.domain.routing.errors import RoutingError
from cti.domain.routing.model import Agent as RoutingAgent, Offer, WaitingCall
from cti.net.ami_errors import AMIConnectionLost, AMINotConnected, AMITimeout
from cti.services.agents import Agent, AgentError, AgentService
from cti.services.calls import Call, CallChange, CallTracker

log = logging.getLogger(__name__)

RETURN_GRACE_SECONDS = 5.0


class Connector(Protocol):
    """Moves a caller to an agent's phone (AMI Setvar + Redirect)."""

    def ready(self) -> bool: ...

    def connect(self, call: Call, agent: Agent) -> defer.Deferred: ...


class OfferListener(Protocol):
    def offer_made(self, call: Call, agent: Agent) -> None: ...


class ACDService:
    def __init__(self, router, tracker: CallTracker, agents: AgentService, connector: Connector,
                 *, listeners: Iterable[OfferListener] = (), default_skill: str = "general"):
        self.router = router
        self.default_skill = default_skill           # the IVR's: where an unknown skill goes
        self._tracker = tracker
        self._agents = agents
        self._connector = connector
        self._listeners = list(listeners)
        self._pending: deque[Offer] = deque()
        self._held: list[Offer] = []                 # made while the AMI link was down
        self._draining = False
        self._returning: dict[str, float] = {}   # RONA'd calls on their way back to cti-wait
        self.redirects_sent = 0

    # -- questions for routes and the API --------------------------------------------------
    def position(self, call_id: str) -> int:
        try:
            return self.router.position(call_id)
        except RoutingError:
            return 0

    def is_next(self, call_id: str) -> bool:
        """True only if no other caller can be served before this one ("you are next")."""
        try:
            return self.router.is_next(call_id)
        except RoutingError:
            return False

    def estimated_wait(self, tier: str, skill: str) -> float:
        try:
            return self.router.estimated_wait(tier, skill)
        except RoutingError:
            return float("inf")

    def skills(self) -> set[str]:
        """Skills some agent of this ctid has, and the default: a caller with any other skill
        would wait in a queue nobody serves."""
        skills = {self.default_skill}
        for agent in self._agents.all():
            skills.update(agent.skills)
        return skills

    # -- facts from the agent service ------------------------------------------------------
    def agent_changed(self, agent: Agent, event: AgentEvent) -> None:
        """Mirror the agent's state into the router.

        The router follows reservations, rings and answers from call changes itself; here it
        learns logins, logouts and availability, compared by state rather than by event so a
        held agent (e.g. no desktop) or a reordered notification cannot leave them apart."""
        r, agent_id = self.router, agent.agent_id
        try:
            known = True
            try:
                routed = r.agent_state(agent_id)
            except RoutingError:
                known, routed = False, None
            if agent.state is AgentState.LOGGED_OUT:
                if known:
                    self._run(r.agent_logged_out(agent_id))
            elif not known:
                self._run([r.agent_logged_in(RoutingAgent(agent_id, dict(agent.skills), agent.group),
                                             ready=agent.machine.available)])
            elif agent.machine.available and routed in (AgentState.NOT_READY,
                                                        AgentState.AFTER_CALL_WORK):
                self._run([r.agent_available(agent_id)])
            elif agent.state is AgentState.NOT_READY and routed in (AgentState.READY,
                                                                    AgentState.AFTER_CALL_WORK):
                self._run(r.agent_unavailable(agent_id, agent.reason or "break"))
        except RoutingError as exc:
            log.error("agent %s: router refused %s: %s", agent_id, event.value, exc)

    # -- facts from the call tracker -------------------------------------------------------
    def call_changed(self, change: CallChange) -> None:
        call, kind, r = change.call, change.kind, self.router
        try:
            if kind is CallEvent.ENQUEUE:
                if call.call_id in self._returning:       # back in cti-wait after a RONA
                    self._back_in_line(call.call_id)
                elif not self._known(call.call_id):
                    self._run([r.call_arrived(WaitingCall(call.call_id, call.tier, call.skill,
                                                          call.arrival, call.caller_number))])
            elif (kind is CallEvent.ANSWER and self._known(call.call_id)
                  and r.call_status(call.call_id).value == "offered"):
                r.offer_answered(call.call_id)     # (a caller back from a flow is connected)
            elif kind is CallEvent.AGENT_FREED and self._known(call.call_id):
                # the agent held for a caller in a flow is let go; the caller queues later
                if r.call_status(call.call_id).value == "connected":
                    talk = r.clock() - (call.answered_at or r.clock())
                    r.call_ended(call.call_id, max(0.0, talk))
            elif kind is CallEvent.NO_ANSWER:
                self._no_answer(change)
            elif kind is CallEvent.FALL_BACK and self._known(call.call_id):
                self._returning.pop(call.call_id, None)
                self._run([r.call_abandoned(call.call_id)])     # app_queue has it now
            elif kind is CallEvent.HANGUP and self._known(call.call_id):
                if self._returning.pop(call.call_id, None) is not None:
                    self._run([r.offer_failed(call.call_id, "rona")])
                if call.state is CallState.ENDED and r.call_status(call.call_id).value == "connected":
                    talk = (call.ended_at or 0) - (call.answered_at or call.ended_at or 0)
                    r.call_ended(call.call_id, max(0.0, talk))
                else:
                    self._run([r.call_abandoned(call.call_id)])
        except RoutingError as exc:
            log.error("call %s: router refused %s: %s", call.call_id, kind.value, exc)

    def _no_answer(self, change: CallChange) -> None:
        call, r = change.call, self.router
        if not self._known(call.call_id):                 # rebuilt after a restart: back in line
            self._run([r.call_arrived(WaitingCall(call.call_id, call.tier, call.skill,
                                                  call.arrival, call.caller_number))])
            return
        reason = change.not_ready_reason
        if reason == "rona":
            # The dialplan is taking the caller back to cti-wait; offering it again before it
            # arrives would race the dialplan's own Goto (a second Redirect, and the CTIWait
            # of the return mistaken for the new offer's failure). Wait for CTIWait.
            self._returning[call.call_id] = r.clock()
            return
        self._run([r.offer_failed(call.call_id, reason or "withdrawn")])
        if reason is None and change.agent_id:          # not the agent's fault: stays ready
            self._run([r.agent_available(change.agent_id)])

    def _back_in_line(self, call_id: str) -> None:
        self._returning.pop(call_id, None)
        self._run([self.router.offer_failed(call_id, "rona")])

    def restore_agent(self, agent: Agent, ready: bool) -> None:
        """Tell the router about an agent rebuilt after a restart (no LOGIN was seen)."""
        try:
            self._run([self.router.agent_logged_in(
                RoutingAgent(agent.agent_id, dict(agent.skills), agent.group), ready=ready)])
        except RoutingError as exc:
            log.error("agent %s: router refused restore: %s", agent.agent_id, exc)

    def tick(self) -> None:
        """Time-driven changes (rings widening, VIP overflow, familiar holds expiring), and
        RONA'd callers whose return to cti-wait was not seen within a few seconds."""
        try:
            now = self.router.clock()
            for call_id, since in list(self._returning.items()):
                if now - since > RETURN_GRACE_SECONDS:
                    self._back_in_line(call_id)
            self._run(self.router.tick())
        except Exception:                                 # never stop the timer
            log.exception("ACD tick failed")

    # -- carrying offers out ---------------------------------------------------------------
    def _known(self, call_id: str) -> bool:
        try:
            self.router.call_status(call_id)
            return True
        except RoutingError:
            return False

    def _run(self, offers: Iterable[Offer | None]) -> None:
        self._pending.extend(o for o in offers if o is not None)
        if self._draining:
            return
        self._draining = True
        try:
            while self._pending:
                self._carry_out(self._pending.popleft())
        finally:
            self._draining = False

    def link_ready(self, _ami=None) -> None:
        """The AMI link is back and resynchronised (an AMI resync hook, run after the
        resync): carry out the held offers the router still stands by."""
        held, self._held = self._held, []
        current = [o for o in held if self.router.offered_to(o.call_id) == o.agent_id]
        if len(current) < len(held):
            log.info("%d offer(s) held during the AMI outage overtaken by the resync",
                     len(held) - len(current))
        self._run(current)

    def _carry_out(self, offer: Offer) -> None:
        if not self._connector.ready():
            self._held.append(offer)                     # nothing can move a caller now
            return
        call = self._tracker.get(offer.call_id)
        agent = self._agents.find(offer.agent_id)
        if call is None:                                 # the caller left meanwhile
            log.warning("offer %s -> %s dropped: the call is gone", offer.call_id, offer.agent_id)
            self._guard(lambda: self._run([self.router.call_abandoned(offer.call_id)]))
            return
        if agent is None:
            log.error("offer %s -> unknown agent %s", offer.call_id, offer.agent_id)
            self._withdraw(offer)
            self._guard(lambda: self._run(self.router.agent_logged_out(offer.agent_id)))
            return
        try:
            self._agents.reserve(agent.agent_id, call.call_id)
        except AgentError as exc:
            log.error("offer %s -> %s: %s", call.call_id, agent.agent_id, exc)
            self._withdraw(offer)
            return
        if self._tracker.offered(call.call_id, agent.agent_id) is None:
            log.warning("offer %s -> %s dropped: the call is %s", call.call_id, agent.agent_id,
                        call.state.value)
            self._agents.release(agent.agent_id)
            self._withdraw(offer)
            self._guard(lambda: self._run([self.router.agent_available(agent.agent_id)]))
            return
        for listener in self._listeners:
            try:
                listener.offer_made(call, agent)
            except Exception:
                log.exception("call %s: offer listener %r failed", call.call_id, listener)
        self.redirects_sent += 1
        d = self._connector.connect(call, agent)
        d.addBoth(self._redirect_settled, call)
        d.addErrback(self._connect_failed, call.call_id, agent.agent_id)

    @staticmethod
    def _redirect_settled(result, call: Call):
        call.redirect_settled = True
        return result

    def _connect_failed(self, failure, call_id: str, agent_id: str) -> None:
        if failure.check(AMIConnectionLost, AMITimeout, AMINotConnected):
            # The Redirect may or may not have reached Asterisk (or the link is down and the
            # offer must wait): never send it again, and never retry in a loop. The resync
            # after the reconnect, DialBegin, or the wait route settles the offer.
            log.warning("call %s: Redirect to agent %s uncertain (%s): left to resync", call_id,
                        agent_id, failure.getErrorMessage())
            return
        log.warning("call %s: moving the caller to agent %s failed: %s", call_id, agent_id,
                    failure.getErrorMessage())
        if "no such channel" in failure.getErrorMessage().lower():
            self._tracker.settle(call_id, "gone")         # the caller hung up meanwhile
        else:
            self._tracker.offer_failed(call_id, "redirect-failed")

    def _withdraw(self, offer: Offer) -> None:
        """An offer that could not be carried out: the call goes back in line."""
        self._guard(lambda: self._run([self.router.offer_failed(offer.call_id, "withdrawn")]))

    @staticmethod
    def _guard(action: Callable[[], None]) -> None:
        try:
            action()
        except RoutingError as exc:
            log.error("router refused: %s", exc)


class AMIConnector:
    """Setvar CTI_TARGET / CTI_AGENT, then one Redirect to cti-connect."""

    def __init__(self, send_action: Callable[..., defer.Deferred],
                 ready: Callable[[], bool] = lambda: True):
        self._send = send_action
        self.ready = ready

    @defer.inlineCallbacks
    def connect(self, call: Call, agent: Agent):
        channel = call.channel
        yield self._send("Setvar", {"Channel": channel, "Variable": V.TARGET, "Value": agent.endpoint})
        yield self._send("Setvar", {"Channel": channel, "Variable": V.AGENT, "Value": agent.agent_id})
        yield self._send("Redirect", {"Channel": channel, "Context": V.CTX_CONNECT,
                                      "Exten": "s", "Priority": "1"})
