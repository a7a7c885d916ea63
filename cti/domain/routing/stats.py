"""Live figures the ACD keeps as calls finish waiting: each tier's service level over a sliding
window (what the service-level policy steers by) and the wait estimates for announcements."""
from __future__ import annotations

from collections import deque
from typing import Any

from cti.domain.tiers import Tier, TierTable


class LiveServiceLevel:
    """Per tier, over the last ``window`` seconds: the share of calls answered within threshold
    and the share abandoned.

    Every answered call counts (met if its wait was within the tier's threshold); every
    abandoned call counts as missed. ``prior`` pseudo-calls exactly at the targets keep a quiet
    tier's figures from swinging on its first few calls.
    """

    def __init__(self, tiers: TierTable, window: float, prior: float):
        self._tiers = tiers
        self.window = window
        self.prior = prior
        self._events: dict[str, deque[tuple[float, bool, bool]]] = {
            t.name: deque() for t in tiers}
        self._met: dict[str, int] = {t.name: 0 for t in tiers}
        self._abandoned: dict[str, int] = {t.name: 0 for t in tiers}

    def record(self, tier: Tier, at: float, met: bool, abandoned: bool = False) -> None:
        self._events[tier.name].append((at, met, abandoned))
        self._met[tier.name] += met
        self._abandoned[tier.name] += abandoned

    def _expire(self, name: str, now: float) -> int:
        events = self._events[name]
        horizon = now - self.window
        while events and events[0][0] <= horizon:
            _, met, abandoned = events.popleft()
            self._met[name] -= met
            self._abandoned[name] -= abandoned
        return len(events)

    def level(self, tier: Tier, now: float) -> float:
        """Live service level: answered within threshold / calls that finished waiting."""
        counted = self._expire(tier.name, now) + self.prior
        return (self._met[tier.name] + self.prior * tier.sl_target) / counted \
            if counted else tier.sl_target

    def abandon_rate(self, tier: Tier, now: float) -> float:
        counted = self._expire(tier.name, now) + self.prior
        return (self._abandoned[tier.name] + self.prior * tier.abandon_target) / counted \
            if counted else tier.abandon_target

    def counts(self, tier: Tier, now: float) -> tuple[int, int, int]:
        """(met, abandoned, counted) in the window, without the prior."""
        counted = self._expire(tier.name, now)
        return self._met[tier.name], self._abandoned[tier.name], counted

    def snapshot(self) -> dict[str, list[list[Any]]]:
        return {name: [list(event) for event in events]
                for name, events in self._events.items()}

    def restore(self, data: dict[str, list[list[Any]]]) -> None:
        for name, events in data.items():
            if name in self._events:
                for at, met, abandoned in events:
                    self.record(self._tiers[name], float(at), bool(met), bool(abandoned))


class WaitEstimator:
    """Expected wait per (tier, skill) for announcements: a moving average of the waits of the
    calls just answered there, the figure most predictive of the next caller's wait."""

    def __init__(self, smoothing: float = 0.2, default_handle: float = 180.0):
        self.smoothing = smoothing
        self.handle_time = default_handle
        self._waits: dict[tuple[str, str], float] = {}

    def answered(self, tier: str, skill: str, waited: float) -> None:
        key = (tier, skill)
        old = self._waits.get(key)
        self._waits[key] = waited if old is None else old + self.smoothing * (waited - old)

    def ended(self, talk_seconds: float) -> None:
        if talk_seconds > 0:
            self.handle_time += self.smoothing * (talk_seconds - self.handle_time)

    def recent_wait(self, tier: str, skill: str) -> float | None:
        return self._waits.get((tier, skill))

    def snapshot(self) -> dict[str, Any]:
        return {"handle_time": self.handle_time,
                "waits": [[t, s, w] for (t, s), w in self._waits.items()]}

    def restore(self, data: dict[str, Any]) -> None:
        self.handle_time = float(data.get("handle_time", self.handle_time))
        for tier, skill, wait in data.get("waits", []):
            self._waits[(tier, skill)] = float(wait)
