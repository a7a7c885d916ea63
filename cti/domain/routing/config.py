"""The ACD's configuration: tiers, widening rings, VIP dedicated agents, familiar agent, and
the service-level policy's tuning, parsed from a plain mapping (the daemon's config section).

::

    tiers: [...]                              # see cti.domain.tiers
    rings: [[0, 1]]                           # [after seconds, minimum proficiency], widening
    tier_rings: {standard: [[0, 6], [15, 1]]} # optional per-tier rings
    vip_dedicated: {enabled: true, overflow_after: 10, take_others: true}
    familiar: {hold_seconds: 5, remember_seconds: 3600}
    service_level: {window_seconds: 1800, prior_calls: 20, adapt_every: 60, adapt_step: 1}
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from cti.domain.routing.errors import ConfigError
from cti.domain.routing.model import MAX_PROFICIENCY, MIN_PROFICIENCY
from cti.domain.tiers import Tier, TierConfigError, TierTable

Rings = tuple[tuple[float, int], ...]


@dataclass(frozen=True)
class RoutingConfig:
    tiers: TierTable = field(default_factory=TierTable.from_config)
    rings: Rings = ((0.0, MIN_PROFICIENCY),)
    tier_rings: Mapping[str, Rings] = field(default_factory=dict)
    vip_dedicated: bool = True
    vip_overflow_after: float = 10.0     # VIP calls reach general agents after this wait
    dedicated_take_others: bool = True   # dedicated agents take others when no VIP waits
    familiar_hold: float = 5.0           # seconds a call is held for its familiar agent
    familiar_memory: float = 3600.0      # how long "recently spoke to" lasts
    window_seconds: float = 1800.0       # live service level's sliding window
    prior_calls: float = 20.0            # pseudo-calls at target, so a few calls cannot swing it
    adapt_every: float = 60.0            # seconds between head-start adjustments
    adapt_step: float = 1.0              # head-start seconds per unit of risk above/below target

    def rings_for(self, tier: Tier) -> Rings:
        return self.tier_rings.get(tier.name, self.rings)

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any] | None = None) -> "RoutingConfig":
        config = {} if config is None else config
        if not isinstance(config, Mapping):
            raise ConfigError("routing configuration must be a mapping")
        unknown = set(config) - {"tiers", "rings", "tier_rings", "vip_dedicated", "familiar",
                                 "service_level"}
        if unknown:
            raise ConfigError(f"unknown routing keys {sorted(unknown)}")
        try:
            tiers = TierTable.from_config(config.get("tiers"))
        except TierConfigError as exc:
            raise ConfigError(str(exc)) from exc
        rings = _rings(config.get("rings", [[0, MIN_PROFICIENCY]]), "rings")
        tier_rings_cfg = _section(config, "tier_rings")
        tier_rings = {}
        for name, value in tier_rings_cfg.items():
            if name not in tiers:
                raise ConfigError(f"tier_rings: unknown tier {name!r}")
            tier_rings[name] = _rings(value, f"tier_rings.{name}")
        vip = _section(config, "vip_dedicated")
        familiar = _section(config, "familiar")
        sl = _section(config, "service_level")
        _only(vip, {"enabled", "overflow_after", "take_others"}, "vip_dedicated")
        _only(familiar, {"hold_seconds", "remember_seconds"}, "familiar")
        _only(sl, {"window_seconds", "prior_calls", "adapt_every", "adapt_step"},
              "service_level")
        result = cls(
            tiers=tiers, rings=rings, tier_rings=tier_rings,
            vip_dedicated=_flag(vip, "enabled", True, "vip_dedicated"),
            vip_overflow_after=_seconds(vip, "overflow_after", 10.0, "vip_dedicated"),
            dedicated_take_others=_flag(vip, "take_others", True, "vip_dedicated"),
            familiar_hold=_seconds(familiar, "hold_seconds", 5.0, "familiar"),
            familiar_memory=_seconds(familiar, "remember_seconds", 3600.0, "familiar"),
            window_seconds=_seconds(sl, "window_seconds", 1800.0, "service_level"),
            prior_calls=_seconds(sl, "prior_calls", 20.0, "service_level"),
            adapt_every=_seconds(sl, "adapt_every", 60.0, "service_level"),
            adapt_step=_seconds(sl, "adapt_step", 1.0, "service_level"),
        )
        if result.window_seconds <= 0 or result.adapt_every <= 0:
            raise ConfigError("service_level: window_seconds and adapt_every must be positive")
        return result


def _section(config: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = config.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key} must be a mapping")
    return value


def _only(section: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(section) - allowed
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")


def _flag(section: Mapping[str, Any], key: str, default: bool, where: str) -> bool:
    value = section.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}.{key} must be true or false")
    return value


def _seconds(section: Mapping[str, Any], key: str, default: float, where: str) -> float:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigError(f"{where}.{key} must be a number >= 0, got {value!r}")
    return float(value)


def _rings(value: Any, where: str) -> Rings:
    """``[[after, min_proficiency], ...]``: starts at 0 s, waits grow, requirements fall."""
    if not isinstance(value, (list, tuple)) or not value:
        raise ConfigError(f"{where} must be a non-empty list of [after_seconds, proficiency]")
    steps = []
    for step in value:
        if isinstance(step, Mapping):
            step = [step.get("after"), step.get("min_proficiency")]
        if not isinstance(step, (list, tuple)) or len(step) != 2:
            raise ConfigError(f"{where}: each step is [after_seconds, min_proficiency]")
        after, level = step
        if isinstance(after, bool) or not isinstance(after, (int, float)) or after < 0:
            raise ConfigError(f"{where}: 'after' must be seconds >= 0, got {after!r}")
        if isinstance(level, bool) or not isinstance(level, int) or not (
                MIN_PROFICIENCY <= level <= MAX_PROFICIENCY):
            raise ConfigError(f"{where}: min proficiency must be an integer 1-10")
        steps.append((float(after), level))
    if steps[0][0] != 0:
        raise ConfigError(f"{where}: the first ring must start at 0 seconds")
    for (a1, l1), (a2, l2) in zip(steps, steps[1:]):
        if a2 <= a1 or l2 > l1:
            raise ConfigError(f"{where}: rings must widen (later, and never more demanding)")
    return tuple(steps)
