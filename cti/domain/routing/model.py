"""The values that cross the ACD's interface: the waiting call, the agent, the offer."""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from cti.domain.routing.errors import InvalidRequest

GROUP_GENERAL = "general"
GROUP_VIP = "vip"          # VIP受理专席: dedicated agents who take VIP tiers first
GROUPS = (GROUP_GENERAL, GROUP_VIP)

MIN_PROFICIENCY, MAX_PROFICIENCY = 1, 10


@dataclass(frozen=True)
class WaitingCall:
    """A caller who asked for an agent: tier and skill from the IVR, arrival as clock seconds."""

    id: str
    tier: str
    skill: str
    arrived_at: float
    caller: str | None = None      # calling number, for the familiar-agent rule

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise InvalidRequest(f"call id must be a non-empty string, got {self.id!r}")
        if not isinstance(self.skill, str) or not self.skill:
            raise InvalidRequest(f"call {self.id}: skill must be a non-empty string")
        if isinstance(self.arrived_at, bool) or not isinstance(self.arrived_at, (int, float)):
            raise InvalidRequest(f"call {self.id}: arrived_at must be clock seconds")


@dataclass(frozen=True)
class Agent:
    """An agent as the ACD sees one: skills with proficiency 1-10, and a group."""

    id: str
    skills: Mapping[str, int] = field(default_factory=dict)
    group: str = GROUP_GENERAL

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise InvalidRequest(f"agent id must be a non-empty string, got {self.id!r}")
        if self.group not in GROUPS:
            raise InvalidRequest(f"agent {self.id}: group must be one of {GROUPS}")
        for skill, level in dict(self.skills).items():
            if not isinstance(skill, str) or not skill:
                raise InvalidRequest(f"agent {self.id}: skill names must be non-empty strings")
            if isinstance(level, bool) or not isinstance(level, int) or not (
                    MIN_PROFICIENCY <= level <= MAX_PROFICIENCY):
                raise InvalidRequest(
                    f"agent {self.id}: proficiency of {skill!r} must be an integer 1-10")
        object.__setattr__(self, "skills", MappingProxyType(dict(self.skills)))


@dataclass(frozen=True)
class Offer:
    """The ACD's decision: ring ``agent_id`` for ``call_id``. The agent is reserved until
    the daemon reports ``offer_answered`` or ``offer_failed`` (or the caller abandons)."""

    call_id: str
    agent_id: str
    offered_at: float
    waited: float          # seconds since the call's (original) arrival
    tier: str
    skill: str
    reason: str            # "queue" or "familiar"
