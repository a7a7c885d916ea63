"""FastAGI session throughput: ctid's FastAGI server against a no-parsing baseline, on loopback.

A client process plays Asterisk's side of a short routing session (the ``agi_*`` environment of
the captured ``agi-session-route``, then the four commands of the ``probe`` route: GET VARIABLE,
GET FULL VARIABLE, SET VARIABLE, VERBOSE), N sessions with C at a time. It is run against:

* ``raw``: a Twisted protocol that writes the very same four command lines, one per reply
  line, without parsing anything: the cost of TCP, the reactor and the client;
* ``ctid``: :class:`cti.net.fastagi.FastAGIFactory` serving the real ``probe`` route.

Printed per server: sessions/s, per-session latency p50/p99 (connect to close, seen by the
client) and the server process's CPU ms per session. The client runs in its own process, so the
CPU figure is the server's alone.

    .venv/bin/python bench/agi_session.py [--sessions 2000] [--concurrency 20]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ROUTE_CAPTURE = ROOT / "tests/fixtures/asterisk-captures/agi-session-route.server.txt"
REPLIES = {  # what Asterisk answers, by the command's first words
    b"GET VARIABLE": b"200 result=1 (5553000)\n",
    b"GET FULL VAR": b"200 result=1 (hotline,10010,2)\n",
}
DEFAULT_REPLY = b"200 result=1\n"


def environment() -> bytes:
    """The captured routing session's environment, pointed at the probe route."""
    captured = ROUTE_CAPTURE.read_bytes()
    block = captured[: captured.index(b"\n\n") + 2]
    return block.replace(b"agi_network_script: route", b"agi_network_script: probe")


# -- the Asterisk side (client process) -----------------------------------------------------------
async def _one_session(port: int, env: bytes, latencies: list[float], counts: list[int]) -> None:
    start = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(env)
    commands = 0
    while line := await reader.readline():
        commands += 1
        writer.write(REPLIES.get(line[:12], DEFAULT_REPLY))
    writer.close()
    latencies.append(time.perf_counter() - start)
    counts.append(commands)


async def _client(port: int, sessions: int, concurrency: int) -> dict:
    env = environment()
    latencies: list[float] = []
    counts: list[int] = []
    errors = 0
    next_session = iter(range(sessions))

    async def worker() -> None:
        nonlocal errors
        for _ in next_session:
            try:
                await _one_session(port, env, latencies, counts)
            except OSError:
                errors += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {"seconds": time.perf_counter() - start, "latencies": latencies, "errors": errors,
            "commands": sum(counts), "client_cpu": time.process_time()}


# -- the servers (this process) -------------------------------------------------------------------
def probe_command_bytes() -> list[bytes]:
    """The exact lines the probe route writes, captured once through a StringTransport."""
    from twisted.internet.task import Clock
    from twisted.internet.testing import StringTransport

    from cti.net.fastagi import FastAGIFactory
    from cti.services.agi_routes import build_routes

    factory = FastAGIFactory(build_routes(), clock=Clock())
    server = factory.buildProtocol(None)
    transport = StringTransport()
    server.makeConnection(transport)
    server.dataReceived(environment())
    lines = []
    while transport.value():
        lines.append(transport.value())
        transport.clear()
        line = lines[-1]
        server.dataReceived(REPLIES.get(line[:12], DEFAULT_REPLY))
    return lines


def raw_factory(lines: list[bytes]):
    from twisted.internet.protocol import Factory, Protocol

    class RawAGI(Protocol):
        """Counts newlines, writes canned commands: no parsing at all."""

        def connectionMade(self) -> None:
            self.header = b""
            self.sent = -1  # command lines answered; -1 while the header is coming

        def dataReceived(self, data: bytes) -> None:
            if self.sent < 0:
                self.header += data
                if b"\n\n" not in self.header:
                    return
                self.sent = 0
            else:
                self.sent += data.count(b"\n")
            if self.sent < len(lines):
                self.transport.write(lines[self.sent])
            else:
                self.transport.loseConnection()

    return Factory.forProtocol(RawAGI)


def ctid_factory():
    from cti.net.fastagi import FastAGIFactory
    from cti.services.agi_routes import build_routes

    return FastAGIFactory(build_routes())


async def _measure(name: str, factory, sessions: int, concurrency: int) -> list:
    from twisted.internet import reactor
    from twisted.internet.utils import getProcessOutputAndValue

    from bench._stats import percentile

    port = reactor.listenTCP(0, factory, interface="127.0.0.1", backlog=1024)
    cpu = time.process_time()
    out, err, code = await getProcessOutputAndValue(
        sys.executable, [__file__, "--client", str(port.getHost().port), str(sessions),
                         str(concurrency)], env=dict(os.environ))
    cpu = time.process_time() - cpu
    await port.stopListening()
    if code != 0:
        raise SystemExit(f"client failed: {err.decode()}")
    result = json.loads(out)
    done = len(result["latencies"])
    ms = [s * 1000 for s in result["latencies"]]
    return [name, done, done / result["seconds"], percentile(ms, 50), percentile(ms, 99),
            cpu * 1000 / max(done, 1), result["commands"] / max(done, 1), result["errors"]]


async def _bench(reactor, sessions: int, concurrency: int) -> None:
    from bench._stats import print_table

    lines = probe_command_bytes()
    rows = [await _measure("raw (no parsing)", raw_factory(lines), sessions, concurrency),
            await _measure("ctid FastAGI + probe", ctid_factory(), sessions, concurrency)]
    print_table(["server", "sessions", "sessions/s", "p50 ms", "p99 ms", "server CPU ms/session",
                 "commands/session", "errors"], rows,
                title=f"FastAGI sessions on loopback, {concurrency} at a time "
                      f"(client in its own process)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--client", nargs=3, type=int, metavar=("PORT", "N", "C"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        print(json.dumps(asyncio.run(_client(*args.client))))
        return
    from twisted.internet import asyncioreactor
    asyncioreactor.install()
    from twisted.internet import defer, task
    task.react(lambda reactor: defer.Deferred.fromCoroutine(
        _bench(reactor, args.sessions, args.concurrency)))


if __name__ == "__main__":
    main()
