"""Who is asking: principals, roles, and the session tokens ctid issues.

Roles: an *agent* sees only their own calls and customers, a *supervisor* the agents of their
teams, an *admin* everything. Passwords are checked by the storage layer (salted scrypt, see
:mod:`cti.storage.passwords`); tokens are random, kept only in memory, and expire.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Callable

ROLES = ("agent", "supervisor", "admin")


def new_token(nbytes: int = 32) -> str:
    """A random bearer token of hex digits: never starts with ``-`` (which a command line
    would take for an option, as ``token_urlsafe`` does once in 64) and needs no quoting."""
    return secrets.token_hex(nbytes)


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


class TokenStore:
    """Random bearer tokens mapped to principals, with a lifetime."""

    def __init__(self, clock: Callable[[], float], lifetime: float = 12 * 3600):
        self._clock = clock
        self._lifetime = lifetime
        self._tokens: dict[str, tuple[Principal, float]] = {}

    def issue(self, principal: Principal) -> str:
        now = self._clock()
        for stale in [t for t, (_, expires) in self._tokens.items() if expires <= now]:
            del self._tokens[stale]
        token = new_token()
        self._tokens[token] = (principal, self._clock() + self._lifetime)
        return token

    def authenticate(self, token: str | None) -> Principal | None:
        if not token or not isinstance(token, str):
            return None
        entry = self._tokens.get(token)
        if entry is None:
            return None
        principal, expires = entry
        if self._clock() >= expires:
            del self._tokens[token]
            return None
        return principal

    def revoke(self, token: str) -> None:
        self._tokens.pop(token, None)
