"""The order in which AMI sees the events of different channels: seeded, varied, never wrong.

On Asterisk every channel is served by a thread of its own and publishes its events to the
stasis bus from there; the AMI layer writes them in the order they reach it. What is
guaranteed is the order *within* one channel (one thread publishes them one after the other),
and within one bridge (the bridge publishes its enter/leave/destroy under its own lock). What
is not: the order between two channels. When an agent hangs up, the caller's ``Hangup`` often
reaches AMI before the agent's; a ``DialBegin`` may come before or after the callee's first
``Newexten``. Two captures of one flow on Asterisk interleave differently.

The engine itself runs every channel in one thread and publishes in causal order, always the
same. :class:`Interleaver` stands between the engine and the AMI side (and any other event
listener): each event is held for a random time up to ``latency`` seconds drawn from a seeded
generator (the thread latency), but never delivered before an earlier event of any *lane* it
belongs to. A lane is a channel named by the event (``Channel``, ``DestChannel``,
``LocalOneChannel``, ``LocalTwoChannel``; the two halves of a Local pair are one lane) or a
bridge (``BridgeUniqueid``); an event naming
none (a global ``VarSet``) belongs to the lane of such events. So an event about two channels
(``DialBegin``, ``LocalBridge``) stays after the earlier events of both, and every channel's
own order is exactly the engine's. A reply to an AMI action still precedes the events it
causes: the events are only ever later.

``latency`` 0 delivers at once, in the engine's order (the conformance tests that compare a
whole stream with a capture, which is one of the possible interleavings).
"""
from __future__ import annotations

import heapq
import itertools
import random
from typing import Callable

from cti.protocol.ami_message import Message

CHANNEL_HEADERS = ("Channel", "DestChannel", "LocalOneChannel", "LocalTwoChannel")
BRIDGE_HEADER = "BridgeUniqueid"
NO_CHANNEL = ""            # the lane of events naming no channel or bridge


def lanes_of(message: Message) -> list[str]:
    """The lanes whose order ``message`` must keep: its channels and its bridge. Both halves
    of a Local pair share one lane: the thread that creates the pair publishes both
    ``Newchannel`` and the ``LocalBridge``, and one half's hangup is the other's request."""
    lanes = []
    for name in CHANNEL_HEADERS:
        value = message.get(name)
        if value:
            lanes.append(value[:-2] if value.startswith("Local/") and value[-2:] in (";1", ";2")
                         else value)
    bridge = message.get(BRIDGE_HEADER)
    if bridge:
        lanes.append("bridge:" + bridge)
    return lanes or [NO_CHANNEL]


class Interleaver:
    """Delivers events to ``deliver`` after a seeded random delay, lane order kept."""

    def __init__(self, deliver: Callable[[Message], None], reactor, rng: random.Random,
                 latency: float) -> None:
        self._deliver = deliver
        self._reactor = reactor
        self._rng = rng
        self.latency = max(0.0, float(latency))
        self._due: list[tuple[float, int, Message]] = []       # heap: (deliver at, seq, event)
        self._lane_last: dict[str, float] = {}                 # lane -> time of its latest event
        self._seq = itertools.count()
        self._timer = None

    @property
    def pending(self) -> int:
        return len(self._due)

    def offer(self, message: Message) -> None:
        if self.latency <= 0 and not self._due:
            self._deliver(message)
            return
        lanes = lanes_of(message)
        at = self._reactor.seconds() + self._rng.uniform(0.0, self.latency)
        for lane in lanes:
            at = max(at, self._lane_last.get(lane, at))
        for lane in lanes:
            self._lane_last[lane] = at
        heapq.heappush(self._due, (at, next(self._seq), message))
        self._schedule()

    def flush(self) -> None:
        """Deliver everything still held, in delivery order (at once)."""
        self._run(until=float("inf"))

    def _schedule(self) -> None:
        if not self._due:
            return
        first = self._due[0][0]
        if self._timer is not None and self._timer.active():
            if self._timer.getTime() <= first:
                return
            self._timer.cancel()
        self._timer = self._reactor.callLater(max(0.0, first - self._reactor.seconds()), self._tick)

    def _tick(self) -> None:
        self._timer = None
        self._run(until=self._reactor.seconds())
        self._schedule()

    def _run(self, until: float) -> None:
        while self._due and self._due[0][0] <= until:
            _, _, message = heapq.heappop(self._due)
            self._deliver(message)
        now = self._reactor.seconds()
        if not self._due:
            self._lane_last.clear()
        elif len(self._lane_last) > 256:
            # a lane whose last event is already due constrains nothing new (new events are
            # never due before now): forget it, so ended channels do not pile up
            self._lane_last = {lane: t for lane, t in self._lane_last.items() if t > now}
