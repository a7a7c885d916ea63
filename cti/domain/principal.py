"""Who is asking: a signed-in person with one role, and what that role lets them see.

Roles: an *agent* sees only their own calls and customers, a *supervisor* the agents of their
teams, an *admin* everything. This is a domain notion: the HTTP API, the push socket and the
use cases all depend on it, it depends on none of them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

ROLES = ("agent", "supervisor", "admin")


@dataclass(frozen=True)
class Principal:
    user: str
    role: str
    agent_id: str | None = None
    teams: frozenset[str] = field(default_factory=frozenset)

    def may_see_agent(self, agent_id: str, agent_team: str | None) -> bool:
        if self.role == "admin":
            return True
        if self.role == "supervisor":
            return agent_team is not None and agent_team in self.teams
        return self.agent_id == agent_id
