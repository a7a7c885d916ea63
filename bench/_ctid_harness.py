"""ctid and the simulator process, set up for ``bench/call_path.py``, with the probes it reads.

- :func:`make_config` / :func:`seed`: ctid's configuration and database in a temporary
  directory (agents ``1001...`` on seats ``PJSIP/6001...`` with every skill, one customer per
  caller number with the demo's tier mix).
- :class:`SimProcess`: ``bench/_pbxsim_host.py`` as a child process; ``request(cmd)`` sends one
  JSON command and fires with its JSON reply.
- :class:`WireProbe`: wraps the send and receive of ctid's live AMI wire, timestamping every
  action that leaves and every chunk that arrives, and counts the AMI events ctid dispatches
  (in all, and by event name).
"""
from __future__ import annotations

import json
import random
import sys
import time
from collections import deque
from pathlib import Path
from typing import Callable

from twisted.internet import defer, protocol

from cti import config as cfg
from cti.storage.models import Agent as AgentRow
from cti.storage.passwords import hash_password
from cti.storage.repositories.agents import set_skill
from cti.customers.store import add_customer


HOST_SCRIPT = Path(__file__).resolve().parent / "_pbxsim_host.py"
TIER_MIX = {"platinum": 0.02, "diamond": 0.03, "gold": 0.04, "silver": 0.06, "standard": 0.85}
SKILLS = ("general", "billing", "service", "complaints")


def make_config(tmp: Path, *, ami_port: int, secret: str, wrap_up: float,
                log_level: str = "WARNING") -> dict:
    return cfg.load(None, environ={}, overrides=[
        f"database.url=sqlite:///{tmp}/ctid.sqlite",
        f"database.spill_file={tmp}/outbox.jsonl",
        f"queue_log.file={tmp}/queue_log",
        f"recordings.directory={tmp}/recordings",
        "ami.host=127.0.0.1", f"ami.port={ami_port}", "ami.username=ctid",
        f"ami.secret={secret}", "ami.auth=md5",
        "fastagi.port=0", "api.port=0", "web.port=0", "api.token=bench",
        f"acd.wrap_up_seconds={wrap_up}",
        f"log.level={log_level}",
    ])


def seed(db, agents: int, numbers: list[str], seed_value: int) -> None:
    """Agents (one shared password hash: scrypt per agent would take seconds) and customers."""
    rng = random.Random(seed_value)
    password = hash_password("bench")

    def work(session):
        for i in range(agents):
            number = f"{1001 + i}"
            session.add(AgentRow(number=number, name=f"Agent {number}", endpoint=f"PJSIP/{6001 + i}",
                                 agent_group="vip" if i < max(1, agents // 5) else "general",
                                 team="red" if i % 2 else "blue", password_hash=password,
                                 active=True))
        session.flush()
        for i in range(agents):
            for skill in SKILLS:
                set_skill(session, f"{1001 + i}", skill, rng.randint(4, 10))
        for n, phone in enumerate(numbers):
            tier = rng.choices(list(TIER_MIX), weights=list(TIER_MIX.values()))[0]
            add_customer(session, f"customer {n}", [phone], tier=tier, language="zh")
    db.run_blocking(work)


class SimProcess(protocol.ProcessProtocol):
    """The simulator child; one outstanding reply per request, answered in order."""

    def __init__(self):
        self.ready: defer.Deferred = defer.Deferred()
        self.exited: defer.Deferred = defer.Deferred()
        self._replies: deque[defer.Deferred] = deque()
        self._buffer = b""

    @classmethod
    def spawn(cls, reactor, *, ami_port: int, agi_port: int, secret: str, seats: int,
              numbers: int, seed_value: int, manager_conf: Path | None = None,
              dialplan: Path | None = None) -> "SimProcess":
        proc = cls()
        argv = [sys.executable, str(HOST_SCRIPT), "--ami-port", str(ami_port),
                "--agi-port", str(agi_port), "--secret", secret, "--seats", str(seats),
                "--numbers", str(numbers), "--seed", str(seed_value)]
        if manager_conf is not None:
            argv += ["--manager-conf", str(manager_conf)]
        if dialplan is not None:
            argv += ["--dialplan", str(dialplan)]
        reactor.spawnProcess(proc, sys.executable, argv, env=None)
        return proc

    def request(self, **command) -> defer.Deferred:
        d: defer.Deferred = defer.Deferred()
        self._replies.append(d)
        self.transport.write(json.dumps(command).encode() + b"\n")
        return d

    def outReceived(self, data: bytes) -> None:
        self._buffer += data
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            reply = json.loads(line)
            if "ready" in reply and not self.ready.called:
                self.ready.callback(reply["ready"])
            elif self._replies:
                self._replies.popleft().callback(reply)

    def errReceived(self, data: bytes) -> None:
        sys.stderr.write(data.decode("utf-8", "replace"))

    def processEnded(self, reason) -> None:
        if not self.ready.called:
            self.ready.errback(reason)
        while self._replies:
            self._replies.popleft().errback(reason)
        self.exited.callback(None)


class WireProbe:
    """Timestamps on ctid's AMI wire. ``on_action(message, mono, wall)`` sees every action sent."""

    def __init__(self, ami, on_action: Callable[[object, float, float], None]):
        self.on_action = on_action
        self.events = 0
        self.by_name: dict[str, int] = {}
        self.last_read_wall = 0.0
        ami.add_listener({"*": self._count})
        wire = ami._wire            # the live link; no public hook exists for outgoing bytes
        if wire is None:
            raise RuntimeError("the AMI link is not up")
        send, received = wire.send, wire.data_received

        def timed_send(message) -> None:
            send(message)
            self.on_action(message, time.monotonic(), time.time())

        def timed_received(data: bytes) -> None:
            self.last_read_wall = time.time()
            received(data)

        wire.send, wire.data_received = timed_send, timed_received

    def _count(self, event) -> None:
        self.events += 1
        self.by_name[event.name] = self.by_name.get(event.name, 0) + 1
