"""The ACD: tiered, skill-based, service-level-driven routing behind one interface.

``make_router(policy_name, config, clock)`` builds a ``Router`` with one of the policies
``fifo`` (app_queue, no priority), ``priority`` (app_queue ``QUEUE_PRIO``) or
``service-level`` (ours). See docs/decisions/0002-acd-policy.md.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from cti.domain.routing.config import RoutingConfig
from cti.domain.routing.errors import (ConfigError, DuplicateAgent, DuplicateCall,
                                       InvalidRequest, RoutingError, UnknownAgent, UnknownCall)
from cti.domain.routing.model import GROUP_GENERAL, GROUP_VIP, Agent, Offer, WaitingCall
from cti.domain.routing.policies import POLICIES
from cti.domain.routing.records import CallStatus
from cti.domain.routing.router import Router
from cti.domain.routing.stats import LiveServiceLevel, WaitEstimator

DEFAULT_POLICY = "service-level"

__all__ = [
    "Agent", "CallStatus", "ConfigError", "DEFAULT_POLICY", "DuplicateAgent", "DuplicateCall",
    "GROUP_GENERAL", "GROUP_VIP", "InvalidRequest", "Offer", "POLICIES", "Router",
    "RoutingConfig", "RoutingError", "UnknownAgent", "UnknownCall", "WaitingCall",
    "make_router",
]


def make_router(policy_name: str = DEFAULT_POLICY,
                config: Mapping[str, Any] | RoutingConfig | None = None,
                clock: Callable[[], float] | None = None,
                router_class: type[Router] = Router) -> Router:
    """One ACD from its policy name, its configuration mapping and a clock (seconds)."""
    if policy_name not in POLICIES:
        raise ConfigError(f"unknown routing policy {policy_name!r}; "
                          f"choose one of {sorted(POLICIES)}")
    if clock is None or not callable(clock):
        raise ConfigError("a clock (a callable returning seconds) is required")
    if not isinstance(config, RoutingConfig):
        config = RoutingConfig.from_mapping(config)
    live = LiveServiceLevel(config.tiers, config.window_seconds, config.prior_calls)
    return router_class(POLICIES[policy_name](config, live), config, clock, live,
                        WaitEstimator())
