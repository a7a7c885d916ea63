"""Agents: who is logged in, their state, and the use cases an agent or supervisor starts.

Check and effect are apart: :class:`AgentService` checks a request (login, pause, unpause,
logout) and raises :class:`AgentError` with a stable code when it is not allowed; the effect is
a move of the agent's state machine, announced to observers (ACD, records, desktops). Call
progress (reserved, ringing, answered, RONA, hangup) arrives from the call tracker as
:class:`CallChange` s; after-call work ends by itself after ``wrap_up_seconds``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Iterable, Protocol

from cti.domain.agent_state import AgentEvent, AgentMachine, AgentState
from cti.domain.call_state import CallEvent
from cti.domain.state_machine import IllegalTransition
from cti.services.calls import CallChange

log = logging.getLogger(__name__)


class AgentError(Exception):
    """A request about an agent was refused; ``code`` is stable for the API and the CLI."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass
class Agent:
    agent_id: str
    name: str
    endpoint: str                          # dial string of the seat, e.g. PJSIP/6001
    team: str = "default"
    group: str = "general"                 # "vip" for VIP受理专席
    skills: dict[str, int] = field(default_factory=lambda: {"general": 5})
    machine: AgentMachine = field(default_factory=AgentMachine)
    idle_since: float = 0.0                # when the agent last became ready
    call_id: str | None = None             # the call the agent is reserved for / talking on
    calls_handled: int = 0
    wrap_up_until: float | None = None     # when after-call work ends by itself

    @property
    def state(self) -> AgentState:
        return self.machine.state

    @property
    def reason(self) -> str | None:
        return self.machine.reason

    def as_dict(self) -> dict:
        return {"agent_id": self.agent_id, "name": self.name, "endpoint": self.endpoint,
                "team": self.team, "group": self.group, "skills": dict(self.skills),
                "state": self.state.value, "reason": self.reason, "call_id": self.call_id,
                "idle_since": self.idle_since, "calls_handled": self.calls_handled}


class AgentObserver(Protocol):
    def agent_changed(self, agent: Agent, event: AgentEvent) -> None: ...


class AgentService:
    """All agents of this ctid, their states, and the requests that change them."""

    def __init__(self, agents: Iterable[Agent], clock, *, wrap_up_seconds: float = 10.0,
                 hold: Callable[[Agent], str | None] = lambda agent: None):
        self._agents = {a.agent_id: a for a in agents}
        self._hold = hold          # a reason to keep an agent who would be ready not-ready
        self._clock = clock                      # IReactorTime
        self._wrap_up = self.wrap_up_seconds = wrap_up_seconds
        self._timers: dict[str, object] = {}
        self._observers: list[AgentObserver] = []

    # -- queries -----------------------------------------------------------------------------
    def get(self, agent_id: str) -> Agent:
        try:
            return self._agents[agent_id]
        except KeyError:
            raise AgentError("unknown-agent", f"no agent {agent_id!r}") from None

    def find(self, agent_id: str) -> Agent | None:
        return self._agents.get(agent_id)

    def all(self) -> list[Agent]:
        return list(self._agents.values())

    def subscribe(self, observer: AgentObserver) -> None:
        self._observers.append(observer)

    # -- requests (checked) ------------------------------------------------------------------
    def login(self, agent_id: str) -> Agent:
        return self._request(agent_id, AgentEvent.LOGIN, "already logged in")

    def logout(self, agent_id: str) -> Agent:
        return self._request(agent_id, AgentEvent.LOGOUT, "cannot log out during a call")

    def pause(self, agent_id: str, reason: str = "break") -> Agent:
        return self._request(agent_id, AgentEvent.PAUSE, "cannot pause now", reason=reason)

    def unpause(self, agent_id: str) -> Agent:
        agent = self.get(agent_id)
        if agent.state is AgentState.AFTER_CALL_WORK:       # "I'm done wrapping up"
            self._cancel_timer(agent_id)
            self._fire(agent, AgentEvent.WRAP_UP_DONE)
            return agent
        return self._request(agent_id, AgentEvent.UNPAUSE, "not paused")

    def restore(self, agent_id: str, state: AgentState, reason: str | None = None,
                call_id: str | None = None) -> Agent:
        """Put an agent back in a state read from storage or the PBX (restart); no checks."""
        agent = self.get(agent_id)
        agent.machine = AgentMachine(state, reason)
        agent.call_id = call_id
        if state is AgentState.READY:
            agent.idle_since = self._clock.seconds()
        return agent

    def restore_wrap_up(self, agent_id: str, until: float) -> Agent:
        """Put an agent back in the after-call work a restart interrupted, for what is left
        of it (ready at once if it is over); no checks, no announcement."""
        agent = self.get(agent_id)
        agent.call_id = None
        now = self._clock.seconds()
        if until <= now:
            return self.restore(agent_id, AgentState.READY)
        agent.machine = AgentMachine(AgentState.AFTER_CALL_WORK)
        self._start_wrap_up(agent, until - now)
        return agent

    # -- the ACD's reservation -----------------------------------------------------------------
    def reserve(self, agent_id: str, call_id: str) -> Agent:
        agent = self.get(agent_id)
        if not agent.machine.available:
            raise AgentError("not-available", f"agent {agent_id} is {agent.state.value}")
        agent.call_id = call_id
        self._fire(agent, AgentEvent.RESERVE)
        return agent

    def release(self, agent_id: str) -> None:
        """Undo a reservation that never rang (the Redirect failed)."""
        agent = self.find(agent_id)
        if agent is not None and agent.machine.can(AgentEvent.RELEASE):
            agent.call_id = None
            self._fire(agent, AgentEvent.RELEASE)

    # -- call progress (CallObserver) --------------------------------------------------------
    def call_changed(self, change: CallChange) -> None:
        agent = self._agents.get(change.agent_id or "")
        if agent is None or agent.call_id != change.call.call_id:
            return
        kind = change.kind
        if kind is CallEvent.RING and agent.machine.can(AgentEvent.RING):
            self._fire(agent, AgentEvent.RING)
        elif kind is CallEvent.ANSWER and agent.machine.can(AgentEvent.ANSWER):
            self._fire(agent, AgentEvent.ANSWER)
        elif kind in (CallEvent.NO_ANSWER, CallEvent.FALL_BACK):
            agent.call_id = None
            reason = change.not_ready_reason
            if reason and agent.machine.can(AgentEvent.NO_ANSWER):
                self._fire(agent, AgentEvent.NO_ANSWER, reason=reason)
            elif agent.machine.can(AgentEvent.RELEASE):      # offer withdrawn: not their fault
                self._fire(agent, AgentEvent.RELEASE)
        elif kind in (CallEvent.HANGUP, CallEvent.AGENT_FREED):
            # AGENT_FREED: the agent held for a caller they sent into a flow is let go (the
            # hold ran out): their part of the call is over, as at a hangup
            if agent.state is AgentState.BUSY:
                agent.calls_handled += 1
                self._start_wrap_up(agent, self._wrap_up)    # first: observers read its end
                self._fire(agent, AgentEvent.HANGUP)
            elif agent.machine.can(AgentEvent.RELEASE):      # the caller left while it rang
                self._fire(agent, AgentEvent.RELEASE)
            agent.call_id = None

    # -- internals ---------------------------------------------------------------------------
    def _request(self, agent_id: str, event: AgentEvent, refusal: str, **kw) -> Agent:
        agent = self.get(agent_id)
        if not agent.machine.can(event):
            raise AgentError("illegal-state", f"agent {agent_id} is {agent.state.value}: {refusal}")
        if event in (AgentEvent.LOGOUT, AgentEvent.PAUSE):
            self._cancel_timer(agent_id)
        self._fire(agent, event, **kw)
        return agent

    def _start_wrap_up(self, agent: Agent, seconds: float) -> None:
        self._cancel_timer(agent.agent_id)
        agent.wrap_up_until = self._clock.seconds() + seconds
        self._timers[agent.agent_id] = self._clock.callLater(
            seconds, self._wrap_up_done, agent.agent_id)

    def _wrap_up_done(self, agent_id: str) -> None:
        self._timers.pop(agent_id, None)
        agent = self._agents[agent_id]
        if agent.machine.can(AgentEvent.WRAP_UP_DONE):
            self._fire(agent, AgentEvent.WRAP_UP_DONE)

    def _cancel_timer(self, agent_id: str) -> None:
        timer = self._timers.pop(agent_id, None)
        if timer is not None and timer.active():
            timer.cancel()

    def held(self, agent: Agent) -> str | None:
        """Why an agent who would be ready must stay not-ready (e.g. no desktop), or None."""
        return self._hold(agent)

    def _fire(self, agent: Agent, event: AgentEvent, reason: str | None = None) -> None:
        try:
            agent.machine.fire(event, reason)
            if agent.state is AgentState.READY and (held := self._hold(agent)):
                agent.machine.fire(AgentEvent.PAUSE, held)   # before anyone sees it ready
        except IllegalTransition as exc:                 # a bug of ours, not the agent's
            raise AgentError("illegal-state", str(exc)) from None
        if agent.state is AgentState.READY:
            agent.idle_since = self._clock.seconds()
        log.info("agent %s: %s -> %s%s", agent.agent_id, event.value, agent.state.value,
                 f" ({agent.reason})" if agent.reason else "")
        for observer in list(self._observers):
            try:
                observer.agent_changed(agent, event)
            except Exception:
                log.exception("agent %s: observer %r failed", agent.agent_id, observer)

    def stop(self) -> None:
        for agent_id in list(self._timers):
            self._cancel_timer(agent_id)
