"""The routing boundary's exceptions, each with a stable code the daemon can log and map."""
from __future__ import annotations


class RoutingError(Exception):
    """Base of everything the ACD raises on a request it cannot honour."""

    code = "routing"


class ConfigError(RoutingError):
    """The routing configuration (tiers, rings, groups, policy name) is unusable."""

    code = "routing-config"


class UnknownCall(RoutingError, KeyError):
    code = "unknown-call"

    def __str__(self) -> str:
        return f"unknown call {self.args[0]!r}"


class UnknownAgent(RoutingError, KeyError):
    code = "unknown-agent"

    def __str__(self) -> str:
        return f"unknown agent {self.args[0]!r}"


class DuplicateCall(RoutingError):
    code = "duplicate-call"


class DuplicateAgent(RoutingError):
    code = "duplicate-agent"


class InvalidRequest(RoutingError):
    """A fact arrived that the call's or agent's current state does not allow."""

    code = "invalid-request"
