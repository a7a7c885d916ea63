"""What the router keeps per call and per agent while it routes them."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from cti.domain.agent_state import AgentMachine
from cti.domain.routing.model import Agent, WaitingCall
from cti.domain.tiers import Tier


class CallStatus(Enum):
    ARRIVING = "arriving"     # being decided on, in no queue yet
    WAITING = "waiting"       # in its (skill, tier) queue
    HELD = "held"             # kept for its familiar agent for a few seconds
    OFFERED = "offered"       # an agent is reserved and ringing
    CONNECTED = "connected"


@dataclass(slots=True)
class RoutedCall:
    call: WaitingCall
    tier: Tier
    seq: int
    status: CallStatus = CallStatus.WAITING
    agent_id: str | None = None
    held_for: str | None = None
    next_change: float | None = None
    place: tuple[float, ...] | None = None   # its place in line, fixed once given (policies)

    @property
    def entry(self) -> tuple[float, int, str]:
        return (self.call.arrived_at, self.seq, self.call.id)


@dataclass(slots=True)
class RoutedAgent:
    agent: Agent
    machine: AgentMachine
    free_seq: int = -1
    idle_since: float | None = None
    call_id: str | None = None    # the call offered to or connected with this agent
    free: bool = False
