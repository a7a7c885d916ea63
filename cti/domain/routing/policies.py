"""Which waiting call an agent takes: the ordering policies, selectable by name.

A policy gives each waiting call a *key* from its tier and its wait; when an agent frees up,
the eligible call with the largest key wins (ties: longer wait, then earlier arrival). Within
one (skill, tier) queue, held in arrival order, the best call is always among a policy's
``candidates``, so the router looks at two calls per queue instead of all of them.

- ``fifo``: app_queue with no priority: the longest wait wins, tiers ignored.
- ``priority``: app_queue ``QUEUE_PRIO``: the highest tier rank wins, FIFO within it, no aging.
- ``service-level`` (ours): the call whose tier is most at risk of missing its targets. Each
  tier has a weight, steered every ``adapt_every`` seconds by how the tier stands against its
  targets over the sliding window (the worse of ``(1 - SL) / (1 - target)`` and
  ``abandon rate / abandon target``) compared with the other tiers: an integral controller.
  A call's urgency is ``weight x wait / threshold`` while it can still be answered in time,
  then ``weight x late_weight x wait / threshold`` once it cannot (serving it later no longer
  changes the service level, but its urgency keeps growing). A call that has waited its tier's
  ``max_wait`` outranks every call that has not, longest wait first: nobody is starved.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

from cti.domain.routing.config import RoutingConfig
from cti.domain.routing.queues import CallQueue, QueueEntry
from cti.domain.routing.stats import LiveServiceLevel
from cti.domain.tiers import Tier

Key = tuple[float, ...]
INF = math.inf


class Policy:
    """Base: a key per call, the candidates per queue, and the waits that outrank a key."""

    name = "policy"

    def __init__(self, config: RoutingConfig, live: LiveServiceLevel):
        self.config = config
        self.live = live

    def prepare(self, now: float) -> None:
        """Called once per decision, before any ``key``: refresh time-dependent figures."""

    def key(self, tier: Tier, wait: float) -> Key:
        raise NotImplementedError

    def state(self) -> dict[str, float]:
        """What the policy learned, for the router's snapshot."""
        return {}

    def load_state(self, state: dict[str, float]) -> None:
        """Restore what ``state`` returned."""

    def candidates(self, queue: CallQueue, tier: Tier, now: float) -> Sequence[QueueEntry]:
        oldest = queue.oldest()
        return (oldest,) if oldest is not None else ()

    def outranking(self, tier: Tier, mine: Key, now: float) -> list[tuple[float, float]]:
        """Wait ranges ``[lo, hi)`` of ``tier``'s calls whose key is above ``mine``
        (ties count as ahead): used for the caller's position."""
        raise NotImplementedError


class FifoPolicy(Policy):
    name = "fifo"

    def key(self, tier: Tier, wait: float) -> Key:
        return (wait,)

    def outranking(self, tier: Tier, mine: Key, now: float) -> list[tuple[float, float]]:
        return [(mine[0], INF)]


class StrictPriorityPolicy(Policy):
    name = "priority"

    def key(self, tier: Tier, wait: float) -> Key:
        return (float(tier.rank), wait)

    def outranking(self, tier: Tier, mine: Key, now: float) -> list[tuple[float, float]]:
        if tier.rank > mine[0]:
            return [(-INF, INF)]
        if tier.rank == mine[0]:
            return [(mine[1], INF)]
        return []


class ServiceLevelPolicy(Policy):
    name = "service-level"

    def __init__(self, config: RoutingConfig, live: LiveServiceLevel):
        super().__init__(config, live)
        self._log_weight: dict[str, float] = {t.name: 0.0 for t in config.tiers}
        self._weight: dict[str, float] = {t.name: 1.0 for t in config.tiers}
        self._adapted_at: float | None = None

    def risk(self, tier: Tier, now: float) -> float:
        """How the tier stands against its targets: live misses over allowed misses for the
        service level, live abandon rate over the abandon target, the worse of the two
        (1.0 = exactly at target, above 1 = missing)."""
        missed = (1.0 - self.live.level(tier, now)) / max(1.0 - tier.sl_target, 0.01)
        abandoned = self.live.abandon_rate(tier, now) / max(tier.abandon_target, 0.005)
        return max(missed, abandoned)

    def weight(self, tier: Tier) -> float:
        return self._weight[tier.name]

    def prepare(self, now: float) -> None:
        """Every ``adapt_every`` seconds, move each tier's weight up while it is worse off
        than the others against its targets and down while it is better off (an integral
        controller: it keeps moving until the tiers stand equally against their targets)."""
        cfg = self.config
        if self._adapted_at is None:
            self._adapted_at = now
        steps = int((now - self._adapted_at) // cfg.adapt_every)
        if steps <= 0:
            return
        self._adapted_at += steps * cfg.adapt_every
        steps = min(steps, 10)       # after a long quiet spell, do not overreact
        risks = {t.name: self.risk(t, now) for t in cfg.tiers}
        logs = self._log_weight
        for name, risk in risks.items():
            logs[name] += steps * cfg.adapt_rate * (min(risk, 5.0) - 1.0)
        centre = sum(logs.values()) / len(logs)
        bound = math.log(cfg.max_weight)
        for name in logs:
            logs[name] = min(bound, max(-bound, logs[name] - centre))
            self._weight[name] = math.exp(logs[name])

    def key(self, tier: Tier, wait: float) -> Key:
        if wait >= tier.max_wait:
            return (1.0, wait)
        share = wait / tier.sl_threshold
        weight = self._weight[tier.name]
        return (0.0, weight * share if share < 1.0 else weight * self.config.late_weight * share)

    def state(self) -> dict[str, float]:
        return dict(self._log_weight)

    def load_state(self, state: dict[str, float]) -> None:
        for name, value in state.items():
            if name in self._log_weight:
                self._log_weight[name] = float(value)
                self._weight[name] = math.exp(float(value))

    def candidates(self, queue: CallQueue, tier: Tier, now: float) -> Sequence[QueueEntry]:
        oldest = queue.oldest()
        if oldest is None:
            return ()
        in_time = queue.first_after(now - tier.sl_threshold)
        if in_time is None or in_time is oldest:
            return (oldest,)
        return (oldest, in_time)

    def outranking(self, tier: Tier, mine: Key, now: float) -> list[tuple[float, float]]:
        if mine[0] >= 1.0:
            return [(max(mine[1], tier.max_wait), INF)]
        weight, threshold = self._weight[tier.name], tier.sl_threshold
        ranges = [(tier.max_wait, INF)]
        in_time_from = mine[1] * threshold / weight
        if in_time_from < threshold:
            ranges.append((in_time_from, threshold))
        late = weight * self.config.late_weight
        late_from = max(threshold, mine[1] * threshold / late) if late > 0 else INF
        if late_from < tier.max_wait:
            ranges.append((late_from, tier.max_wait))
        return ranges


POLICIES: dict[str, Callable[[RoutingConfig, LiveServiceLevel], Policy]] = {
    FifoPolicy.name: FifoPolicy,
    StrictPriorityPolicy.name: StrictPriorityPolicy,
    ServiceLevelPolicy.name: ServiceLevelPolicy,
}
