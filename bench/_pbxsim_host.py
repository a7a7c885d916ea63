"""The PBX simulator in a process of its own, driven over stdin/stdout by ``bench/call_path.py``.

Keeping the simulator out of ctid's process means ctid's CPU per call is measured alone. The
simulator runs our own ``dialplan/`` (as the demo does), serves AMI on ``--ami-port`` and
sends its FastAGI requests to ctid on ``--agi-port``. Agent phones ``PJSIP/<first seat>...``
answer after ``ring`` seconds and hang up after ``talk`` seconds (both drawn ±``jitter``).

Commands, one JSON object per line on stdin; every command gets one JSON line back on stdout:

- ``{"cmd": "place", "n": 3}``: three callers ring the hotline now;
- ``{"cmd": "rate", "per_s": 20}``: Poisson arrivals at that rate from now (0 stops them);
- ``{"cmd": "phones", "ring": 0.1, "talk": 1.0, "jitter": 0.5}``: retune every agent phone;
- ``{"cmd": "stats"}``: counters (events emitted, in all and by name), this process's CPU seconds, and the ``Redirect`` requests the
  AMI server has taken since the last ``stats`` as ``[ActionID, time.monotonic()]`` pairs
  (``CLOCK_MONOTONIC`` is system-wide on Linux, so the driver can compare it with its own);
- ``{"cmd": "quit"}``.

Each caller calls from a number of its own (no repeat callers, so no familiar-agent holds),
keys one menu digit, and has unlimited patience: a call not answered is one ctid never served.
"""
from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from twisted.protocols.basic import LineReceiver  # noqa: E402

from cti.demo import DIALPLAN, manager_conf  # noqa: E402
from cti.domain import channel_vars as V  # noqa: E402
from cti.pbxsim.prompts import shipped_sounds
from cti.pbxsim.ami.accounts import parse_manager_conf  # noqa: E402
from cti.pbxsim.ami.server import AMIServerFactory  # noqa: E402
from cti.pbxsim.dialplan import Dialplan  # noqa: E402
from cti.pbxsim.engine.callers import place_call  # noqa: E402
from cti.pbxsim.engine.pbx import PBX  # noqa: E402
from cti.pbxsim.engine.phones import PhoneScript, Phones  # noqa: E402

HOTLINE = "10010"


def caller_numbers(count: int, seed: int) -> list[str]:
    """The numbers callers ring from; the driver seeds customers with the same list."""
    numbers = [f"138{n:08d}" for n in range(count)]
    random.Random(seed).shuffle(numbers)
    return numbers


class Traffic:
    """Places callers and counts what became of them."""

    def __init__(self, pbx: PBX, numbers: list[str], seed: int):
        self.pbx = pbx
        self._numbers = iter(numbers)
        self._rng = random.Random(seed)
        self._rate = 0.0
        self._due = 0.0
        self._next = None
        self.placed = self.ended = self.connected_ended = 0
        self.calls = []
        self.events = 0
        self.by_name: dict[str, int] = {}
        pbx.subscribe(self._count)

    def _count(self, message) -> None:
        self.events += 1
        self.by_name[message.name] = self.by_name.get(message.name, 0) + 1

    def place(self) -> None:
        number = next(self._numbers, None)
        if number is None:
            print("pbxsim host: out of caller numbers", file=sys.stderr)
            return
        handle = place_call(self.pbx, number, V.CTX_INBOUND, HOTLINE, patience=None,
                            dtmf=self._rng.choice("1230"))
        self.placed += 1
        self.calls.append(handle)
        handle.ended.addCallback(self._ended)

    def _ended(self, handle) -> None:
        self.ended += 1
        self.calls.remove(handle)
        self.connected_ended += handle.connected_at is not None

    def set_rate(self, per_s: float) -> None:
        self._rate = per_s
        if self._next is not None and self._next.active():
            self._next.cancel()
        self._next = None
        if per_s > 0:
            self._due = self.pbx.reactor.seconds()
            self._schedule()

    def _schedule(self) -> None:
        # due times are drawn on their own timeline: a busy loop delays arrivals but never
        # thins them, so the offered rate is the rate asked for
        self._due += self._rng.expovariate(self._rate)
        delay = max(0.0, self._due - self.pbx.reactor.seconds())
        self._next = self.pbx.reactor.callLater(delay, self._arrive)

    def _arrive(self) -> None:
        self.place()
        self._schedule()

    def counters(self) -> dict:
        live_connected = sum(1 for h in self.calls if h.connected_at is not None)
        return {"placed": self.placed, "ended": self.ended,
                "connected": self.connected_ended + live_connected,
                "waiting": sum(1 for h in self.calls if h.connected_at is None),
                "events": self.events, "by_name": dict(self.by_name)}


class Control(LineReceiver):
    delimiter = b"\n"

    def __init__(self, traffic: Traffic, phones: Phones, ami: AMIServerFactory, reactor):
        self.traffic, self.phones, self.reactor = traffic, phones, reactor
        self.redirects: list[tuple[str, float]] = []
        ami.on_action = self._on_action

    def _on_action(self, _session, request) -> None:
        if (request.get("Action") or "").lower() == "redirect":
            self.redirects.append((request.get("ActionID") or "", time.monotonic()))

    def lineReceived(self, line: bytes) -> None:
        try:
            command = json.loads(line)
            reply = self.run(command)
        except Exception as exc:  # a bad command is reported, never fatal
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        self.sendLine(json.dumps(reply).encode())
        if reply.get("bye"):
            self.reactor.callLater(0, self.reactor.stop)

    def run(self, command: dict) -> dict:
        name = command.get("cmd")
        if name == "place":
            for _ in range(int(command.get("n", 1))):
                self.traffic.place()
        elif name == "rate":
            self.traffic.set_rate(float(command["per_s"]))
        elif name == "phones":
            for script in self.phones.scripts.values():
                script.ring_delay = float(command.get("ring", script.ring_delay))
                script.talk_time = float(command.get("talk", script.talk_time))
                script.jitter = float(command.get("jitter", script.jitter))
        elif name == "stats":
            usage = resource.getrusage(resource.RUSAGE_SELF)
            redirects, self.redirects = self.redirects, []
            return {**self.traffic.counters(), "cpu": usage.ru_utime + usage.ru_stime,
                    "redirects": redirects}
        elif name == "quit":
            return {"bye": True}
        else:
            return {"error": f"unknown command {name!r}"}
        return {"ok": True}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ami-port", type=int, required=True)
    parser.add_argument("--agi-port", type=int, required=True)
    parser.add_argument("--username", default="ctid")
    parser.add_argument("--secret", required=True)
    parser.add_argument("--seats", type=int, required=True, help="agent phones 6001...")
    parser.add_argument("--numbers", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--manager-conf", type=Path, default=None,
                        help="the manager.conf to serve (default: this tree's asterisk_conf/)")
    parser.add_argument("--dialplan", type=Path, default=DIALPLAN,
                        help="the dialplan to run (default: this tree's dialplan/)")
    args = parser.parse_args()
    from twisted.internet import reactor, stdio

    phones = Phones.of({f"{6001 + i}": PhoneScript(ring_delay=0.1, talk_time=1.0, jitter=0.5)
                        for i in range(args.seats)})
    pbx = PBX(Dialplan.from_files([args.dialplan]), reactor=reactor, phones=phones, seed=args.seed,
              sounds=shipped_sounds(),
              agi_hosts={"127.0.0.1:4573": ("127.0.0.1", args.agi_port)})
    if args.manager_conf is None:
        conf = manager_conf(args.username, args.secret)
    else:       # the same edits cti.demo.manager_conf makes to this tree's file
        text = args.manager_conf.read_text().replace("[ctid]", f"[{args.username}]").replace(
            "secret = change-me", f"secret = {args.secret}")
        conf = "\n".join(line for line in text.splitlines() if not line.startswith("#tryinclude"))
    accounts = parse_manager_conf(conf)
    ami = AMIServerFactory(accounts, pbx, reactor)
    traffic = Traffic(pbx, caller_numbers(args.numbers, args.seed), args.seed)
    control = Control(traffic, phones, ami, reactor)
    port = reactor.listenTCP(args.ami_port, ami, interface="127.0.0.1")
    stdio.StandardIO(control)
    control.sendLine(json.dumps({"ready": port.getHost().port}).encode())
    reactor.run()


if __name__ == "__main__":
    main()
