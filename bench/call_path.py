"""The call path through ctid: agent ready -> Redirect latency, and the calls/s one ctid sustains.

Run: ``.venv/bin/python bench/call_path.py [--samples 200] [--rates 5 10 20 ...]`` (about 2-3 min)

ctid is built by ``cti.app.build`` on a SQLite database in a temporary directory (agents with
every skill, customers of every tier), with the asyncio reactor as ``ctid`` runs it. The PBX
simulator (our own ``dialplan/``) runs in a second process (``bench/_pbxsim_host.py``), so the
CPU this process uses is ctid's (plus this driver's few hooks). Both talk over loopback TCP:
AMI (MD5 login, the ``eventfilter`` of ``asterisk_conf/manager.conf``) and FastAGI.

(a) **Agent ready -> Redirect.** One agent, callers already waiting in ``cti-wait``. The agent
is made ready (``AgentService.unpause``: "I'm done wrapping up", ``--gap`` after each call ends)
and three instants are taken: the offer's first AMI action leaving ctid and the ``Redirect``
leaving ctid (both just after ctid's AMI wire ``send`` handed the encoded action to the socket
transport: in-process decision + encode + write), and the ``Redirect`` taken off the wire by the
simulator's AMI server (its ``on_action`` hook; ``CLOCK_MONOTONIC`` is shared by both
processes). The last two can cross by a fraction of a millisecond: the simulator may read the
bytes before this process is back from the write. ctid sends ``Setvar CTI_TARGET``, ``Setvar
CTI_AGENT`` and the ``Redirect``, each after the previous response, so the Redirect pays two AMI
round trips; the first-action row is the decision alone. Beside it, labelled as such, the
reference figures of Asterisk's app_queue measured on a real Asterisk 22 (not by this run).

(b) **Sustained calls/s.** All agents logged in; agent phones ring 0.1 s and talk 1 s (±50 %);
wrap-up 0.5 s. Poisson arrivals at rising rates, each for ``--step-seconds``, then the step
drains (arrivals stop until every call placed has ended); the ramp stops at the first step
that fails. A step passes when every call placed was answered and the p99 ACD wait
(``answered_at - arrival`` as ctid records it, ring time included) stayed under ``--max-wait``.
Per step: ctid's CPU ms per call (this process, ``getrusage`` over arrivals and drain, database
thread pool included; the reactor thread's share by ``time.thread_time``) and the simulator's,
AMI events/s ctid read, and the ready->Redirect / enqueue->Redirect latencies under that load.

Printed: tables; nothing is written outside the temporary directory. Not a test.
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from bench._ctid_harness import SimProcess, WireProbe, make_config, seed  # noqa: E402
from bench._pbxsim_host import caller_numbers  # noqa: E402
from bench._stats import percentiles, print_table  # noqa: E402

SECRET = "bench-secret"
WRAP_UP = 0.5
# Measured on a real Asterisk 22 box (2 cores), see the architecture document; not by this run.
APP_QUEUE_REFERENCE = ("app_queue re-check, real Asterisk 22 (reference, NOT this run)",
                       "-", 500.0, None, 995.0, None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def pct_row(label: str, seconds: list[float]) -> list[object]:
    p = percentiles([v * 1000.0 for v in seconds], (50, 90, 99, 100))
    return [label, len(seconds), p["p50"], p["p90"], p["p99"], p["p100"]]


def sleep(reactor, seconds: float):
    from twisted.internet import task
    return task.deferLater(reactor, seconds, lambda: None)


class ReadyToRedirect:
    """(a): one agent made ready again and again while callers wait; times its Redirect."""

    def __init__(self, reactor, daemon, sim, agent_id: str, samples: int, seed_value: int,
                 gap: tuple[float, float]):
        from twisted.internet import defer
        self.reactor, self.daemon, self.sim = reactor, daemon, sim
        self.agent_id, self.samples, self.gap = agent_id, samples, gap
        self.rng = random.Random(seed_value)
        self.rows: list[tuple[float, float, float, str]] = []   # t0, first action, Redirect, id
        self.not_offered = 0
        self.done = defer.Deferred()
        self._t0: float | None = None
        self._first: float | None = None

    # AgentObserver
    def agent_changed(self, agent, event) -> None:
        from cti.domain.agent_state import AgentEvent
        if agent.agent_id != self.agent_id or self.done.called:
            return
        if event is AgentEvent.ANSWER:
            self.sim.request(cmd="place", n=1)             # keep the line of callers full
        elif event in (AgentEvent.HANGUP, AgentEvent.NO_ANSWER):
            self.reactor.callLater(self.rng.uniform(*self.gap), self.make_ready)

    def make_ready(self) -> None:
        from cti.domain.agent_state import AgentState
        if len(self.rows) >= self.samples:
            if not self.done.called:
                self.done.callback(None)
            return
        self._t0, self._first = time.monotonic(), None
        agent = self.daemon.agents.unpause(self.agent_id)
        if agent.state is AgentState.READY:          # nobody was waiting: not a sample
            self._t0 = None
            self.not_offered += 1

    # WireProbe
    def on_action(self, message, mono: float, _wall: float) -> None:
        if self._t0 is None:
            return
        if self._first is None:
            self._first = mono
        if message.get("Action") == "Redirect":
            self.rows.append((self._t0, self._first, mono, message.get("ActionID") or ""))
            self._t0 = None


class LoadProbe:
    """(b): waits, and ready->Redirect / enqueue->Redirect latencies, under Poisson load."""

    def __init__(self, daemon, wire: WireProbe):
        self.daemon, self.wire = daemon, wire
        self._enqueued: dict[str, float] = {}
        self.reset()
        self.rona = 0

    def reset(self) -> None:
        self.waits: list[float] = []
        self.ready_latency: list[float] = []
        self.enqueue_latency: list[float] = []

    # CallObserver (subscribed after the ACD: the enqueue instant is when its bytes arrived)
    def call_changed(self, change) -> None:
        from cti.domain.call_state import CallEvent
        call = change.call
        if change.kind is CallEvent.ENQUEUE:
            self._enqueued.setdefault(call.call_id, self.wire.last_read_wall)
        elif change.kind is CallEvent.ANSWER and call.answered_at is not None:
            self.waits.append(call.answered_at - call.arrival)
        elif change.kind is CallEvent.NO_ANSWER:
            self.rona += 1
        elif change.kind is CallEvent.HANGUP:
            self._enqueued.pop(call.call_id, None)

    def on_action(self, message, _mono: float, wall: float) -> None:
        if message.get("Action") != "Redirect":
            return
        call = self.daemon.tracker.by_channel(message.get("Channel") or "")
        enqueued = self._enqueued.get(call.call_id) if call else None
        agent = self.daemon.agents.find(call.agent_id or "") if call else None
        if enqueued is None or agent is None or call.offers != 1:
            return
        if agent.idle_since > enqueued:          # the caller waited; the agent came free
            self.ready_latency.append(wall - agent.idle_since)
        else:                                    # the agent waited; the caller came
            self.enqueue_latency.append(wall - enqueued)


async def wait_until(reactor, condition, timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await sleep(reactor, step)
    return True


async def part_a(reactor, daemon, sim, wire: WireProbe, args) -> None:
    from cti.domain.call_state import CallState
    agent_id = "1001"
    await sim.request(cmd="phones", ring=0.02, talk=0.05, jitter=0.5)
    daemon.agents.login(agent_id)
    daemon.agents.pause(agent_id, "bench")
    probe = ReadyToRedirect(reactor, daemon, sim, agent_id, args.samples, args.seed,
                            tuple(args.gap))
    daemon.agents.subscribe(probe)
    wire.on_action = probe.on_action
    await sim.request(cmd="place", n=args.waiting)
    queued = lambda: sum(c.state is CallState.QUEUED for c in daemon.tracker.calls())  # noqa: E731
    if not await wait_until(reactor, lambda: queued() >= args.waiting, 15.0):
        raise RuntimeError(f"only {queued()} of {args.waiting} callers reached the queue")
    started = time.monotonic()
    probe.make_ready()
    await probe.done
    elapsed = time.monotonic() - started
    arrivals = dict((await sim.request(cmd="stats"))["redirects"])
    decided = [first - t0 for t0, first, _, _ in probe.rows]
    sent = [out - t0 for t0, _, out, _ in probe.rows]
    received = [arrivals[aid] - t0 for t0, _, _, aid in probe.rows if aid in arrivals]
    print(f"\n(a) agent ready -> Redirect, {len(probe.rows)} samples in {elapsed:.1f} s "
          f"(one agent, {args.waiting} callers kept waiting, ready again {args.gap[0]:g}-"
          f"{args.gap[1]:g} s after each call ends, simulator in its own process; "
          f"{probe.not_offered} unpauses found nobody waiting)")
    print_table(["ms after AgentService.unpause()", "n", "p50", "p90", "p99", "max"], [
        pct_row("first action (Setvar) leaves ctid", decided),
        pct_row("Redirect leaves ctid (wire write)", sent),
        pct_row("Redirect reaches the simulator (on_action)", received),
        list(APP_QUEUE_REFERENCE),
    ])
    print("    reference row: Asterisk's app_queue re-checks a waiting caller once a second when a "
          "member frees up;\n    figures measured on a real Asterisk 22 box (architecture "
          "document), not by this run.")
    wire.on_action = lambda *_: None


async def part_b(reactor, daemon, sim, wire: WireProbe, args) -> None:
    await sim.request(cmd="phones", ring=0.1, talk=1.0, jitter=0.5)
    for agent in daemon.agents.all():
        if agent.state.value == "logged-out":
            daemon.agents.login(agent.agent_id)
        elif agent.state.value in ("not-ready", "after-call-work"):
            daemon.agents.unpause(agent.agent_id)
    probe = LoadProbe(daemon, wire)
    daemon.tracker.subscribe(probe)
    wire.on_action = probe.on_action

    async def live() -> int:
        s = await sim.request(cmd="stats")
        return s["placed"] - s["ended"]

    await sleep(reactor, 0.5)
    deadline = time.monotonic() + 15
    while await live() and time.monotonic() < deadline:      # (a)'s callers: served, gone
        await sleep(reactor, 0.25)
    rows, latency_rows, best = [], [], None
    for rate in args.rates:
        probe.reset()
        s0, cpu0, events0 = await sim.request(cmd="stats"), cpu_seconds(), wire.events
        loop0 = time.thread_time()                   # this is the reactor thread
        start = time.monotonic()
        await sim.request(cmd="rate", per_s=rate)
        await sleep(reactor, args.step_seconds)
        await sim.request(cmd="rate", per_s=0)
        arrivals = time.monotonic() - start
        events_arrivals = wire.events - events0
        deadline = time.monotonic() + args.drain_seconds
        while True:
            s1 = await sim.request(cmd="stats")
            if s1["placed"] == s1["ended"] or time.monotonic() > deadline:
                break
            await sleep(reactor, 0.25)
        await wait_until(reactor, lambda: daemon.outbox.backlog == 0, 5.0)
        cpu, total = cpu_seconds() - cpu0, time.monotonic() - start
        loop_cpu = time.thread_time() - loop0
        placed = s1["placed"] - s0["placed"]
        answered = s1["connected"] - s0["connected"]
        waits = percentiles([w * 1000 for w in probe.waits], (50, 99, 100))
        expected = rate * args.step_seconds
        kept_up = placed >= expected - 3 * expected ** 0.5     # Poisson: 3 sigma short at most
        ok_answered = answered == placed and s1["placed"] == s1["ended"]
        ok_wait = waits["p99"] <= args.max_wait * 1000
        verdict = ("unanswered" if not ok_answered else
                   "wait p99 over bound" if not ok_wait else
                   f"sim behind ({100 * placed / expected:.0f} % placed)" if not kept_up else "ok")
        if verdict == "ok":
            best = (rate, placed / arrivals, cpu * 1000 / max(1, answered),
                    wire.events - events0)
        rows.append([f"{rate:g}", placed, answered, f"{placed / arrivals:.1f}", waits["p50"],
                     waits["p99"], waits["p100"], f"{cpu * 1000 / max(1, answered):.2f}",
                     f"{loop_cpu * 1000 / max(1, answered):.2f}",
                     f"{100 * cpu / total:.0f}",
                     f"{(s1['cpu'] - s0['cpu']) * 1000 / max(1, placed):.2f}",
                     f"{events_arrivals / arrivals:,.0f}",
                     f"{(wire.events - events0) / max(1, answered):.0f}/"
                     f"{(s1['events'] - s0['events']) / max(1, placed):.0f}", verdict])
        latency_rows.append((rate, probe.ready_latency, probe.enqueue_latency))
        if verdict != "ok":
            break
    print(f"\n(b) sustained calls through the simulator: {len(daemon.agents.all())} agents, "
          f"ring 0.1 s, talk 1 s (+-50 %), wrap-up {WRAP_UP} s; {args.step_seconds:g} s of "
          f"Poisson arrivals per step, then drained")
    print_table(["offered/s", "placed", "answered", "calls/s", "wait p50 ms", "p99", "max",
                 "ctid CPU ms/call", "in loop", "ctid CPU %", "sim CPU ms/call",
                 "AMI ev/s to ctid", "ev/call read/all", "verdict"], rows)
    print("    wait: ACD arrival -> answered as ctid records it (includes the 0.05-0.15 s ring); "
          "ctid CPU: this process over arrivals + drain,\n    'in loop' the reactor thread's "
          "share (the rest: database thread pool); sim CPU: the simulator process;\n    AMI ev/s: "
          "events ctid read (after manager.conf's eventfilter) during the arrivals; ev/call: "
          "read by ctid / emitted by the simulator")
    print("\n(b') Redirect latency under that load (ms)")
    lat = []
    for rate, ready, enq in latency_rows:
        lat.append(pct_row(f"{rate:g}/s  caller enqueued -> Redirect leaves (agent free)", enq))
        if ready:
            lat.append(pct_row(f"{rate:g}/s  agent ready -> Redirect leaves (caller waiting)",
                               ready))
    print_table(["offered load", "n", "p50", "p90", "p99", "max"], lat)
    if not any(ready for _, ready, _ in latency_rows):
        print("    (no agent came free while a caller waited: agents were never all busy)")
    if best:
        rate, achieved, ms_call, _ = best
        print(f"\nhighest step with every call answered, p99 wait <= {args.max_wait:g} s and the "
              f"simulator keeping up: {rate:g} calls/s offered ({achieved:.1f} placed/s); ctid CPU "
              f"{ms_call:.2f} ms/call (= {1000 / ms_call:,.0f} calls/s per core, CPU alone)")
    else:
        print("\nno step passed")
    states: dict[str, int] = {}
    for agent in daemon.agents.all():
        states[agent.state.value] = states.get(agent.state.value, 0) + 1
    print(f"agents at the end: {states}; no-answer (RONA) events seen: {probe.rona}; "
          f"load average {os.getloadavg()[0]:.1f} at the end")


async def bench(reactor, tmp: Path, args) -> None:
    from cti import app
    numbers = caller_numbers(args.numbers, args.seed)
    ami_port, agi_port = free_port(), free_port()
    config = make_config(tmp, ami_port=ami_port, secret=SECRET, wrap_up=WRAP_UP)
    config["fastagi"]["port"] = agi_port
    db = app.open_database(config, reactor)
    seed(db, args.agents, numbers, args.seed)
    db.engine.dispose()
    sim = SimProcess.spawn(reactor, ami_port=ami_port, agi_port=agi_port, secret=SECRET,
                           seats=args.agents, numbers=args.numbers, seed_value=args.seed)
    await sim.ready
    daemon = app.build(config, reactor)
    daemon.service.startService()
    try:
        await daemon.ami.when_ready(fail_after_failures=5)
        wire = WireProbe(daemon.ami, lambda *_: None)
        print(f"ctid (this process) + simulator (child process), loopback AMI and FastAGI; "
              f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start "
              f"(the machine is shared: other load shows in the tails)")
        await part_a(reactor, daemon, sim, wire, args)
        await part_b(reactor, daemon, sim, wire, args)
    finally:
        await daemon.service.stopService()
        try:
            await sim.request(cmd="quit")
        except Exception:  # the simulator is gone already: its stderr said why
            pass
        await sim.exited


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200, help="(a) ready->Redirect samples")
    parser.add_argument("--waiting", type=int, default=8, help="(a) callers kept waiting")
    parser.add_argument("--gap", type=float, nargs=2, default=[0.02, 0.08],
                        help="(a) seconds from a call's end to the agent's next ready (< wrap-up)")
    parser.add_argument("--agents", type=int, default=150)
    parser.add_argument("--rates", type=float, nargs="+", default=[5, 10, 20, 30, 40, 50, 60, 80])
    parser.add_argument("--step-seconds", type=float, default=8.0)
    parser.add_argument("--drain-seconds", type=float, default=15.0)
    parser.add_argument("--max-wait", type=float, default=2.0, help="(b) p99 wait bound, s")
    parser.add_argument("--numbers", type=int, default=4000, help="distinct caller numbers")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    from twisted.internet import asyncioreactor
    asyncioreactor.install()
    from twisted.internet import defer, task

    with tempfile.TemporaryDirectory(prefix="ctid-call-path-") as tmp:
        task.react(lambda reactor: defer.ensureDeferred(bench(reactor, Path(tmp), args)))


if __name__ == "__main__":
    main()
