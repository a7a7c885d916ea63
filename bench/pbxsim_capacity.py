"""The PBX simulator's capacity: calls per second it drives, channels it holds, what they cost.

Run: ``.venv/bin/python bench/pbxsim_capacity.py [--seconds 3] [--concurrency 50 200]
[--hold 1000 5000 10000]``  (about 1.5 minutes on 2 shared cores).

1. Throughput, on the real reactor (asyncio, as the daemon runs): a closed loop keeps
   ``--concurrency`` simulated callers (``PBX.place_call``) in flight through one of two
   dialplans, and a new caller replaces each one that hangs up:

   * ``simple``: ``Answer(), Wait(0.05), Hangup()``;
   * ``dial``: ``Answer(), Dial(PJSIP/<agent>,10), Hangup()`` to simulated phones that ring
     50 ms, answer and talk 50 ms (the agent hangs up, which ends the call).

   Each runs without and with one AMI client (the AMI server on a loopback port, a reader
   process logged in as ``cti`` reading every event). Over a window after a warm-up: calls
   completed per wall second, this process's CPU ms per call (not the reader's), CPU use, and
   1000 / CPU ms (what one saturated core would carry; with few calls in flight the loop, not
   the CPU, bounds the wall rate). Two loads, as every ``CallHandle`` listens to the whole
   event stream: a call costs more the more are alive. Timers and events per call come from
   one call on a counting ``Clock``. Beside them, bare ``reactor.callLater(0, ...)`` chains,
   as many timers per "call" as a simple call schedules: the reactor's own share.

2. Holding: N channels answered and parked in ``MusicOnHold`` (no timer of their own), each
   size in a fresh process so freed memory is not reused across sizes. Per item: setup CPU,
   RSS delta and tracemalloc delta (the latter in a second process, tracemalloc inflates RSS).
   Beside them, in the same processes: N bare ``reactor.callLater(3600, ...)`` timers and N
   empty objects. "callers (place_call)" are the same channels placed as simulated callers
   (each a ``CallHandle`` with a patience timer and a watcher on its own channel), at every
   size.

Not a test: it prints its figures. Wall-clock rates move with the load on a shared machine;
CPU per call is the steadier figure.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._stats import peak_rss_mb, print_table, rate  # noqa: E402

CAPTURES = ROOT / "tests" / "fixtures" / "asterisk-captures"
WAIT_S, RING_S, TALK_S = 0.05, 0.05, 0.05
DIALPLAN = f"""
[bench]
exten => simple,1,Answer()
 same => n,Wait({WAIT_S})
 same => n,Hangup()
exten => dial,1,Answer()
 same => n,Dial(PJSIP/${{AGENT}},10)
 same => n,Hangup()
exten => hold,1,Answer()
 same => n,MusicOnHold(default)
"""
AGENTS = 100


def _noop() -> None:
    pass


class Empty:
    """The smallest user-defined object: the baseline for "one thing per channel"."""


def build_pbx(reactor):
    from cti.pbxsim.dialplan import Dialplan
    from cti.pbxsim.engine import PBX
    from cti.pbxsim.engine.phones import Phones, PhoneScript

    phones = Phones.of({str(6000 + i): PhoneScript(ring_delay=RING_S, talk_time=TALK_S)
                        for i in range(AGENTS)})
    return PBX(Dialplan.from_text(DIALPLAN), reactor=reactor, phones=phones, seed=1)


def place(pbx, scenario: str, n: int):
    variables = {"AGENT": str(6000 + n % AGENTS)} if scenario == "dial" else None
    return pbx.place_call(f"1380000{n % 10000:04d}", "bench", scenario, variables=variables)


# -- one call on a counting clock: timers and events per call --------------------------------
def per_call_counts(scenario: str) -> tuple[int, int]:
    from twisted.internet.task import Clock

    class CountingClock(Clock):
        scheduled = 0

        def callLater(self, *args, **kwargs):  # noqa: N802 - Twisted's name
            self.scheduled += 1
            return super().callLater(*args, **kwargs)

    clock = CountingClock()
    pbx = build_pbx(clock)
    events: list = []
    pbx.subscribe(events.append)
    handle = place(pbx, scenario, 0)
    while not handle.ended.called:
        clock.advance(0.01)
    return clock.scheduled, len(events)


# -- throughput on the real reactor ----------------------------------------------------------
class ClosedLoop:
    """Keeps ``concurrency`` callers in flight; each one that ends is replaced by a new one."""

    def __init__(self, pbx, scenario: str, concurrency: int) -> None:
        from twisted.internet import defer
        self.pbx, self.scenario, self.concurrency = pbx, scenario, concurrency
        self.placed = self.completed = self.in_flight = 0
        self.running = False
        self.drained = defer.Deferred()

    def start(self) -> None:
        self.running = True
        for _ in range(self.concurrency):
            self._place()

    def stop(self):
        self.running = False
        if self.in_flight == 0 and not self.drained.called:
            self.drained.callback(None)
        return self.drained

    def _place(self) -> None:
        if not self.running:
            return
        handle = place(self.pbx, self.scenario, self.placed)
        self.placed += 1
        self.in_flight += 1
        handle.ended.addCallback(self._ended)

    def _ended(self, _handle) -> None:
        self.in_flight -= 1
        self.completed += 1
        if self.running:
            self.pbx.reactor.callLater(0, self._place)
        elif self.in_flight == 0 and not self.drained.called:
            self.drained.callback(None)


def _reader_protocol():
    from twisted.internet import defer, protocol

    class Reader(protocol.ProcessProtocol):
        def __init__(self) -> None:
            self.out = b""
            self.done = defer.Deferred()

        def outReceived(self, data: bytes) -> None:  # noqa: N802 - Twisted's name
            self.out += data

        def processEnded(self, reason) -> None:  # noqa: N802 - Twisted's name
            self.done.callback(json.loads(self.out or b"{}"))

    return Reader()


async def attach_ami_reader(reactor, pbx):
    """Listen on a loopback port, start the reader process, wait until it is logged in."""
    from twisted.internet import task
    from cti.pbxsim.ami import AMIServerFactory, load_manager_conf

    factory = AMIServerFactory(load_manager_conf(CAPTURES / "config" / "manager.conf"), pbx,
                               reactor)
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    reader = _reader_protocol()
    reactor.spawnProcess(reader, sys.executable,
                         [sys.executable, __file__, "--ami-reader", str(port.getHost().port)],
                         env=dict(os.environ))
    for _ in range(500):
        if any(p.session and p.session.authenticated for p in factory.sessions):
            return factory, port, reader
        await task.deferLater(reactor, 0.01, _noop)
    raise RuntimeError("the AMI reader did not log in")


async def throughput(reactor, scenario: str, with_ami: bool, seconds: float,
                     concurrency: int) -> dict:
    from twisted.internet import task

    pbx = build_pbx(reactor)
    ami = await attach_ami_reader(reactor, pbx) if with_ami else None
    loop = ClosedLoop(pbx, scenario, concurrency)
    loop.start()
    await task.deferLater(reactor, 0.5, _noop)                    # warm-up
    done0, cpu0, wall0 = loop.completed, time.process_time(), time.perf_counter()
    await task.deferLater(reactor, seconds, _noop)
    done1, cpu1, wall1 = loop.completed, time.process_time(), time.perf_counter()
    await loop.stop()
    received, dropped = {}, False
    if ami is not None:
        factory, port, reader = ami
        dropped = not factory.sessions          # the server let go of a client that lagged
        for session in list(factory.sessions):
            session.transport.loseConnection()
        received = await reader.done
        await port.stopListening()
        factory.close()
    calls, wall, cpu = done1 - done0, wall1 - wall0, cpu1 - cpu0
    return {"calls": calls, "calls/s": rate(calls, wall),
            "cpu_ms": cpu * 1e3 / calls if calls else float("nan"),
            "cpu_pct": 100.0 * cpu / wall,
            "ami_msgs": "dropped" if dropped else (
                received["messages"] / loop.completed if received else None),
            "ami_kb": "dropped" if dropped else (
                received["bytes"] / 1e3 / loop.completed if received else None)}


async def timer_chain(reactor, timers: int, chains: int) -> dict:
    """Bare ``callLater(0, ...)`` chains: the reactor's own cost per timer."""
    from twisted.internet import defer

    done = defer.Deferred()
    left = [timers]

    def tick() -> None:
        left[0] -= 1
        if left[0] > 0:
            reactor.callLater(0, tick)
        elif not done.called:
            done.callback(None)

    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(chains):
        reactor.callLater(0, tick)
    await done
    return {"timers": timers, "wall": time.perf_counter() - wall0,
            "cpu": time.process_time() - cpu0}


async def run_throughput(reactor, args) -> None:
    counts = {s: per_call_counts(s) for s in ("simple", "dial")}
    rows = []
    for scenario in ("simple", "dial"):
        timers, events = counts[scenario]
        for concurrency in args.concurrency:
            for with_ami in (False, True):
                r = await throughput(reactor, scenario, with_ami, args.seconds, concurrency)
                rows.append([f"{scenario}{' + AMI client' if with_ami else ''}", concurrency,
                             r["calls"], r["calls/s"], f"{r['cpu_ms']:.3f}",
                             f"{r['cpu_pct']:.0f}", 1e3 / r["cpu_ms"], timers, events,
                             r["ami_msgs"], r["ami_kb"]])
    per_call = counts["simple"][0]
    chain = await timer_chain(reactor, 200_000, min(args.concurrency))
    cpu_per_timer = chain["cpu"] / chain["timers"]
    rows.append([f"bare callLater(0) x {per_call}", min(args.concurrency),
                 chain["timers"] // per_call, rate(chain["timers"] / per_call, chain["wall"]),
                 f"{cpu_per_timer * per_call * 1e3:.3f}",
                 f"{100.0 * chain['cpu'] / chain['wall']:.0f}",
                 1.0 / (cpu_per_timer * per_call), per_call, None, None, None])
    print_table(["calls (closed loop)", "in flight", "calls", "calls/s", "CPU ms/call", "CPU %",
                 "calls/s/core", "timers/call", "events/call", "AMI msgs/call", "AMI KB/call"],
                rows, title=f"1. Calls through the simulator on the real asyncio reactor "
                            f"({args.seconds:g} s window each)")
    print(f"   calls/s/core = 1000 / CPU ms per call: the rate one saturated core would carry.\n"
          f"   \"dropped\": the AMI server dropped the reader (output backlog over 4 MB) during "
          f"the run;\n   CPU per call is then partly without a client.\n"
          f"   bare timer: {cpu_per_timer * 1e6:.2f} us CPU each; the bare row runs "
          f"{per_call} of them per \"call\", as a simple call schedules.")


# -- holding channels (one fresh process per size and memory mode) --------------------------
def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def hold_child(n: int, traced: bool, callers: bool) -> dict:
    """Runs in its own process: timers, objects, then n held channels; prints the deltas."""
    from twisted.internet import asyncioreactor
    asyncioreactor.install()
    import tracemalloc
    from twisted.internet import defer, reactor

    if traced:
        tracemalloc.start()

    def memory() -> int:
        gc.collect()
        return tracemalloc.get_traced_memory()[0] if traced else _rss_bytes()

    pbx = build_pbx(reactor)
    keep: dict[str, object] = {}
    out: dict[str, list[float]] = {}

    def measure(name: str, make) -> None:
        m0, c0 = memory(), time.process_time()
        keep[name] = make()
        c1 = time.process_time()
        out[name] = [(c1 - c0) * 1e6 / n, (memory() - m0) / n]

    async def held() -> None:
        from cti.pbxsim.engine.channel import ChannelState

        on_hold = defer.Deferred()
        count = [0]

        def on_event(message) -> None:
            if message.name == "MusicOnHoldStart":
                count[0] += 1
                if count[0] == n:
                    on_hold.callback(None)
        pbx.subscribe(on_event)
        m0, c0 = memory(), time.process_time()
        for i in range(n):
            if callers:
                pbx.place_call(f"139{i:08d}", "bench", "hold", patience=3600.0)
            else:
                name = f"PJSIP/trunk-{pbx.next_channel_seq('PJSIP'):08x}"
                pbx.start_pbx(pbx.new_channel("PJSIP", name, "bench", "hold", ChannelState.RING))
        await on_hold
        c1 = time.process_time()
        assert len(pbx.channels()) == n
        out["held"] = [(c1 - c0) * 1e6 / n, (memory() - m0) / n]

    async def main() -> None:
        if not callers:
            measure("timers", lambda: [reactor.callLater(3600, _noop) for _ in range(n)])
            measure("objects", lambda: [Empty() for _ in range(n)])
        await held()

    def run() -> None:
        d = defer.ensureDeferred(main())
        d.addErrback(lambda f: out.setdefault("error", [f.getErrorMessage()]))
        d.addBoth(lambda _: reactor.stop())
    reactor.callWhenRunning(run)
    reactor.run()
    return out


def _child(n: int, traced: bool, callers: bool) -> dict:
    argv = [sys.executable, __file__, "--hold-child", str(n)]
    argv += ["--traced"] if traced else []
    argv += ["--callers"] if callers else []
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if "error" in result:
        raise RuntimeError(f"hold {n}: {result['error'][0]}")
    return result


def run_holding(sizes: list[int]) -> None:
    rows = []
    for n in sizes:
        rss, traced = _child(n, False, False), _child(n, True, False)
        rows.append(["callLater(3600) timers", n, *rss["timers"], traced["timers"][1]])
        rows.append(["empty objects", n, *rss["objects"], traced["objects"][1]])
        rows.append(["channels in MusicOnHold", n, *rss["held"], traced["held"][1]])
    for n in sizes:
        rss, traced = _child(n, False, True), _child(n, True, True)
        rows.append(["callers in MusicOnHold (place_call)", n, *rss["held"], traced["held"][1]])
    print_table(["held (fresh process per size)", "N", "setup us/item", "RSS B/item",
                 "traced B/item"], rows,
                title="2. Concurrent channels held, with the raw baseline beside them")
    print("   simulated callers also carry a patience timer and a per-channel watcher "
          "(PBX.watch),\n   so each event costs one dict look-up however many callers are alive.")


# -- the AMI reader process --------------------------------------------------------------------
def ami_reader(port: int) -> None:
    """Log in as ``cti`` and read every byte until the server closes; print what came."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"Action: Login\r\nUsername: cti\r\nSecret: cti\r\n\r\n")
    total = messages = 0
    tail = b""
    while True:
        try:
            chunk = sock.recv(1 << 18)
        except ConnectionResetError:        # dropped by the server for lagging behind
            break
        if not chunk:
            break
        total += len(chunk)
        messages += (tail + chunk).count(b"\r\n\r\n")
        tail = chunk[-3:]
    print(json.dumps({"bytes": total, "messages": messages}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="measured window per run")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[50, 200],
                        help="callers in flight")
    parser.add_argument("--hold", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--ami-reader", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--hold-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--callers", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ami_reader:
        return ami_reader(args.ami_reader)
    if args.hold_child:
        return print(json.dumps(hold_child(args.hold_child, args.traced, args.callers)))

    started = time.perf_counter()
    sys.stdout.reconfigure(line_buffering=True)     # tables and the server's log lines in order
    from twisted.internet import asyncioreactor
    asyncioreactor.install()
    from twisted.internet import defer, task

    async def throughput_then_totals(reactor) -> None:
        await run_throughput(reactor, args)
        print()
        run_holding(args.hold)          # child processes; nothing else runs on this reactor
        print(f"\nwhole run {time.perf_counter() - started:.0f} s; peak RSS of this process "
              f"{peak_rss_mb():.1f} MB")
    task.react(lambda reactor: defer.ensureDeferred(throughput_then_totals(reactor)))


if __name__ == "__main__":
    main()
