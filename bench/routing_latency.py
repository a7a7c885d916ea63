"""Routing decision time at contact-centre scale: 5,000 agents, 50 skills, 10,000 waiting calls.

Times the two decisions the ACD makes on the reactor thread, for the indexed ``Router`` and, in
the same run and from the same state, the full-scan ``ScanRouter`` (the naive baseline):

- "agent freed": ``agent_available`` for an agent back from a call, while 10,000 calls wait
  (it chooses the call, the service-level policy's way);
- "call arrived (queued)": ``call_arrived`` when no agent for it is free (the common case at
  load: find no agent, join the queue);
- "call arrived (matched)": ``call_arrived`` for a skill with free agents (choose the agent).

    python bench/routing_latency.py [--agents 5000] [--skills 50] [--calls 10000]
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cti.domain.routing import Agent, CallStatus, WaitingCall, make_router  # noqa: E402
from cti.domain.routing.reference import ScanRouter  # noqa: E402

TIERS = ("platinum", "diamond", "gold", "silver", "standard")
TIER_WEIGHTS = (0.015, 0.025, 0.045, 0.065, 0.85)
SPARE_SKILL = "spare"           # a skill no call waits for, with its own free agents


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def build(args: argparse.Namespace, rng: random.Random, clock: Clock):
    """Every agent on a call, ``args.calls`` callers waiting, a few spare agents free."""
    router = make_router("service-level", {"rings": [[0, 6], [20, 1]]}, clock)
    skills = [f"skill{n:02d}" for n in range(args.skills)]
    for n in range(args.agents):
        chosen = rng.sample(skills, 3)
        router.agent_logged_in(Agent(f"agent{n}", {s: rng.randint(1, 10) for s in chosen},
                                     "vip" if n % 10 == 0 else "general"))
    for n in range(args.agents):                       # one call per agent, answered
        skill = next(iter(router._agents[f"agent{n}"].agent.skills))
        offer = router.call_arrived(WaitingCall(f"busy{n}", "standard", skill, clock.now))
        if offer is not None:
            router.offer_answered(offer.call_id)
    for n in range(args.calls):
        tier = rng.choices(TIERS, TIER_WEIGHTS)[0]
        offer = router.call_arrived(WaitingCall(f"wait{n}", tier, rng.choice(skills),
                                                clock.now - rng.uniform(0, 150)))
        if offer is not None:                          # an agent was still free for it
            router.offer_answered(offer.call_id)
    for n in range(50):
        router.agent_logged_in(Agent(f"spare{n}", {SPARE_SKILL: rng.randint(6, 10)}))
    return router, skills


class Stopwatch:
    """Wall-clock and CPU time of one decision: on a shared machine the wall clock also
    counts the time the process waited for a core (preemption), the CPU time does not."""

    def __init__(self) -> None:
        self.wall: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}

    def time(self, name: str, action, *args):
        wall, cpu = time.perf_counter(), time.thread_time()
        result = action(*args)
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        self.wall.setdefault(name, []).append(wall)
        self.cpu.setdefault(name, []).append(cpu)
        return result


def measure(router, skills, rounds: int, rng: random.Random, clock: Clock) -> Stopwatch:
    watch = Stopwatch()
    connected = [c.call.id for c in router._calls.values() if c.status is CallStatus.CONNECTED]
    for n in range(rounds):
        clock.now += 0.02
        index = rng.randrange(len(connected))
        call_id = connected[index]
        agent_id = router._calls[call_id].agent_id
        router.call_ended(call_id, 120)
        offer = watch.time("agent freed", router.agent_available, agent_id)
        if offer is not None:
            router.offer_answered(offer.call_id)
            connected[index] = offer.call_id
        else:
            connected.pop(index)
        tier = rng.choices(TIERS, TIER_WEIGHTS)[0]
        call = WaitingCall(f"new{n}", tier, rng.choice(skills), clock.now)
        offer = watch.time("call arrived (queued)", router.call_arrived, call)
        if offer is not None:                     # a freed agent nobody waited for
            router.offer_answered(offer.call_id)
            connected.append(offer.call_id)
        call = WaitingCall(f"spare-call{n}", "standard", SPARE_SKILL, clock.now)
        offer = watch.time("call arrived (matched)", router.call_arrived, call)
        router.offer_answered(offer.call_id)
        router.call_ended(offer.call_id, 60)
        router.agent_available(offer.agent_id)
    return watch


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=5000)
    parser.add_argument("--skills", type=int, default=50)
    parser.add_argument("--calls", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=5000)
    parser.add_argument("--scan-rounds", type=int, default=150)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)
    clock = Clock()
    load = os.getloadavg()[0]
    started = time.perf_counter()
    router, skills = build(args, random.Random(args.seed), clock)
    built = time.perf_counter() - started
    scan = make_router("service-level", router.config, clock, router_class=ScanRouter)
    scan.restore(router.snapshot())                # the very same state, decided by scans
    print(f"{args.agents} agents ({args.agents // 10} dedicated VIP), {args.skills} skills "
          f"(3 per agent), {router.waiting_count} waiting calls, policy service-level; "
          f"state built in {built:.1f} s; load average {load:.2f} on {os.cpu_count()} cores")
    results = {
        "indexed": measure(router, skills, args.rounds, random.Random(args.seed + 1), clock),
        "full scan": measure(scan, skills, args.scan_rounds, random.Random(args.seed + 1),
                             clock),
    }
    print(f"\n{'decision':<24}{'router':<11}{'n':>6}{'wall p50':>10}{'wall p99':>10}"
          f"{'cpu p50':>10}{'cpu p99':>10}{'cpu max':>10}{'per s':>9}   (ms)")
    for decision in results["indexed"].wall:
        for name, watch in results.items():
            wall, cpu = watch.wall[decision], watch.cpu[decision]
            print(f"{decision:<24}{name:<11}{len(wall):>6}"
                  f"{percentile(wall, 0.5) * 1e3:>10.3f}{percentile(wall, 0.99) * 1e3:>10.3f}"
                  f"{percentile(cpu, 0.5) * 1e3:>10.3f}{percentile(cpu, 0.99) * 1e3:>10.3f}"
                  f"{max(cpu) * 1e3:>10.3f}{len(cpu) / sum(cpu):>9.0f}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nstill waiting: {router.waiting_count} (indexed), {scan.waiting_count} (scan); "
          f"peak RSS {rss:.0f} MB (both routers); total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
