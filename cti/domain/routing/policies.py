"""Which waiting call an agent takes: the ordering policies, selectable by name.

Every policy gives a call a *place* in line when it enters the queue, and the place never
changes while the call waits: agents serve the smallest place first (ties: earlier arrival,
higher tier, earlier sequence). Because places do not move with time, a caller's position can
only fall while it waits, except when a caller who may overtake it arrives (see below) or a
call offered before it comes back after no answer.

- ``fifo``: app_queue with no priority: the place is the arrival time, tiers ignored.
- ``priority``: app_queue ``QUEUE_PRIO``: the highest tier rank first, FIFO within it, no aging.
- ``service-level`` (ours): arrival time minus the tier's *head start*, in seconds. Each tier's
  head start is steered every ``adapt_every`` seconds by how the tier stands against its targets
  over the sliding window (the worse of ``(1 - SL) / (1 - target)`` and
  ``abandon rate / abandon target``) compared with the lowest tier: an integral controller. Head
  starts never fall as the tier rank rises, the lowest rank's is 0, and a tier's head start
  exceeds a lower tier's by at most the lower tier's ``max_wait``: so a caller is never
  overtaken by a caller of the same or a lower tier who arrived later, and a caller of the
  lowest tier never by anyone who arrived more than its ``max_wait`` after it (nobody starves).

The router keeps the places consistent when head starts change between two arrivals: a new
place is clamped between the places of the calls that must stay ahead of it and of those that
must stay behind it (see ``Router._place``).
"""
from __future__ import annotations

from typing import Callable

from cti.domain.routing.config import RoutingConfig
from cti.domain.routing.stats import LiveServiceLevel
from cti.domain.tiers import Tier

Place = tuple[float, ...]
RISK_CAP = 5.0          # one tier far off target must not swing the others without limit


class Policy:
    """Base: a place per call, fixed when the call enters the queue."""

    name = "policy"

    def __init__(self, config: RoutingConfig, live: LiveServiceLevel):
        self.config = config
        self.live = live

    def prepare(self, now: float) -> None:
        """Called before each decision: refresh what the policy learns over time."""

    def place(self, tier: Tier, arrived_at: float) -> Place:
        raise NotImplementedError

    def drift(self) -> float:
        """How many seconds earlier than today a newcomer's place may fall after the next
        adjustment of what the policy learns (0 for a policy that learns nothing)."""
        return 0.0

    def state(self) -> dict[str, float]:
        """What the policy learned, for the router's snapshot."""
        return {}

    def load_state(self, state: dict[str, float]) -> None:
        """Restore what ``state`` returned."""


class FifoPolicy(Policy):
    name = "fifo"

    def place(self, tier: Tier, arrived_at: float) -> Place:
        return (arrived_at,)


class StrictPriorityPolicy(Policy):
    name = "priority"

    def place(self, tier: Tier, arrived_at: float) -> Place:
        return (-float(tier.rank), arrived_at)


class ServiceLevelPolicy(Policy):
    name = "service-level"

    def __init__(self, config: RoutingConfig, live: LiveServiceLevel):
        super().__init__(config, live)
        self._head_start: dict[str, float] = {t.name: 0.0 for t in config.tiers}
        self._adapted_at: float | None = None
        self._project()

    def risk(self, tier: Tier, now: float) -> float:
        """How the tier stands against its targets: live misses over allowed misses for the
        service level, live abandon rate over the abandon target, the worse of the two
        (1.0 = exactly at target, above 1 = missing)."""
        missed = (1.0 - self.live.level(tier, now)) / max(1.0 - tier.sl_target, 0.01)
        abandoned = self.live.abandon_rate(tier, now) / max(tier.abandon_target, 0.005)
        return max(missed, abandoned)

    def head_start(self, tier: Tier) -> float:
        return self._head_start[tier.name]

    def drift(self) -> float:
        # one adjustment moves a head start by at most RISK_CAP x step relative to the lowest
        return RISK_CAP * self.config.adapt_step

    def prepare(self, now: float) -> None:
        """Every ``adapt_every`` seconds, move each tier's head start up while it is worse off
        against its targets and down while it is better off (an integral controller: it keeps
        moving until the tiers stand equally against their targets, or a bound stops it)."""
        cfg = self.config
        if self._adapted_at is None:
            self._adapted_at = now
        steps = int((now - self._adapted_at) // cfg.adapt_every)
        if steps <= 0:
            return
        self._adapted_at += steps * cfg.adapt_every
        steps = min(steps, 10)       # after a long quiet spell, do not overreact
        for tier in cfg.tiers:
            risk = min(self.risk(tier, now), RISK_CAP)
            self._head_start[tier.name] += steps * cfg.adapt_step * (risk - 1.0)
        self._project()

    def _project(self) -> None:
        """Bring the head starts back within their bounds: the lowest rank at 0, never less
        than a lower rank's, never more than a lower tier's plus that tier's ``max_wait``."""
        tiers = sorted(self.config.tiers, key=lambda t: t.rank)
        heads = self._head_start
        base = heads[tiers[0].name]
        done: list[Tier] = []
        for rank in sorted({t.rank for t in tiers}):
            group = [t for t in tiers if t.rank == rank]
            wanted = sum(heads[t.name] - base for t in group) / len(group)
            if not done:
                value = 0.0
            else:
                low = max(heads[t.name] for t in done)
                high = min(heads[t.name] + t.max_wait for t in done)
                value = min(high, max(low, wanted))
            for t in group:
                heads[t.name] = value
            done += group

    def place(self, tier: Tier, arrived_at: float) -> Place:
        return (arrived_at - self._head_start[tier.name],)

    def state(self) -> dict[str, float]:
        return dict(self._head_start)

    def load_state(self, state: dict[str, float]) -> None:
        for name, value in state.items():
            if name in self._head_start:
                self._head_start[name] = float(value)
        self._project()


POLICIES: dict[str, Callable[[RoutingConfig, LiveServiceLevel], Policy]] = {
    FifoPolicy.name: FifoPolicy,
    StrictPriorityPolicy.name: StrictPriorityPolicy,
    ServiceLevelPolicy.name: ServiceLevelPolicy,
}
