"""Screen-pop: the agent's desktop learns who is calling before the phone rings.

Called by the ACD when it makes an offer, before the Redirect leaves ctid, so the pop is on the
desktop ahead of the ring. The agent owns the call, so the pop carries the caller's number in
full; supervisors of the agent's team see the same frame. Every pop is counted per call, so a
test (or an operator) can check that each answered call had exactly one pop to the right agent.

A call offered again to the agent whose desktop already shows it (its Redirect was lost with
the AMI link and the resync put it back in line) is not popped a second time.
"""
from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from typing import Callable

from cti.domain.tiers import TierTable
from cti.services.agents import Agent
from cti.services.calls import Call

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PopSent:
    call_id: str
    agent_id: str
    at: float
    delivered: int           # how many of the agent's own desktops got it


class ScreenPop:
    def __init__(self, hub, tiers: TierTable, clock: Callable[[], float]):
        self._hub = hub
        self._tiers = tiers
        self._clock = clock
        self.sent: deque[PopSent] = deque(maxlen=10_000)   # the latest pops, for checks
        self.pops_sent = 0
        self._showing: dict[str, str] = {}     # agent id -> the call of the last pop sent
        self.ivr_steps: Callable[[str], list] | None = None   # call id -> its IVR steps

    def pop_data(self, call: Call, agent: Agent) -> dict:
        now = self._clock()
        tier = self._tiers[call.tier] if call.tier in self._tiers else None
        return {
            "call_id": call.call_id,
            "caller": call.caller_number,
            "customer": {"id": call.customer_id, "name": call.customer_name},
            "tier": call.tier,
            "tier_label": tier.label if tier else call.tier,
            "vip": bool(tier and tier.vip),
            "skill": call.skill,
            "ivr_path": call.ivr_path,
            "ivr_steps": self.ivr_steps(call.call_id) if self.ivr_steps else [],
            "wait_seconds": round(call.wait_seconds(now), 1),
            "dnis": call.dnis,
            "agent_id": agent.agent_id,
        }

    def offer_made(self, call: Call, agent: Agent) -> None:
        if self._showing.get(agent.agent_id) == call.call_id:
            log.info("call %s offered again to agent %s: already on the desktop", call.call_id,
                     agent.agent_id)
            return
        self._showing[agent.agent_id] = call.call_id
        delivered = self._hub.send_to_agent(agent.agent_id, "screen-pop", self.pop_data(call, agent),
                                            team=agent.team)
        self.sent.append(PopSent(call.call_id, agent.agent_id, self._clock(), delivered))
        self.pops_sent += 1
        if not delivered:
            log.info("call %s: agent %s has no desktop connected for the pop", call.call_id,
                     agent.agent_id)
