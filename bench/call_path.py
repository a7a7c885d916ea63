"""The call path through ctid: CPU per call by component, latency and calls/s, against a baseline.

Run: ``.venv/bin/python bench/call_path.py [--baseline REV] [--rounds 3] [--rates 20]``
(about 1 min per build and round; ``--baseline none`` measures this tree alone)

The same load runs twice in one go: once against ctid as it is at ``--baseline`` (default
``HEAD~1``, checked out with ``git archive`` into a temporary directory) and once against this
working tree (``--rounds`` times each, alternated, so the load of a shared machine falls on
both; each build's round of median CPU per call is the one shown); the figures are printed
side by side. Each run is a child process holding ctid
(``cti.app.build`` on a SQLite database in a temporary directory, agents with every skill,
customers of every tier, the asyncio reactor, logging at ``--log-level`` into a file as
``ctid`` writes it). The PBX simulator (this tree's ``cti/pbxsim``, so both runs get the same
event stream) runs in a process of its own (``bench/_pbxsim_host.py``) with the ``dialplan/``
and ``asterisk_conf/manager.conf`` (its ``eventfilter``) of the ctid under test. They talk over
loopback TCP: AMI (MD5 login) and FastAGI.

(a) **Agent ready -> Redirect.** One agent, callers already waiting in ``cti-wait``. The agent
is made ready (``AgentService.unpause``, ``--gap`` after each call ends) and three instants are
taken: the offer's first AMI action leaving ctid, the ``Redirect`` leaving ctid (just after
ctid's AMI wire ``send`` handed the bytes to the transport), and the ``Redirect`` taken off the
wire by the simulator (``CLOCK_MONOTONIC`` is shared by both processes).

(b) **Sustained calls.** All agents logged in; phones ring 0.1 s and talk 1 s (+-50 %);
wrap-up 0.5 s. Poisson arrivals at each of ``--rates`` for ``--step-seconds``, then the step
drains. Per step: ctid's CPU ms per call (``getrusage`` of ctid's process over arrivals and
drain, database thread pool included; the reactor thread's share by ``time.thread_time``) and
the simulator's, AMI events read, waits and Redirect latencies.

(c) **Where the CPU goes.** One more step at the first rate with ``cProfile`` on the reactor
thread and on every database unit of work (``bench/_cpu_split.py``): each function's time
less the profiler's overhead per call (measured: that step's CPU less (b)'s, over the calls
counted), the shares per component (parse, AMI client, tracker, ACD, AGI, storage, logging,
other ctid, reactor and I/O) applied to the CPU per call measured in (b) without it.

(d) **The event stream.** AMI events per call by name: what the simulator emitted, what ctid
read after the ``eventfilter``, and a call captured from a real Asterisk 22
(``tests/fixtures/asterisk-captures/ami-redirect-flow.server.txt``) before and after the same
filter, with the estimate of ctid's CPU per call against Asterisk's on the real rig.

Printed: tables; nothing is written outside the temporary directory. Not a test.
"""
from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _tree_from_argv() -> Path:
    """The ctid tree a child run measures (``--tree``): it must come first on ``sys.path``."""
    if "--tree" in sys.argv[:-1]:
        return Path(sys.argv[sys.argv.index("--tree") + 1]).resolve()
    return ROOT


TREE = _tree_from_argv()
sys.path.insert(0, str(ROOT))
if TREE != ROOT:
    sys.path.insert(0, str(TREE))   # its cti/ wins; bench/ (not in the archive) is this tree's

from bench._stats import percentiles, print_table  # noqa: E402

SECRET = "bench-secret"
WRAP_UP = 0.5
CAPTURE = ROOT / "tests" / "fixtures" / "asterisk-captures" / "ami-redirect-flow.server.txt"
# Measured on the real rig (issue 7): ctid's and Asterisk's CPU per call at 20 calls/s.
REAL_RIG = {"asterisk_ms": 50.9, "ctid_ms": 19.0, "target_ratio": 0.25}
# Measured on a real Asterisk 22 box (2 cores), see the architecture document; not by this run.
APP_QUEUE_REFERENCE = ("app_queue re-check, real Asterisk 22 (reference)", 500.0, 995.0)
# Events of the login, not of a call
SESSION_EVENTS = {"FullyBooted", "SuccessfulAuth"}


class GCClock:
    """CPU time the cyclic garbage collector took, from ``gc.callbacks``."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, _info: dict) -> None:
        if phase == "start":
            self._started = time.thread_time()
        else:
            self.seconds += time.thread_time() - self._started


GC_CLOCK = GCClock()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def pcts(seconds: list[float]) -> dict:
    p = percentiles([v * 1000.0 for v in seconds], (50, 90, 99, 100))
    return {"n": len(seconds), **{k: (None if v != v else v) for k, v in p.items()}}


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

    def __init__(self, daemon, wire):
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




# -- one run (a child process): ctid of --tree under the load --------------------------------

async def part_a(reactor, daemon, sim, wire, args) -> dict:
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
    probe.make_ready()
    await probe.done
    arrivals = dict((await sim.request(cmd="stats"))["redirects"])
    wire.on_action = lambda *_: None
    return {
        "first action leaves ctid": pcts([first - t0 for t0, first, _, _ in probe.rows]),
        "Redirect leaves ctid": pcts([out - t0 for t0, _, out, _ in probe.rows]),
        "Redirect reaches the simulator": pcts([arrivals[aid] - t0 for t0, _, _, aid
                                                in probe.rows if aid in arrivals]),
    }


async def load_step(reactor, daemon, sim, wire, probe, rate: float, args) -> dict:
    """Poisson arrivals at ``rate`` for ``--step-seconds``, then drained; the step's figures."""
    probe.reset()
    s0, cpu0, events0 = await sim.request(cmd="stats"), cpu_seconds(), wire.events
    names0 = Counter(wire.by_name)
    loop0 = time.thread_time()                   # this is the reactor thread
    gc0 = GC_CLOCK.seconds
    start = time.monotonic()
    await sim.request(cmd="rate", per_s=rate)
    await sleep(reactor, args.step_seconds)
    await sim.request(cmd="rate", per_s=0)
    arrivals = time.monotonic() - start
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
    per_call = max(1, answered)
    read_names = Counter(wire.by_name)
    read_names.subtract(names0)
    all_names = Counter(s1["by_name"])
    all_names.subtract(Counter(s0["by_name"]))
    return {
        "rate": rate, "placed": placed, "answered": answered, "calls_s": placed / arrivals,
        "wait": waits, "cpu_ms": cpu * 1000 / per_call, "loop_ms": loop_cpu * 1000 / per_call,
        "cpu_pct": 100 * cpu / total, "gc_ms": (GC_CLOCK.seconds - gc0) * 1000 / per_call, "sim_ms": (s1["cpu"] - s0["cpu"]) * 1000 / max(1, placed),
        "events_s": (wire.events - events0) / total,
        "read_per_call": (wire.events - events0) / per_call,
        "all_per_call": (s1["events"] - s0["events"]) / max(1, placed),
        "read_by_name": {k: v / per_call for k, v in read_names.items() if v},
        "all_by_name": {k: v / max(1, placed) for k, v in all_names.items() if v},
        "enqueue_to_redirect": pcts(probe.enqueue_latency),
        "ready_to_redirect": pcts(probe.ready_latency),
        "verdict": verdict,
    }


async def part_b(reactor, daemon, sim, wire, args, profile) -> tuple[list[dict], dict]:
    from bench._cpu_split import calls_counted, split, top_functions
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
    steps = []
    for rate in args.rates:
        steps.append(await load_step(reactor, daemon, sim, wire, probe, rate, args))
        if steps[-1]["verdict"] != "ok":
            break
    profile.start()
    profiled = await load_step(reactor, daemon, sim, wire, probe, args.rates[0], args)
    profile.stop()
    stats = profile.stats()
    if args.dump_profile:
        stats.dump_stats(f"{args.dump_profile}.{'base' if TREE != ROOT else 'tree'}.pstats")
    measured = steps[0]["cpu_ms"]
    calls = calls_counted(stats)
    answered = max(1, profiled["answered"])
    bias = max(0.0, (profiled["cpu_ms"] - measured) / 1000 * answered / max(1, calls))
    seconds = split(stats, bias)
    counted = sum(seconds.values()) or 1.0
    return steps, {
        "rate": args.rates[0], "measured_ms": measured, "profiled_ms": profiled["cpu_ms"],
        "bias_us": bias * 1e6, "calls_per_call": calls / answered,
        "ms": {name: measured * s / counted for name, s in seconds.items()},
        "top": [(t * 1000 / answered, n / answered, f)
                for t, n, f in top_functions(stats, args.top, bias)],
    }


async def run_tree(reactor, tmp: Path, args) -> dict:
    from bench._cpu_split import CallPathProfile
    from bench._ctid_harness import SimProcess, WireProbe, make_config, seed
    from bench._pbxsim_host import caller_numbers
    from cti import app
    logging.basicConfig(level=args.log_level.upper(), filename=str(tmp / "ctid.log"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    numbers = caller_numbers(args.numbers, args.seed)
    ami_port, agi_port = free_port(), free_port()
    config = make_config(tmp, ami_port=ami_port, secret=SECRET, wrap_up=WRAP_UP,
                         log_level=args.log_level)
    config["fastagi"]["port"] = agi_port
    db = app.open_database(config, reactor)
    seed(db, args.agents, numbers, args.seed)
    db.engine.dispose()
    sim = SimProcess.spawn(reactor, ami_port=ami_port, agi_port=agi_port, secret=SECRET,
                           seats=args.agents, numbers=args.numbers, seed_value=args.seed,
                           manager_conf=TREE / "asterisk_conf" / "manager.conf",
                           dialplan=TREE / "dialplan" / "extensions_cti.conf")
    await sim.ready
    profile = CallPathProfile()
    profile.wrap_database()
    daemon = app.build(config, reactor)
    daemon.service.startService()
    try:                          # as cti.main does once started (a baseline may not have it)
        from cti import runtime
    except ImportError:
        pass
    else:
        runtime.settle_after_start()
    try:
        await daemon.ami.when_ready(fail_after_failures=5)
        wire = WireProbe(daemon.ami, lambda *_: None)
        a = await part_a(reactor, daemon, sim, wire, args)
        steps, cpu = await part_b(reactor, daemon, sim, wire, args, profile)
    finally:
        await daemon.service.stopService()
        try:
            await sim.request(cmd="quit")
        except Exception:  # the simulator is gone already: its stderr said why
            pass
        await sim.exited
    log_bytes = (tmp / "ctid.log").stat().st_size if (tmp / "ctid.log").exists() else 0
    if args.keep_log:
        shutil.copy(tmp / "ctid.log", f"{args.keep_log}.{'base' if TREE != ROOT else 'tree'}.log")
    return {"a": a, "steps": steps, "cpu": cpu, "log_bytes": log_bytes,
            "load": os.getloadavg()[0]}


def child(args) -> None:
    from twisted.internet import asyncioreactor
    asyncioreactor.install()
    from twisted.internet import defer, task
    result: dict = {}

    async def go(reactor):
        with tempfile.TemporaryDirectory(prefix="ctid-call-path-") as tmp:
            result.update(await run_tree(reactor, Path(tmp), args))

    try:
        task.react(lambda reactor: defer.ensureDeferred(go(reactor)))
    except SystemExit as exit_:
        if exit_.code:
            raise
    Path(args.out).write_text(json.dumps(result))


# -- the driver: both trees, side by side ----------------------------------------------------

def git(*argv: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *argv], check=True, capture_output=True,
                          text=True).stdout.strip()


def checkout(rev: str, into: Path) -> None:
    """ctid as it was at ``rev`` (its bench/ and tests/ left out: this tree's drive both)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True,
                             capture_output=True).stdout
    into.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(into), "--exclude=bench", "--exclude=tests"],
                   input=archive, check=True)


def run_child(tree: Path, label: str, out: Path, argv: list[str]) -> dict:
    print(f"running {label} ...", flush=True)
    started = time.monotonic()
    subprocess.run([sys.executable, str(Path(__file__).resolve()), "--tree", str(tree),
                    "--out", str(out), *argv], check=True)
    print(f"  {label}: {time.monotonic() - started:.0f} s", flush=True)
    return json.loads(out.read_text())


def capture_events(manager_conf: Path) -> tuple[Counter, Counter]:
    """Events of the captured real call by name, before and after ``manager_conf`` (its
    ``read`` classes and ``eventfilter``)."""
    from cti.pbxsim.ami import privileges
    from cti.pbxsim.ami.accounts import filters_pass, parse_manager_conf
    from cti.protocol.ami import AMIParser
    from cti.protocol.ami_message import Message
    text = manager_conf.read_text().replace("secret = change-me", "secret = x")
    accounts = parse_manager_conf("\n".join(line for line in text.splitlines()
                                            if not line.startswith("#tryinclude")))
    account = next(iter(accounts.accounts.values()))
    before, after = Counter(), Counter()
    for item in AMIParser(expect_banner=True).feed(CAPTURE.read_bytes()):
        if isinstance(item, Message) and item.kind == "event" and item.name not in SESSION_EVENTS:
            before[item.name] += 1
            category = privileges.event_category(item)
            if (account.read & category) == category and filters_pass(
                    account.eventfilters, item.encode().decode("utf-8")):
                after[item.name] += 1
    return before, after


def cell(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}"
    return str(v)


def report(runs: list[tuple[str, dict]], args) -> None:
    labels = [label for label, _ in runs]
    print(f"\nctid in a child process per build, simulator in its own process, loopback AMI and "
          f"FastAGI; {os.cpu_count()} cores, shared machine (load average at the end: "
          + ", ".join(f"{label} {r['load']:.1f}" for label, r in runs) + ")")

    print("\n(a) agent ready -> Redirect (ms after AgentService.unpause(); one agent, "
          f"{args.waiting} callers kept waiting)")
    rows = []
    for what in runs[0][1]["a"]:
        for label, r in runs:
            p = r["a"][what]
            rows.append([f"{what} [{label}]", p["n"], p["p50"], p["p90"], p["p99"], p["p100"]])
    rows.append([APP_QUEUE_REFERENCE[0], "-", APP_QUEUE_REFERENCE[1], None,
                 APP_QUEUE_REFERENCE[2], None])
    print_table(["", "n", "p50", "p90", "p99", "max"], rows)

    print(f"\n(b) sustained calls ({args.agents} agents, ring 0.1 s, talk 1 s +-50 %, wrap-up "
          f"{WRAP_UP} s; {args.step_seconds:g} s of Poisson arrivals per step, then drained)")
    rows = []
    for label, r in runs:
        for s in r["steps"]:
            rows.append([label, f"{s['rate']:g}", s["placed"], s["answered"], s["calls_s"],
                         s["wait"]["p50"], s["wait"]["p99"], s["cpu_ms"], s["loop_ms"],
                         s.get("gc_ms"),
                         s["cpu_pct"], s["sim_ms"], s["events_s"],
                         f"{s['read_per_call']:.0f}/{s['all_per_call']:.0f}",
                         s["enqueue_to_redirect"]["p50"], s["enqueue_to_redirect"]["p99"],
                         s["verdict"]])
    print_table(["build", "offered/s", "placed", "answered", "calls/s", "wait p50 ms", "p99",
                 "ctid CPU ms/call", "in loop", "of it GC", "ctid CPU %", "sim CPU ms/call", "AMI ev/s",
                 "ev/call read/all", "enq->Redirect p50", "p99", "verdict"], rows)
    print("    ctid CPU: its process over arrivals + drain, database thread pool included ('in "
          "loop': the reactor thread alone; GC: the cyclic garbage collector, any thread);\n    ev/call: AMI events ctid read after the "
          "eventfilter / events the simulator emitted; enq->Redirect: caller enqueued -> "
          "Redirect written, ms")

    if len(runs[0][1].get("rounds_ms", [])) > 1:
        print("    ctid CPU ms/call at the first rate, every round: " + "; ".join(
            f"{label} " + ", ".join(f"{v:.2f}" for v in r["rounds_ms"]) for label, r in runs)
            + " (the tables show each build's median round)")

    rate = runs[0][1]["cpu"]["rate"]
    print(f"\n(c) ctid CPU ms per call by component at {rate:g} calls/s (profile shares applied "
          "to the CPU measured in (b) without the profiler)")
    names = list(runs[0][1]["cpu"]["ms"])
    rows = []
    for name in names + ["total"]:
        values = [r["cpu"]["ms"].get(name, 0.0) if name != "total" else r["cpu"]["measured_ms"]
                  for _, r in runs]
        row = [name, *values]
        if len(values) == 2:
            row.append(values[1] - values[0])
        rows.append(row)
    print_table(["component", *labels] + (["change"] if len(runs) == 2 else []),
                [[row[0], *[cell(v) for v in row[1:]]] for row in rows])
    print("    CPU under the profiler: " + ", ".join(
        f"{label} {r['cpu']['profiled_ms']:.2f} ms/call ({r['cpu']['calls_per_call']:,.0f} "
        f"function calls/call, {r['cpu']['bias_us']:.2f} us each taken off)" for label, r in runs)
        + f"; log file: " + ", ".join(f"{label} {r['log_bytes'] / 1024:,.0f} KiB"
                                      for label, r in runs))
    for label, r in runs[-1:]:
        print(f"\n    most own time under the profiler, less its overhead [{label}], per call:")
        print_table(["ms/call", "calls/call", "function"],
                    [[f"{t:.3f}", f"{n:.1f}", f] for t, n, f in r["cpu"]["top"]])

    print("\n(d) AMI events per call, by name")
    sim = runs[-1][1]["steps"][0]
    before, after = capture_events(ROOT / "asterisk_conf" / "manager.conf")
    names = sorted(set(sim["all_by_name"]) | set(before),
                   key=lambda n: -(sim["all_by_name"].get(n, 0) + before.get(n, 0)))
    rows = [[n, sim["all_by_name"].get(n, 0.0), sim["read_by_name"].get(n, 0.0),
             before.get(n, 0), after.get(n, 0)] for n in names]
    rows.append(["total", sim["all_per_call"], sim["read_per_call"], sum(before.values()),
                 sum(after.values())])
    print_table(["event", "simulator emits", "ctid reads", "real call", "real, filtered"],
                [[r[0], *[cell(float(v)) for v in r[1:]]] for r in rows])
    print("    real call: ami-redirect-flow (Asterisk 22: FastAGI route, Redirect, Dial, answer, "
          "hang-up) with its caller and agent on Local channels,\n    so every channel event "
          "comes twice as often as on a trunk + PJSIP call; filtered: by this tree's "
          "manager.conf (read classes, eventfilter).\n    The simulator emits no "
          "DeviceStateChange (a real trunk + PJSIP call: ~4): a build that lets them through "
          "pays more for them on the real rig than here.")
    ours = runs[-1][1]["cpu"]["measured_ms"]
    scale = REAL_RIG["ctid_ms"] / runs[0][1]["cpu"]["measured_ms"] if len(runs) == 2 else None
    print(f"\nreal rig (issue 7): Asterisk {REAL_RIG['asterisk_ms']} ms/call, ctid "
          f"{REAL_RIG['ctid_ms']} ms/call ({REAL_RIG['ctid_ms'] / REAL_RIG['asterisk_ms']:.2f}x) "
          f"at 20 calls/s; target <= {REAL_RIG['target_ratio']}x = "
          f"{REAL_RIG['asterisk_ms'] * REAL_RIG['target_ratio']:.1f} ms/call.")
    if scale:
        estimate = ours * scale
        print(f"estimate for {labels[1]}: baseline's real-rig figure x ({ours:.2f} / "
              f"{runs[0][1]['cpu']['measured_ms']:.2f} measured here) = {estimate:.1f} ms/call "
              f"= {estimate / REAL_RIG['asterisk_ms']:.2f}x Asterisk. An estimate: it assumes "
              "the real event stream costs ctid what the simulator's does, relative to the "
              "baseline (see (d) for how the two streams differ).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="HEAD~1",
                        help="git revision to compare with ('none': this tree alone)")
    parser.add_argument("--samples", type=int, default=200, help="(a) ready->Redirect samples")
    parser.add_argument("--waiting", type=int, default=8, help="(a) callers kept waiting")
    parser.add_argument("--gap", type=float, nargs=2, default=[0.02, 0.08],
                        help="(a) seconds from a call's end to the agent's next ready (< wrap-up)")
    parser.add_argument("--agents", type=int, default=150)
    parser.add_argument("--rates", type=float, nargs="+", default=[20])
    parser.add_argument("--step-seconds", type=float, default=10.0)
    parser.add_argument("--drain-seconds", type=float, default=15.0)
    parser.add_argument("--max-wait", type=float, default=2.0, help="(b) p99 wait bound, s")
    parser.add_argument("--numbers", type=int, default=6000, help="distinct caller numbers")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--log-level", default="INFO", help="ctid's log level (default INFO)")
    parser.add_argument("--top", type=int, default=20, help="(c) functions listed")
    parser.add_argument("--dump-profile", metavar="PREFIX",
                        help="(c) also write each run's profile to PREFIX.{base,tree}.pstats")
    parser.add_argument("--keep-log", metavar="PREFIX",
                        help="copy each run's ctid log to PREFIX.{base,tree}.log")
    parser.add_argument("--rounds", type=int, default=1,
                        help="runs per build, alternated; the tables show each build's round "
                             "of median CPU per call")
    parser.add_argument("--tree", help=argparse.SUPPRESS)   # a child run: the ctid to measure
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args, _ = parser.parse_known_args()
    if args.tree:
        child(args)
        return
    argv = [a for a in sys.argv[1:]]
    for option in ("--baseline", "--rounds"):
        if option in argv:
            i = argv.index(option)
            del argv[i:i + 2]
    builds: list[tuple[str, Path]] = []
    rounds: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="ctid-call-path-") as tmp:
        if args.baseline.lower() != "none":
            rev = git("rev-parse", "--short", args.baseline)
            checkout(rev, Path(tmp) / "baseline")
            builds.append((f"base {rev}", Path(tmp) / "baseline"))
        builds.append((git("describe", "--always", "--dirty"), ROOT))
        for n in range(args.rounds):              # alternated: the machine's load hits both
            for label, tree in builds:
                out = Path(tmp) / f"run-{n}-{len(rounds.get(label, []))}.json"
                rounds.setdefault(label, []).append(
                    run_child(tree, f"{label} (round {n + 1} of {args.rounds})", out, argv))
        shutil.rmtree(Path(tmp) / "baseline", ignore_errors=True)
    runs = []
    for label, _ in builds:                       # each build's round of median CPU per call
        ordered = sorted(rounds[label], key=lambda r: r["cpu"]["measured_ms"])
        median = ordered[(len(ordered) - 1) // 2]
        median["rounds_ms"] = [r["cpu"]["measured_ms"] for r in rounds[label]]
        runs.append((label, median))
    report(runs, args)

if __name__ == "__main__":
    main()
