"""Simulated PJSIP agent phones with scripted, seeded behaviour.

Each endpoint (``PJSIP/6001``) has a :class:`PhoneScript`: registered or not, how long it
rings, whether it answers, never answers or is busy, and how long the agent talks before
hanging up. A call to an unregistered endpoint fails at once (``CHANUNAVAIL``). Ring delay and
talk time can be drawn around their mean from the PBX's seeded random generator
(``jitter``), so a benchmark run is reproducible.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from .channel import Channel, ChannelState


class PhoneUnavailable(Exception):
    """The endpoint is unknown or not registered."""


@dataclass
class PhoneScript:
    registered: bool = True
    ring_delay: float = 1.0
    behaviour: str = "answer"          # "answer" | "no-answer" | "busy"
    talk_time: float | None = 30.0     # None: stays until the other side hangs up
    jitter: float = 0.0                # fraction of ring_delay/talk_time drawn at random
    context: str = "agents"


@dataclass
class Phones:
    scripts: dict[str, PhoneScript] = field(default_factory=dict)
    default: PhoneScript | None = None
    pbx: object = None
    _timers: dict[str, list] = field(default_factory=dict)

    @classmethod
    def of(cls, scripts: Mapping[str, PhoneScript], default: PhoneScript | None = None) -> "Phones":
        return cls(dict(scripts), default)

    def attach(self, pbx) -> None:
        self.pbx = pbx

    def script(self, endpoint: str) -> PhoneScript | None:
        return self.scripts.get(endpoint, self.default)

    def register(self, endpoint: str, registered: bool = True) -> None:
        script = self.scripts.setdefault(endpoint, PhoneScript())
        script.registered = registered

    def create(self, resource: str, linkedid: str | None) -> Channel:
        endpoint = resource.split("/", 1)[0]
        script = self.script(endpoint)
        if script is None or not script.registered:
            raise PhoneUnavailable(f"PJSIP/{endpoint} is not registered")
        pbx = self.pbx
        name = f"PJSIP/{endpoint}-{pbx.next_channel_seq('PJSIP'):08x}"
        return pbx.new_channel("PJSIP", name, script.context, "s", ChannelState.DOWN, linkedid=linkedid)

    def call(self, chan: Channel) -> None:
        endpoint = chan.name[len("PJSIP/"):].rsplit("-", 1)[0]
        script = self.script(endpoint) or PhoneScript()
        pbx = self.pbx
        ring = self._draw(script.ring_delay, script.jitter)
        self._later(chan, 0, pbx.indicate, chan, "ringing")
        if script.behaviour == "busy":
            chan.hangupcause = 17
            self._later(chan, ring, pbx.indicate, chan, "busy")
        elif script.behaviour == "answer":
            self._later(chan, ring, self._answer, chan, script)

    def _answer(self, chan: Channel, script: PhoneScript) -> None:
        if chan.hung_up:
            return
        self.pbx.answer(chan)
        if script.talk_time is not None:
            self._later(chan, self._draw(script.talk_time, script.jitter), self._hang_up, chan)

    def _hang_up(self, chan: Channel) -> None:
        if not chan.hung_up:
            self.pbx.request_hangup(chan, 16)

    def on_hangup(self, chan: Channel) -> None:
        for call in self._timers.pop(chan.name, []):
            if call.active():
                call.cancel()

    def _later(self, chan: Channel, delay: float, func, *args) -> None:
        self._timers.setdefault(chan.name, []).append(self.pbx.reactor.callLater(delay, func, *args))

    def _draw(self, mean: float, jitter: float) -> float:
        if jitter <= 0:
            return mean
        return max(0.0, self.pbx.random.uniform(mean * (1 - jitter), mean * (1 + jitter)))
