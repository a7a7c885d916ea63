"""The control panel: what the HTTP API (and so ctictl and desktops) may see and do, by role.

An agent sees their own state and calls, a supervisor the agents and calls of their teams, an
admin everything. Caller numbers are shown in full only to the agent on the call, their
supervisors and admins; anyone else gets them masked. Agent actions are checked by the agent
service; an agent may change only their own state.
"""
from __future__ import annotations

import time

from twisted.internet import defer
from typing import Any, Callable

from cti import __version__
from cti.domain.call_state import CallState
from cti.domain.privacy import mask_number
from cti.net.http_api import APIError
from cti.services.agents import AgentError, AgentService
from cti.services.auth import Principal, TokenStore
from cti.services.calls import Call, CallTracker

ACTIONS = ("login", "logout", "pause", "unpause")


class ControlPanel:
    def __init__(self, *, agents: AgentService, tracker: CallTracker, acd, tokens: TokenStore,
                 clock: Callable[[], float], authenticate_user: Callable[[str, str], Any] | None = None,
                 health: Callable[[], dict[str, Any]] = dict):
        self._agents = agents
        self._tracker = tracker
        self._acd = acd
        self._tokens = tokens
        self._clock = clock
        self._authenticate_user = authenticate_user
        self._health = health
        self._started = time.time()

    # -- reading ---------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        states: dict[str, int] = {}
        for agent in self._agents.all():
            states[agent.state.value] = states.get(agent.state.value, 0) + 1
        calls = self._tracker.calls()
        return {
            "version": __version__,
            "uptime_seconds": round(time.time() - self._started),
            "calls": len(calls),
            "waiting": sum(1 for c in calls if c.state is CallState.QUEUED),
            "talking": sum(1 for c in calls if c.state is CallState.CONNECTED),
            "agents": states,
            "redirects_sent": self._acd.redirects_sent,
            **self._health(),
        }

    def agents(self, principal: Principal) -> list[dict[str, Any]]:
        return [a.as_dict() for a in self._agents.all()
                if principal.may_see_agent(a.agent_id, a.team)]

    def calls(self, principal: Principal) -> list[dict[str, Any]]:
        return [self._call_view(c, principal) for c in self._visible_calls(principal)]

    def queue(self, principal: Principal) -> list[dict[str, Any]]:
        waiting = [c for c in self._visible_calls(principal) if c.state is CallState.QUEUED]
        rows = []
        for call in waiting:
            row = self._call_view(call, principal)
            row["position"] = self._acd.position(call.call_id)
            rows.append(row)
        return sorted(rows, key=lambda r: (r["skill"], r["position"]))

    # -- doing -----------------------------------------------------------------------------
    def agent_action(self, principal: Principal, agent_id: str, action: str,
                     body: dict[str, Any]) -> dict[str, Any]:
        if action not in ACTIONS:
            raise APIError(404, "not-found", f"no agent action {action!r}")
        agent = self._agents.find(agent_id)
        if agent is None:
            raise APIError(404, "unknown-agent", f"no agent {agent_id!r}")
        if principal.role == "agent" and principal.agent_id != agent_id:
            raise APIError(403, "forbidden", "agents may change only their own state")
        if principal.role == "supervisor" and not principal.may_see_agent(agent_id, agent.team):
            raise APIError(403, "forbidden", "not an agent of your teams")
        try:
            if action == "pause":
                reason = str(body.get("reason") or "break")[:40]
                agent = self._agents.pause(agent_id, reason)
            else:
                agent = getattr(self._agents, action)(agent_id)
        except AgentError as exc:
            raise APIError(409, exc.code, str(exc)) from None
        return agent.as_dict()

    def login(self, user: str, password: str):
        """Deferred[dict] with a token, or None for a wrong user or password."""
        if self._authenticate_user is None or not user or not password:
            return None

        def issue(principal: Principal | None):
            if principal is None:
                return None
            return {"token": self._tokens.issue(principal), "role": principal.role,
                    "agent_id": principal.agent_id}
        return defer.maybeDeferred(self._authenticate_user, user, password).addCallback(issue)

    # -- helpers ---------------------------------------------------------------------------
    def _visible_calls(self, principal: Principal) -> list[Call]:
        out = []
        for call in self._tracker.calls():
            agent = self._agents.find(call.agent_id) if call.agent_id else None
            if principal.role == "admin":
                out.append(call)
            elif agent is not None and principal.may_see_agent(agent.agent_id, agent.team):
                out.append(call)
            elif principal.role == "supervisor" and agent is None:
                out.append(call)                   # waiting calls belong to every team's view
        return out

    def _call_view(self, call: Call, principal: Principal) -> dict[str, Any]:
        agent = self._agents.find(call.agent_id) if call.agent_id else None
        owner = principal.role == "admin" or (
            agent is not None and principal.may_see_agent(agent.agent_id, agent.team))
        return {
            "call_id": call.call_id, "state": call.state.value,
            "caller": call.caller_number if owner else mask_number(call.caller_number),
            "tier": call.tier, "skill": call.skill, "agent_id": call.agent_id,
            "wait": round(call.wait_seconds(self._clock()), 1), "ivr_path": call.ivr_path,
        }
