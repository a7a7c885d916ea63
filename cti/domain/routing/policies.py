"""Which waiting call an agent takes: the ordering policies, selectable by name.

A policy gives each waiting call a *key* from its tier and its wait; when an agent frees up,
the eligible call with the largest key wins (ties: longer wait, then earlier arrival). Within
one (skill, tier) queue, held in arrival order, the best call is always among a policy's
``candidates``, so the router looks at two calls per queue instead of all of them.

- ``fifo``: app_queue with no priority: the longest wait wins, tiers ignored.
- ``priority``: app_queue ``QUEUE_PRIO``: the highest tier rank wins, FIFO within it, no aging.
- ``service-level`` (ours): the call whose tier is most at risk of missing its target. A tier's
  *risk* is its live miss rate over its allowed miss rate, ``(1 - SL) / (1 - target)``, from
  the sliding window; a call's urgency is ``risk x wait / threshold`` while it can still be
  answered in time, then ``risk x late_weight x wait / threshold`` once it cannot (serving it
  later no longer changes the service level, but its urgency keeps growing, so it is never
  starved). A call waiting ``max_wait`` or more outranks every call that is not, oldest first.
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
        self._risk: dict[str, float] = {t.name: 1.0 for t in config.tiers}

    def risk(self, tier: Tier, now: float) -> float:
        allowed = max(1.0 - tier.sl_target, 0.01)
        missed = 1.0 - self.live.level(tier, now)
        return min(self.config.max_risk, max(self.config.min_risk, missed / allowed))

    def prepare(self, now: float) -> None:
        for tier in self.config.tiers:
            self._risk[tier.name] = self.risk(tier, now)

    def key(self, tier: Tier, wait: float) -> Key:
        if wait >= tier.max_wait:
            return (1.0, wait)
        share = wait / tier.sl_threshold
        if share < 1.0:
            return (0.0, self._risk[tier.name] * share)
        return (0.0, self._risk[tier.name] * self.config.late_weight * share)

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
        risk = self._risk[tier.name]
        urgency, threshold = mine[1], tier.sl_threshold
        in_time_from = urgency * threshold / risk
        late_from = urgency * threshold / (risk * self.config.late_weight) \
            if self.config.late_weight > 0 else INF
        ranges = [(tier.max_wait, INF)]
        if in_time_from < threshold:
            ranges.append((in_time_from, threshold))
        if max(threshold, late_from) < tier.max_wait:
            ranges.append((max(threshold, late_from), tier.max_wait))
        return ranges


POLICIES: dict[str, Callable[[RoutingConfig, LiveServiceLevel], Policy]] = {
    FifoPolicy.name: FifoPolicy,
    StrictPriorityPolicy.name: StrictPriorityPolicy,
    ServiceLevelPolicy.name: ServiceLevelPolicy,
}
