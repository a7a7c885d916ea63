"""The cost of an IVR call in ctid: CPU per call and AGI round trips per call, for a standard
caller's bill inquiry and a VIP caller, beside the one-menu route ctid had before flows.

A client process plays Asterisk (every command answered at once, the caller's keys scripted;
sounds take no time), so the figures are ctid's own work per call: the FastAGI server, the
route, the interpreter and its self-service actions with an in-memory customer port. The
journey is built (path, containment flags) but not written: its database write runs on the
storage pool, off the reactor, and is not counted. Scenarios:

* ``one-menu (before)``: the previous ``inbound`` route (kept below as it was): look up, one
  ``GET DATA`` for standard callers, the ``CTI_*`` variables;
* ``standard, bill inquiry``: the shipped ``standard`` flow: key 1, balance, last bill and due
  date, last payment said, no key at the next menu, goodbye, hang-up;
* ``VIP by name``: the shipped ``vip`` flow: the customer's name prompt, key 1, the dedicated
  agents; the ``CTI_*`` variables.

    .venv/bin/python bench/ivr_call.py [--sessions 1000] [--concurrency 20]
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STANDARD_NUMBER, VIP_NUMBER = "13800000001", "13900000009"
SCENARIOS = {   # name: (calling number, keys at each GET DATA, route)
    "one-menu (before), standard": (STANDARD_NUMBER, ["2"], "old"),
    "one-menu (before), VIP": (VIP_NUMBER, [], "old"),
    "standard, bill inquiry": (STANDARD_NUMBER, ["1", ""], "ivr"),
    "VIP by name": (VIP_NUMBER, ["1"], "ivr"),
}


# -- the Asterisk side (client process) -----------------------------------------------------------
def _reply(line: bytes, keys: list[str]) -> tuple[bytes, bool]:
    if line.startswith(b"GET DATA"):
        key = keys.pop(0) if keys else ""
        return (f"200 result={key}\n" if key else "200 result= (timeout)\n").encode(), False
    if line.startswith(b"STREAM FILE"):
        missing = line.startswith(b"STREAM FILE cti/names/") and b"/9 " not in line
        return (b"200 result=-1 endpos=0\n" if missing else b"200 result=0 endpos=8000\n"), False
    if line.startswith(b"HANGUP"):
        return b"200 result=1\n", True
    return b"200 result=1\n", False


async def _one_session(port: int, number: str, keys: list[str], i: int, latencies, counts):
    start = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write((f"agi_network: yes\nagi_network_script: inbound\nagi_channel: PJSIP/trunk-{i:08x}\n"
                  f"agi_uniqueid: 1800000000.{i}\nagi_callerid: {number}\nagi_dnid: 10010\n"
                  f"agi_arg_1: cti-1800000000.{i}\nagi_arg_2: 10010\n\n").encode())
    commands = 0
    keys = list(keys)
    while line := await reader.readline():
        commands += 1
        reply, hangup = _reply(line, keys)
        writer.write(reply)
        if hangup:
            writer.write(b"HANGUP\n")
    writer.close()
    latencies.append(time.perf_counter() - start)
    counts.append(commands)


async def _client(port: int, sessions: int, concurrency: int, scenario: str) -> dict:
    number, keys, _ = SCENARIOS[scenario]
    latencies: list[float] = []
    counts: list[int] = []
    numbers = iter(range(sessions))

    async def worker() -> None:
        for i in numbers:
            await _one_session(port, number, keys, i, latencies, counts)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {"seconds": time.perf_counter() - start, "latencies": latencies,
            "commands": sum(counts)}


# -- ctid's side (this process) -------------------------------------------------------------------
class Customers:
    """An in-memory customer port: one standard line with an account, one platinum VIP."""

    def __init__(self):
        from cti.ivr.port import (AccountSummary, BillSummary, CallerProfile,
                                  PaymentSummary)
        self.profiles = {
            STANDARD_NUMBER: CallerProfile(STANDARD_NUMBER, True, "42", "李雷", "standard", "zh",
                                           "normal"),
            VIP_NUMBER: CallerProfile(VIP_NUMBER, True, "9", "韩梅梅", "platinum", "zh", "normal"),
        }
        self.account_of = AccountSummary(
            STANDARD_NUMBER, 12345, None, BillSummary("2026-11", 8850, dt.date(2026, 12, 20), False),
            PaymentSummary(10000, dt.datetime(2026, 11, 3, tzinfo=dt.timezone.utc), "wechat"),
            "normal")

    def lookup(self, number):
        from twisted.internet import defer
        return defer.succeed(self.profiles[number])

    def account(self, number):
        from twisted.internet import defer
        return defer.succeed(self.account_of)


def old_route(tracker, customers, tiers, clock):
    """The ``inbound`` route as it was before flows (one menu of three keys; VIPs skip it)."""
    from cti.domain import channel_vars as V
    from cti.services.calls import Call
    menu = {"1": "billing", "2": "service", "3": "complaints"}

    async def inbound(session) -> None:
        env = session.env
        call_id = V.value_of(session.args[0] if session.args else "") or f"cti-{session.uniqueid}"
        number = env.get("agi_callerid", "")
        call = tracker.register(Call(call_id=call_id, channel=session.channel,
                                     uniqueid=session.uniqueid, linkedid=session.uniqueid,
                                     caller_number=number, tier=tiers.names[-1],
                                     created=clock.seconds()))
        caller = await customers.lookup(number)
        tier = tiers[caller.tier] if caller.tier in tiers else tiers[tiers.names[-1]]
        call.tier, call.language = tier.name, caller.language
        if tier.vip:
            skill, path = "general", "vip"
        else:
            key = await session.get_data("cti/menu", 5000, 1)
            skill, path = menu.get(key or "", "general"), f"menu:{key}" if key else "menu:timeout"
        call.skill, call.ivr_path = skill, path
        arrival = clock.seconds()
        for name, value in ((V.TIER, tier.name), (V.SKILL, skill), (V.PRIORITY, tier.rank),
                            (V.CUSTOMER_ID, caller.customer_id or ""), (V.LANGUAGE, caller.language),
                            (V.IVR_PATH, path), (V.ARRIVAL, f"{arrival:.3f}"),
                            (V.MOH_CLASS, "vip" if tier.vip else "")):
            await session.set_variable(name, value)
    return inbound


def ivr_route(tracker, customers, tiers, clock):
    from cti.ivr import journey, route
    from cti.ivr.runner import FlowRunner, RunnerSettings
    from cti.ivr.service import FlowBook

    book = FlowBook(flows_dir=None, tier_names=tiers.names,
                    vip_tiers=[t for t in tiers.names if tiers[t].vip], chosen={})
    book.load()

    def built_not_written(call, caller, result, started, ended):
        journey.compact_path(result.steps), journey.is_contained(result.outcome, result.self_served)

    runner = FlowRunner(book.get, customers, RunnerSettings(), clock, on_journey=built_not_written)
    return route.make_route(tracker=tracker, runner=runner, book=book, tiers=tiers, clock=clock,
                            default_skill="general")


async def _measure(scenario: str, sessions: int, concurrency: int) -> list:
    from twisted.internet import reactor
    from twisted.internet.utils import getProcessOutputAndValue

    from bench._stats import percentile
    from cti.domain.routing.config import RoutingConfig
    from cti.net.fastagi import FastAGIFactory
    from cti.services.calls import CallTracker

    tiers = RoutingConfig.from_mapping({}).tiers
    tracker = CallTracker(reactor.seconds)
    make = old_route if SCENARIOS[scenario][2] == "old" else ivr_route
    factory = FastAGIFactory({"inbound": make(tracker, Customers(), tiers, reactor)})
    port = reactor.listenTCP(0, factory, interface="127.0.0.1", backlog=1024)
    cpu = time.process_time()
    out, err, code = await getProcessOutputAndValue(
        sys.executable, [__file__, "--client", str(port.getHost().port), str(sessions),
                         str(concurrency), scenario], env=dict(os.environ))
    cpu = time.process_time() - cpu
    await port.stopListening()
    if code != 0:
        raise SystemExit(f"client failed: {err.decode()}")
    result = json.loads(out)
    done = len(result["latencies"])
    ms = [s * 1000 for s in result["latencies"]]
    return [scenario, done, done / result["seconds"], percentile(ms, 50), percentile(ms, 99),
            cpu * 1000 / max(done, 1), result["commands"] / max(done, 1)]


async def _bench(reactor, sessions: int, concurrency: int) -> None:
    import logging

    from bench._stats import print_table
    logging.disable(logging.INFO)           # a log line per call is not what is measured
    rows = [await _measure(name, sessions, concurrency) for name in SCENARIOS]
    print_table(["scenario", "calls", "calls/s", "p50 ms", "p99 ms", "ctid CPU ms/call",
                 "AGI round trips/call"], rows,
                title=f"An IVR call's cost in ctid, {concurrency} calls at a time "
                      f"(Asterisk played by another process, answering at once)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--client", nargs=4, metavar=("PORT", "N", "C", "SCENARIO"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        port, n, c, scenario = args.client
        print(json.dumps(asyncio.run(_client(int(port), int(n), int(c), scenario))))
        return
    from twisted.internet import asyncioreactor
    asyncioreactor.install()
    from twisted.internet import defer, task
    task.react(lambda reactor: defer.Deferred.fromCoroutine(
        _bench(reactor, args.sessions, args.concurrency)))


if __name__ == "__main__":
    main()
