"""Service level of three ACD policies on the same callers: FIFO (app_queue, no priority),
strict priority (app_queue QUEUE_PRIO) and ours (service-level driven).

A discrete-event simulation: Poisson arrivals split by tier, lognormal handle times, callers
with exponential patience who hang up if not answered in time. Every policy sees the very same
callers (common random numbers) through the real ``Router`` built by ``make_router``. For each
policy a binary search finds the smallest head count that meets every tier's service-level
and abandon targets, printed beside the Erlang-C and Erlang-A pooled bounds.

Service level = answered within the threshold / offered (abandons count as misses). Beside it,
per tier and policy: the 95th percentile and the maximum wait of the answered callers, and the
overtakes: a caller is overtaken each time a caller asking the same skill, of the same or a
lower tier, who arrived later (or at the same moment, of a lower tier) is answered while it is
still waiting. Every simulated agent can take every call, so each such answer is one the
agent could have given to the caller who waited longer. Overtakes are counted against the
caller who was overtaken.

``--sweep`` runs the same search over a grid of operating points (calls per hour x VIP share x
patience, plus the reference point) and prints one row per point as it comes out.

    python bench/service_level.py [--days 3] [--calls-per-hour 1200] [--aht 180] [--seed 7]
                                  [--patience 180] [--vip-share 0.15] [--agents N]
    python bench/service_level.py --sweep [--days 3]
"""
from __future__ import annotations

import argparse
import heapq
import itertools
from bisect import bisect_left, bisect_right, insort
import math
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cti.domain.erlang import erlang_a_figures, staffing  # noqa: E402
from cti.domain.routing import Agent, CallStatus, WaitingCall, make_router  # noqa: E402
from cti.domain.tiers import DEFAULT_TIERS  # noqa: E402

POLICIES = (("fifo", "FIFO (app_queue)"), ("priority", "strict priority (QUEUE_PRIO)"),
            ("service-level", "ours (service level)"))
TIER_MIX = {"platinum": 0.015, "diamond": 0.025, "gold": 0.045, "silver": 0.065,
            "standard": 0.85}
SKILL = "general"
WARM_UP = 3600.0
SWEEP_CALLS_PER_HOUR = (600.0, 1200.0, 2400.0)
SWEEP_VIP_SHARE = (0.15, 0.30)
SWEEP_PATIENCE = (120.0, 300.0)


@dataclass
class TierFigures:
    offered: int = 0
    answered: int = 0
    in_time: int = 0
    abandoned: int = 0
    wait_answered: float = 0.0
    waits: list[float] = field(default_factory=list)    # of the answered callers
    overtaken: int = 0

    def wait_quantile(self, q: float) -> float:
        if not self.waits:
            return 0.0
        ordered = sorted(self.waits)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def max_wait(self) -> float:
        return max(self.waits, default=0.0)

    @property
    def service_level(self) -> float:
        return self.in_time / self.offered if self.offered else 1.0

    @property
    def asa(self) -> float:
        return self.wait_answered / self.answered if self.answered else 0.0

    @property
    def abandon_rate(self) -> float:
        return self.abandoned / self.offered if self.offered else 0.0


@dataclass
class Result:
    agents: int
    tiers: dict[str, TierFigures] = field(default_factory=dict)

    def meets_targets(self) -> bool:
        return all(f.service_level >= DEFAULT_TIERS[name].sl_target
                   and f.abandon_rate <= DEFAULT_TIERS[name].abandon_target
                   for name, f in self.tiers.items())


def tier_mix(vip_share: float) -> dict[str, float]:
    """``TIER_MIX`` with the VIP tiers scaled to ``vip_share`` of the calls, same proportions."""
    vip = {name for name in TIER_MIX if DEFAULT_TIERS[name].vip}
    vip_total = sum(TIER_MIX[name] for name in vip)
    scale = {True: vip_share / vip_total, False: (1.0 - vip_share) / (1.0 - vip_total)}
    return {name: share * scale[name in vip] for name, share in TIER_MIX.items()}


def vip_share(mix: dict[str, float]) -> float:
    return sum(share for name, share in mix.items() if DEFAULT_TIERS[name].vip)


def make_callers(days: float, calls_per_hour: float, aht: float, patience: float,
                 sigma: float, seed: int, mix: dict[str, float] = TIER_MIX,
                 ) -> list[tuple[float, str, float, float]]:
    """(arrival, tier, handle seconds, patience seconds), the same for every policy."""
    rng = random.Random(seed)
    names, weights = list(mix), list(mix.values())
    mu = math.log(aht) - sigma * sigma / 2.0          # lognormal with mean ``aht``
    rate = calls_per_hour / 3600.0
    callers, t, horizon = [], 0.0, WARM_UP + days * 86400.0
    while True:
        t += rng.expovariate(rate)
        if t >= horizon:
            return callers
        callers.append((t, rng.choices(names, weights)[0], rng.lognormvariate(mu, sigma),
                        rng.expovariate(1.0 / patience)))


def simulate(policy: str, agents: int, callers: list[tuple[float, str, float, float]],
             config: dict | None = None) -> Result:
    now = [0.0]
    router = make_router(policy, config or {}, lambda: now[0])
    events: list[tuple[float, int, int, str]] = []   # (time, order, kind, id)
    ARRIVE, ABANDON, END = 0, 1, 2
    for i, (t, _, _, patience) in enumerate(callers):
        events.append((t, i, ARRIVE, str(i)))
        events.append((t + patience, i, ABANDON, str(i)))
    heapq.heapify(events)
    handle = {str(i): c[2] for i, c in enumerate(callers)}
    figures = {name: TierFigures() for name in TIER_MIX}
    counted = {str(i): figures[c[1]] for i, c in enumerate(callers) if c[0] >= WARM_UP}
    on_call: dict[str, str] = {}
    order = len(callers)
    waiting: dict[str, list[float]] = {name: [] for name in TIER_MIX}   # arrivals, sorted
    rank = {name: DEFAULT_TIERS[name].rank for name in TIER_MIX}

    def connect(offer) -> None:
        nonlocal order
        router.offer_answered(offer.call_id)
        on_call[offer.agent_id] = offer.call_id
        arrived = callers[int(offer.call_id)][0]
        line = waiting[offer.tier]
        index = bisect_left(line, arrived)
        if index < len(line) and line[index] == arrived:
            del line[index]
        if now[0] >= WARM_UP:                  # who is still waiting that this call passed
            for name, others in waiting.items():
                if rank[name] > rank[offer.tier]:
                    figures[name].overtaken += bisect_right(others, arrived)
                elif name == offer.tier:
                    figures[name].overtaken += bisect_left(others, arrived)
        f = counted.get(offer.call_id)
        if f is not None:
            f.answered += 1
            f.wait_answered += offer.waited
            f.waits.append(offer.waited)
            f.in_time += offer.waited <= DEFAULT_TIERS[offer.tier].sl_threshold
        order += 1
        heapq.heappush(events, (now[0] + handle[offer.call_id], order, END, offer.agent_id))

    for n in range(agents):
        router.agent_logged_in(Agent(f"agent{n}", {SKILL: 5}))
    while events:
        t, _, kind, ident = heapq.heappop(events)
        now[0] = t
        if kind == ARRIVE:
            i = int(ident)
            f = counted.get(ident)
            if f is not None:
                f.offered += 1
            insort(waiting[callers[i][1]], t)
            offer = router.call_arrived(WaitingCall(ident, callers[i][1], SKILL, t))
            if offer is not None:
                connect(offer)
        elif kind == ABANDON:
            try:
                status = router.call_status(ident)
            except KeyError:
                continue
            if status is CallStatus.WAITING:
                router.call_abandoned(ident)
                line = waiting[callers[int(ident)][1]]
                del line[bisect_left(line, callers[int(ident)][0])]
                f = counted.get(ident)
                if f is not None:
                    f.abandoned += 1
        else:
            call_id = on_call.pop(ident)
            router.call_ended(call_id, handle[call_id])
            offer = router.agent_available(ident)
            if offer is not None:
                connect(offer)
        for offer in router.tick():
            connect(offer)
    return Result(agents, figures)


def smallest_meeting(policy: str, callers, start: int, cache: dict) -> int:
    def run(n: int) -> Result:
        if (policy, n) not in cache:
            cache[(policy, n)] = simulate(policy, n, callers)
        return cache[(policy, n)]

    low, high = start - 1, start
    while not run(high).meets_targets():
        low, high = high, high + 4
    while low > 0 and run(low).meets_targets():
        high, low = low, low - 4
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if run(mid).meets_targets() else (mid, high)
    return high


@dataclass(frozen=True)
class PooledBounds:
    """One pooled queue with the call-weighted targets of the tier mix."""
    sl_target: float
    abandon_target: float
    erlang_c: int       # M/M/c: nobody abandons
    erlang_a: int       # M/M/c+M with the callers' patience


def pooled_bounds(calls_per_hour: float, aht: float, patience: float,
                  mix: dict[str, float]) -> PooledBounds:
    weighted = sum(share * DEFAULT_TIERS[name].sl_target for name, share in mix.items())
    weighted_abandon = sum(share * DEFAULT_TIERS[name].abandon_target
                           for name, share in mix.items())
    erlang_c = staffing(calls_per_hour, aht, weighted, 20.0).agents
    erlang_a = next(n for n in range(1, 10 * erlang_c) if (lambda f: (
        f.service_level >= weighted and f.abandon_rate <= weighted_abandon))(
            erlang_a_figures(n, calls_per_hour, aht, 20.0, patience)))
    return PooledBounds(weighted, weighted_abandon, erlang_c, erlang_a)


def margins(result: Result) -> str:
    """Per tier: service level minus its target / abandon target minus abandon rate, in points."""
    return " ".join(
        f"{100 * (f.service_level - DEFAULT_TIERS[name].sl_target):+5.1f}/"
        f"{100 * (DEFAULT_TIERS[name].abandon_target - f.abandon_rate):+4.1f}"
        for name, f in result.tiers.items())


def sweep(args: argparse.Namespace) -> int:
    """The minimum-head-count search at every grid point, one row per point as it comes out."""
    started = time.perf_counter()
    points = [(args.calls_per_hour, vip_share(reference_mix(args)), args.patience, "ref")] + [
        (load, share, patience, "")
        for load, share, patience in itertools.product(
            SWEEP_CALLS_PER_HOUR, SWEEP_VIP_SHARE, SWEEP_PATIENCE)]
    print(f"sweep: AHT {args.aht:.0f} s (lognormal, sigma {args.handle_sigma}), "
          f"{args.days:g} simulated days per point after 1 h warm-up, seed {args.seed}; "
          "VIP share scales platinum/diamond/gold/silver in their reference proportions")
    print("o-s = ours minus strict priority; margin = ours at its minimum, per tier: "
          "SL - target / abandon target - abandon rate, in points")
    tiers = "".join(f"{name:>10} " for name in TIER_MIX)
    header = (f"{'calls/h':>7} {'VIP':>4} {'pat.':>5} | {'FIFO':>4} {'strict':>6} {'ours':>4} "
              f"{'o-s':>3} | {'ErlC':>4} {'ErlA':>4} | margin {tiers}").rstrip()
    print(header)
    print("-" * len(header))
    verdicts: dict[str, list[str]] = {"fewer": [], "tie": [], "more": []}
    simulations = 0
    for load, share, patience, note in points:
        mix = tier_mix(share)
        callers = make_callers(args.days, load, args.aht, patience, args.handle_sigma,
                               args.seed, mix)
        bounds = pooled_bounds(load, args.aht, patience, mix)
        cache: dict = {}
        smallest = {p: smallest_meeting(p, callers, bounds.erlang_a, cache) for p, _ in POLICIES}
        simulations += len(cache)
        ours, strict = smallest["service-level"], smallest["priority"]
        name = f"{load:.0f}/{share:.0%}/{patience:.0f}s{' ' + note if note else ''}"
        verdicts["fewer" if ours < strict else "tie" if ours == strict else "more"].append(name)
        print(f"{load:7.0f} {share:4.0%} {patience:4.0f}s | {smallest['fifo']:4d} {strict:6d} "
              f"{ours:4d} {ours - strict:+3d} | {bounds.erlang_c:4d} {bounds.erlang_a:4d} | "
              f"       {margins(cache[('service-level', ours)])}{'  ' + note if note else ''}",
              flush=True)
    print(f"\nours needs fewer agents than strict priority at {len(verdicts['fewer'])} points: "
          f"{', '.join(verdicts['fewer']) or '-'}")
    print(f"tie at {len(verdicts['tie'])}: {', '.join(verdicts['tie']) or '-'}")
    print(f"strict priority needs fewer at {len(verdicts['more'])}: "
          f"{', '.join(verdicts['more']) or '-'}")
    print(f"\n{len(points)} points, {simulations} simulations in "
          f"{time.perf_counter() - started:.0f} s")
    return 0


def reference_mix(args: argparse.Namespace) -> dict[str, float]:
    return TIER_MIX if args.vip_share is None else tier_mix(args.vip_share)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=3.0)
    parser.add_argument("--calls-per-hour", type=float, default=1200.0)
    parser.add_argument("--aht", type=float, default=180.0)
    parser.add_argument("--handle-sigma", type=float, default=0.8)
    parser.add_argument("--patience", type=float, default=180.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--vip-share", type=float, default=None,
                        help="fraction of VIP callers (default 0.15, the reference mix)")
    parser.add_argument("--agents", type=int, default=None,
                        help="print the per-tier figures at this head count "
                             "(default: the smallest meeting every target with our policy)")
    parser.add_argument("--sweep", action="store_true",
                        help="search the grid of operating points instead of one load")
    args = parser.parse_args(argv)
    if args.vip_share is not None and not 0.0 < args.vip_share < 1.0:
        parser.error("--vip-share must be a fraction in (0, 1)")
    if args.agents is not None and args.agents < 1:
        parser.error("--agents must be at least 1")
    if args.sweep:
        return sweep(args)
    started = time.perf_counter()
    mix = reference_mix(args)
    callers = make_callers(args.days, args.calls_per_hour, args.aht, args.patience,
                           args.handle_sigma, args.seed, mix)
    bounds = pooled_bounds(args.calls_per_hour, args.aht, args.patience, mix)
    weighted, weighted_abandon = bounds.sl_target, bounds.abandon_target
    erlang_c, pooled_a = bounds.erlang_c, bounds.erlang_a
    print(f"load {args.calls_per_hour:.0f} calls/h, AHT {args.aht:.0f} s (lognormal, sigma "
          f"{args.handle_sigma}), {vip_share(mix):.0%}"
          f" VIP, patience exp. mean {args.patience:.0f} s; {args.days:g} simulated days "
          f"after 1 h warm-up, {len(callers)} callers, seed {args.seed}")
    print("targets: " + ", ".join(
        f"{t.name} {t.sl_target:.0%}/{t.sl_threshold:.0f}s ab<={t.abandon_target:.0%}"
        for t in DEFAULT_TIERS))
    cache: dict = {}
    smallest = {p: smallest_meeting(p, callers, pooled_a, cache) for p, _ in POLICIES}
    common = args.agents or smallest["service-level"]
    print(f"\nper tier at {common} agents " + (
        "(as asked):" if args.agents else
        "(the smallest head count meeting every target with our policy):"))
    header = (f"{'tier':<10} {'policy':<30} | {'SL':>6} {'aband.':>6} | {'ASA':>6} "
              f"{'p95 wait':>8} {'max wait':>8} | {'overtakes':>9}")
    print(header)
    print("-" * len(header))
    for name in TIER_MIX:
        for policy, label in POLICIES:
            result = cache.get((policy, common)) or simulate(policy, common, callers)
            cache[(policy, common)] = result
            f = result.tiers[name]
            print(f"{name:<10} {label:<30} | {f.service_level:6.1%} {f.abandon_rate:6.2%} | "
                  f"{f.asa:5.1f}s {f.wait_quantile(0.95):7.1f}s {f.max_wait:7.1f}s | "
                  f"{f.overtaken:9d}")
    print("\nsmallest head count meeting every tier's targets:")
    for policy, label in POLICIES:
        n = smallest[policy]
        print(f"  {label:<30} {n:4d} agents  ({(n - erlang_c) / erlang_c:+.1%} vs "
              f"Erlang-C bound, {(n - pooled_a) / pooled_a:+.1%} vs Erlang-A bound)")
    print(f"  {'Erlang-C pooled bound':<30} {erlang_c:4d} agents  (M/M/c, call-weighted "
          f"target {weighted:.1%} in 20 s, nobody abandons)")
    print(f"  {'Erlang-A pooled bound':<30} {pooled_a:4d} agents  (M/M/c+M with the same "
          f"patience: SL >= {weighted:.1%}, abandon <= {weighted_abandon:.2%})")
    erlang_a = erlang_a_figures(common, args.calls_per_hour, args.aht, 20.0, args.patience)
    print(f"  (Erlang A at {common} agents, pooled FIFO: SL {erlang_a.service_level:.1%}, "
          f"ASA {erlang_a.asa:.1f} s, abandon {erlang_a.abandon_rate:.2%})")
    print(f"\n{len(cache)} simulations in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
