"""The control panel: what the HTTP API (and so ctictl and desktops) may see and do, by role.

An agent sees their own state and calls, a supervisor the agents and calls of their teams, an
admin everything. Caller numbers are shown in full only to the agent on the call, their
supervisors and admins; anyone else gets them masked. Agent actions are checked by the agent
service; an agent may change only their own state. A not-ready reason is a code from the
configured list (:mod:`cti.domain.reasons`), never free text.

Refusals are :class:`ControlError` with a stable code and a ``kind`` (``not-found``,
``forbidden``, ``invalid``, ``conflict``); the HTTP API and the push socket map them to their
own status codes and frames.
"""
from __future__ import annotations

import logging
import time

from typing import Any, Callable

from cti import __version__
from cti.domain.agent_state import AgentState
from cti.domain.call_state import CallState
from cti.domain.privacy import mask_number
from cti.domain.principal import Principal
from cti.domain.reasons import ReasonList, bilingual
from cti.services.agents import AgentError, AgentService
from cti.services.auth import SignIn, TokenStore
from cti.services.calls import Call, CallTracker

log = logging.getLogger(__name__)

ACTIONS = ("login", "logout", "pause", "unpause")
KINDS = ("not-found", "forbidden", "invalid", "conflict")


class ControlError(Exception):
    """A request the control panel refuses: ``kind`` says why, ``code`` is stable."""

    def __init__(self, kind: str, code: str, message: str):
        super().__init__(message)
        assert kind in KINDS, kind
        self.kind, self.code, self.message = kind, code, message


class ControlPanel:
    def __init__(self, *, agents: AgentService, tracker: CallTracker, acd, tokens: TokenStore,
                 clock: Callable[[], float], sign_in: SignIn | None = None,
                 reasons: ReasonList | None = None,
                 health: Callable[[], dict[str, Any]] = dict,
                 signed_out: Callable[[], Any] | None = None):
        self._agents = agents
        self._tracker = tracker
        self._acd = acd
        self._tokens = tokens
        self._clock = clock
        self._sign_in = sign_in
        self.reasons = reasons or ReasonList.from_mapping(None)
        self._health = health
        self._signed_out = signed_out     # after a sign-out: end the token's live connections
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

    def reason_list(self) -> list[dict[str, str]]:
        """The not-ready reasons an agent may pick, with their labels, the default first."""
        return [r.as_dict() for r in self.reasons.all()]

    # -- doing -----------------------------------------------------------------------------
    def agent_action(self, principal: Principal, agent_id: str, action: str,
                     body: dict[str, Any]) -> dict[str, Any]:
        if action not in ACTIONS:
            raise ControlError("not-found", "not-found", f"no agent action {action!r}")
        agent = self._agents.find(agent_id)
        if agent is None:
            raise ControlError("not-found", "unknown-agent", f"no agent {agent_id!r}")
        if principal.role == "agent" and principal.agent_id != agent_id:
            raise ControlError("forbidden", "forbidden", "agents may change only their own state")
        if principal.role == "supervisor" and not principal.may_see_agent(agent_id, agent.team):
            raise ControlError("forbidden", "forbidden", "not an agent of your teams")
        if action == "pause":
            return self._set_state(agent_id, "not-ready", body.get("reason")).as_dict()
        try:
            agent = getattr(self._agents, action)(agent_id)
        except AgentError as exc:
            raise ControlError("conflict", exc.code, str(exc)) from None
        return agent.as_dict()

    def desktop_request(self, principal: Principal, kind: str, data: dict[str, Any]) -> dict:
        """What an agent's own desktop may ask over the push socket: ready / not-ready."""
        if kind != "state" or not principal.agent_id:
            raise ControlError("invalid", "unsupported", f"{kind} is not handled here")
        agent = self._set_state(principal.agent_id, data.get("state"), data.get("reason"))
        return {"state": agent.state.value, "reason": agent.reason}

    def _set_state(self, agent_id: str, wanted: Any, reason: Any):
        if wanted == "not-ready":
            code = self.reasons.default if reason in (None, "") else reason
            if code not in self.reasons:
                raise ControlError("invalid", "bad-reason", bilingual(
                    "未就绪原因不在配置的列表中", "not-ready reason is not one of the configured "
                    "codes: " + ", ".join(r.code for r in self.reasons.all())))
            change = lambda: self._agents.pause(agent_id, code)          # noqa: E731
        elif wanted == "ready":
            change = lambda: self._agents.unpause(agent_id)              # noqa: E731
        else:
            raise ControlError("invalid", "bad-state", f"unknown state {str(wanted)[:20]!r}")
        try:
            return change()
        except AgentError as exc:
            raise ControlError("conflict", exc.code, str(exc)) from None

    def login(self, user: str, password: str, address: str | None = None):
        """Deferred[dict] with a token, or None for a wrong user or password; raises
        :class:`~cti.services.auth.LoginRefused` when this user or address must wait."""
        if self._sign_in is None:
            return None
        return self._sign_in.login(user, password, address)

    def logout(self, principal: Principal, token: str, *, leave_queue: bool = False) -> dict:
        """End the session of ``token``; with ``leave_queue`` also log the agent out of the ACD
        (an agent on a call cannot leave: the session still ends, the refusal is reported)."""
        self._tokens.revoke(token)
        if self._signed_out is not None:
            try:
                self._signed_out()
            except Exception:
                log.exception("sign-out of %s: closing its connections failed", principal.user)
        result: dict[str, Any] = {"signed_out": True, "agent": None}
        if leave_queue and principal.agent_id:
            agent = self._agents.find(principal.agent_id)
            try:
                if agent is not None and agent.state is not AgentState.LOGGED_OUT:
                    agent = self._agents.logout(principal.agent_id)
                result["agent"] = agent.as_dict() if agent is not None else None
            except AgentError as exc:
                result["agent_error"] = {"code": exc.code, "message": str(exc)}
        return result

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

