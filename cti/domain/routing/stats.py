"""Live figures the ACD keeps as calls finish waiting: each tier's service level over a sliding
window (what the service-level policy steers by) and the wait estimates for announcements."""
from __future__ import annotations

from collections import deque
from typing import Any

from cti.domain.tiers import Tier, TierTable


class LiveServiceLevel:
    """Per tier, the share of calls answered within threshold over the last ``window`` seconds.

    Every answered call counts (met if its wait was within the tier's threshold); every
    abandoned call counts as missed. ``prior`` pseudo-calls at the target keep a quiet tier's
    figure from swinging on its first few calls.
    """

    def __init__(self, tiers: TierTable, window: float, prior: float):
        self._tiers = tiers
        self.window = window
        self.prior = prior
        self._events: dict[str, deque[tuple[float, bool]]] = {t.name: deque() for t in tiers}
        self._met: dict[str, int] = {t.name: 0 for t in tiers}

    def record(self, tier: Tier, at: float, met: bool) -> None:
        self._events[tier.name].append((at, met))
        self._met[tier.name] += met

    def _expire(self, name: str, now: float) -> deque[tuple[float, bool]]:
        events = self._events[name]
        horizon = now - self.window
        while events and events[0][0] <= horizon:
            _, met = events.popleft()
            self._met[name] -= met
        return events

    def level(self, tier: Tier, now: float) -> float:
        events = self._expire(tier.name, now)
        return (self._met[tier.name] + self.prior * tier.sl_target) / (len(events) + self.prior) \
            if (len(events) + self.prior) else tier.sl_target

    def counts(self, tier: Tier, now: float) -> tuple[int, int]:
        """(met, counted) in the window."""
        events = self._expire(tier.name, now)
        return self._met[tier.name], len(events)

    def snapshot(self) -> dict[str, list[list[Any]]]:
        return {name: [[at, met] for at, met in events] for name, events in self._events.items()}

    def restore(self, data: dict[str, list[list[Any]]]) -> None:
        for name, events in data.items():
            if name in self._events:
                for at, met in events:
                    self.record(self._tiers[name], float(at), bool(met))


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
