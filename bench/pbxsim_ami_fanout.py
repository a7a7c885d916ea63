"""How many events per second the simulator's AMI server fans out, and what one costs.

Run: ``.venv/bin/python bench/pbxsim_ami_fanout.py [--events 20000] [--sessions 1 5 20]``

The events are the ones a real Asterisk 22 sent during one FastAGI-routed call
(``ami-agi-route-call`` in ``tests/fixtures/asterisk-captures``), repeated. They are published
through ``AMIServerFactory.broadcast`` (what the engine's subscription calls) to N logged-in
sessions over ``StringTransport`` (no sockets: this measures the server, not the kernel).
Half of the sessions log in as ``cti`` (everything), half as ``cti_filtered``
(``!Event: VarSet``, ``!Event: Newexten``), so filter matching is paid as in production.

Printed: events/s through the fan-out, the per-event cost percentiles (one broadcast to all
sessions, timed in batches of 100), bytes written per second, and peak RSS. Not a test.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from twisted.internet.address import IPv4Address  # noqa: E402
from twisted.internet.task import Clock  # noqa: E402
from twisted.internet.testing import StringTransport  # noqa: E402

from bench._stats import peak_rss_mb, percentiles, print_table, rate  # noqa: E402
from cti.pbxsim.ami import AMIServerFactory, load_manager_conf  # noqa: E402
from cti.protocol.ami import AMIParser, Banner  # noqa: E402

CAPTURES = ROOT / "tests" / "fixtures" / "asterisk-captures"


class _DiscardingTransport(StringTransport):
    """Counts bytes instead of keeping them, so a long run measures the server only."""

    written = 0

    def write(self, data: bytes) -> None:
        self.written += len(data)


def _call_events() -> list:
    parser = AMIParser(expect_banner=True)
    items = parser.feed((CAPTURES / "ami-agi-route-call.server.txt").read_bytes())
    return [m for m in items if not isinstance(m, Banner) and m.kind == "event"
            and m.name not in ("FullyBooted", "SuccessfulAuth")]


def run(events: int, sessions: int) -> dict[str, object]:
    clock = Clock()
    factory = AMIServerFactory(load_manager_conf(CAPTURES / "config" / "manager.conf"),
                               clock=clock)
    transports = []
    for n in range(sessions):
        transport = _DiscardingTransport(
            hostAddress=IPv4Address("TCP", "127.0.0.1", 5038),
            peerAddress=IPv4Address("TCP", "127.0.0.1", 40000 + n))
        proto = factory.buildProtocol(transport.getPeer())
        proto.makeConnection(transport)
        user = "cti" if n % 2 == 0 else "cti_filtered"
        proto.dataReceived(f"Action: Login\r\nUsername: {user}\r\nSecret: {user}\r\n\r\n".encode())
        transports.append(transport)
    base = sum(t.written for t in transports)
    call = _call_events()
    stream = [call[i % len(call)] for i in range(events)]
    batch_costs = []
    start = time.perf_counter()
    for i in range(0, len(stream), 100):
        t0 = time.perf_counter()
        for event in stream[i:i + 100]:
            factory.broadcast(event)
        batch_costs.append((time.perf_counter() - t0) / len(stream[i:i + 100]))
    elapsed = time.perf_counter() - start
    written = sum(t.written for t in transports) - base
    pct = percentiles([c * 1e6 for c in batch_costs], (50, 99, 100))
    return {"sessions": sessions, "events": events,
            "events/s": f"{rate(events, elapsed):,.0f}",
            "us/event p50": f"{pct['p50']:.1f}", "p99": f"{pct['p99']:.1f}",
            "max": f"{pct['p100']:.1f}",
            "MB/s out": f"{written / elapsed / 1e6:.1f}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 5, 20])
    args = parser.parse_args()
    rows = [run(args.events, n) for n in args.sessions]
    print_table(list(rows[0]), [list(r.values()) for r in rows])
    print(f"peak RSS: {peak_rss_mb():.1f} MB")


if __name__ == "__main__":
    main()
