"""Desktop gate: with ``acd.require_desktop``, an agent takes calls only with a desktop open.

The screen-pop is how an agent learns who is calling before picking up; an agent whose
desktop is closed (or who lost it, e.g. while ctid restarted) would answer blind. So, when
the gate is on, a would-be-ready agent without a connected desktop is held not-ready with
reason ``desktop-offline`` (visible to supervisors), and made ready again the moment a desktop
connects. An agent on a call is left alone; the hold applies when the call is wrapped up.
"""
from __future__ import annotations

import logging
from typing import Callable

from cti.domain.agent_state import AgentState
from cti.services.agents import Agent, AgentError, AgentService

log = logging.getLogger(__name__)

REASON = "desktop-offline"


class DesktopGate:
    def __init__(self, connected: Callable[[str], bool]):
        self._connected = connected
        self.agents: AgentService | None = None

    def hold(self, agent: Agent) -> str | None:
        return None if self._connected(agent.agent_id) else REASON

    def presence(self, agent_id: str, online: bool) -> None:
        agents = self.agents
        agent = agents.find(agent_id) if agents else None
        if agent is None:
            return
        try:
            if online and agent.state is AgentState.NOT_READY and agent.reason == REASON:
                agents.unpause(agent_id)
            elif not online and agent.state in (AgentState.READY, AgentState.AFTER_CALL_WORK):
                agents.pause(agent_id, REASON)
        except AgentError as exc:
            log.warning("agent %s: desktop %s: %s", agent_id, "online" if online else "offline", exc)
