"""Scripted IVR journeys for simulated callers: what a caller hears, keys, says and does.

A :class:`Journey` is a named list of steps a caller takes one after the other:

* :class:`HearPrompt` — wait until a prompt starts playing (any, or the one named); with
  ``to_end`` until it has played out;
* :class:`Pause` — do nothing for N seconds;
* :class:`Keys` — key digits when the PBX next waits for a digit (after the prompt: the
  first digit of ``GET DATA``/``Read``/``WaitExten`` ...), ``gap`` seconds apart;
* :class:`BargeIn` — key digits ``after`` seconds into the prompt playing now (else the
  next one), while it plays;
* :class:`Speak` — talk for N seconds into the next recording (then stay silent);
* :class:`HangUp` — hang up now (mid-menu, mid-recording ...);
* :class:`WaitForAgent` — wait to be connected to someone for at most ``patience``
  seconds, then talk ``talk`` seconds and hang up (None: let the other side end the call).

After the last step the caller stays on the line until the PBX ends the call (a
self-service flow that says goodbye and hangs up). Digits keyed while nothing reads them
are lost, as on Asterisk. A journey is data; :class:`JourneyRunner` plays one on a call.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from twisted.internet import defer


@dataclass(frozen=True)
class HearPrompt:
    name: str | None = None
    to_end: bool = False


@dataclass(frozen=True)
class Pause:
    seconds: float


@dataclass(frozen=True)
class Keys:
    digits: str
    gap: float = 0.3
    delay: float = 0.2           # reaction time once the PBX listens


@dataclass(frozen=True)
class BargeIn:
    digits: str
    after: float = 0.5
    gap: float = 0.3


@dataclass(frozen=True)
class Speak:
    seconds: float


@dataclass(frozen=True)
class HangUp:
    pass


@dataclass(frozen=True)
class WaitForAgent:
    patience: float | None = None
    talk: float | None = None


Step = Union[HearPrompt, Pause, Keys, BargeIn, Speak, HangUp, WaitForAgent]


@dataclass(frozen=True)
class Journey:
    name: str
    steps: tuple[Step, ...] = field(default_factory=tuple)

    def __init__(self, name: str, steps=()) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "steps", tuple(steps))


class JourneyRunner:
    """Plays a :class:`Journey` on one simulated call (see :func:`~.callers.place_call`)."""

    def __init__(self, pbx, handle, journey: Journey) -> None:
        self.pbx, self.handle, self.journey = pbx, handle, journey
        self.chan = handle.channel
        self.step_index = 0
        self.done = False
        self._prompt_waiter: tuple[str | None, defer.Deferred] | None = None
        self._record_waiter: defer.Deferred | None = None
        self._digit_waiter: defer.Deferred | None = None
        self._bridged: defer.Deferred | None = None
        self._prompt_ends: float | None = None
        self.chan.media_listener = self._on_media
        self.chan.dtmf_source = self._on_digit_wanted

    # -- what the channel tells the caller ----------------------------------------------------
    def _on_media(self, kind: str, name: str) -> None:
        if kind == "prompt":
            samples = self.pbx.sound_samples(name, self.chan.language) or 0
            self._prompt_ends = self.pbx.now() + samples / 8000.0
            waiter = self._prompt_waiter
            if waiter is not None and (waiter[0] is None or waiter[0] == name):
                self._prompt_waiter = None
                waiter[1].callback(name)
        elif kind == "record" and self._record_waiter is not None:
            d, self._record_waiter = self._record_waiter, None
            d.callback(name)

    def _on_digit_wanted(self) -> None:
        if self._digit_waiter is not None and not self.chan.playing_prompt:
            d, self._digit_waiter = self._digit_waiter, None
            self.pbx.reactor.callLater(0, d.callback, None)

    def bridged(self) -> None:
        if self._bridged is not None:
            d, self._bridged = self._bridged, None
            d.callback(True)

    def ended(self) -> None:
        self.done = True
        for d in (self._prompt_waiter[1] if self._prompt_waiter else None, self._record_waiter,
                  self._digit_waiter, self._bridged):
            if d is not None and not d.called:
                d.cancel()
        self._prompt_waiter = self._record_waiter = self._digit_waiter = self._bridged = None

    # -- the caller's side --------------------------------------------------------------------
    def start(self) -> defer.Deferred:
        d = defer.ensureDeferred(self._run())
        d.addErrback(lambda f: f.trap(defer.CancelledError))
        return d

    def _sleep(self, seconds: float) -> defer.Deferred:
        d = defer.Deferred()
        call = self.pbx.reactor.callLater(max(0.0, seconds), d.callback, None)
        d.addErrback(lambda f: (call.cancel() if call.active() else None, f)[1])
        return d

    async def _run(self) -> None:
        for index, step in enumerate(self.journey.steps):
            if self.done or self.chan.hung_up:
                return
            self.step_index = index
            await self._take(step)
        self.step_index = len(self.journey.steps)

    async def _take(self, step: Step) -> None:
        pbx, chan = self.pbx, self.chan
        if isinstance(step, HearPrompt):
            d = defer.Deferred()
            self._prompt_waiter = (step.name, d)
            await d
            if step.to_end and self._prompt_ends is not None:
                await self._sleep(self._prompt_ends - pbx.now())
        elif isinstance(step, Pause):
            await self._sleep(step.seconds)
        elif isinstance(step, Keys):
            if not (chan.waiting and chan.wants_digit and not chan.playing_prompt):
                self._digit_waiter = defer.Deferred()
                await self._digit_waiter
            await self._sleep(step.delay)
            await self._key(step.digits, step.gap)
        elif isinstance(step, BargeIn):
            if not chan.playing_prompt:
                d = defer.Deferred()
                self._prompt_waiter = (None, d)
                await d
            await self._sleep(step.after)
            await self._key(step.digits, step.gap)
        elif isinstance(step, Speak):
            self._record_waiter = defer.Deferred()
            await self._record_waiter
            await self._sleep(0.3)                   # the caller hears the start, then talks
            chan.speak(pbx.now(), step.seconds)
        elif isinstance(step, HangUp):
            self.handle.caller_hung_up = True
            if self.handle.connected_at is None:
                self.handle.abandoned = True
            pbx.request_hangup(chan, 16)
            self.done = True
        elif isinstance(step, WaitForAgent):
            await self._wait_for_agent(step)

    async def _key(self, digits: str, gap: float) -> None:
        for i, digit in enumerate(digits):
            if self.done or self.chan.hung_up:
                return
            if i:
                await self._sleep(gap)
            # delivered from the reactor, not from inside this step: what the digit sets off
            # (a jump, the next prompt) must find the caller already at its next step
            self.pbx.reactor.callLater(0, self._press, digit)

    def _press(self, digit: str) -> None:
        if not self.chan.hung_up:
            self.pbx.emit_dtmf_from_caller(self.chan, digit)

    async def _wait_for_agent(self, step: WaitForAgent) -> None:
        pbx, chan, handle = self.pbx, self.chan, self.handle
        if handle.connected_at is None:
            self._bridged = defer.Deferred()
            waits = [self._bridged]
            if step.patience is not None:
                waits.append(self._sleep(step.patience))
            first = defer.DeferredList(waits, fireOnOneCallback=True, consumeErrors=True)
            result, _ = await first
            for d in waits:
                if not d.called:
                    d.cancel()
            self._bridged = None
            if result is not True:
                if not chan.hung_up and chan.bridge is None:
                    handle.abandoned = handle.caller_hung_up = True
                    pbx.request_hangup(chan, 16)
                self.done = True
                return
        if step.talk is not None:
            await self._sleep(step.talk)
            if not chan.hung_up and chan.bridge is not None:
                handle.hung_up_talking = handle.caller_hung_up = True
                pbx.request_hangup(chan, 16)
            self.done = True


def hotline_mix(vip: bool, patience: float = 90.0) -> list[tuple[Journey, float]]:
    """A weighted journey mix for a hotline menu laid out as ctid's shipped flows are (standard:
    1 bill inquiry, 2 then 1 emergency suspension with a PIN, 3 voice message; VIP: 1 the
    dedicated agents, 2 self-service; 0 an agent from any menu):
    most standard callers finish in self-service, some ask for an agent, some key a wrong
    digit first, a few hang up mid-menu; VIP callers mostly wait for their agents. For
    :class:`~.callers.Tier` ``journeys`` (the demo's arrivals)."""
    wait = WaitForAgent(patience=patience)
    agent = Journey("agent", [HearPrompt(), BargeIn("0", after=1.5), wait])
    if vip:
        return [(Journey("vip-agent", [wait]), 8.0), (agent, 1.0),
                (Journey("vip-bill", [HearPrompt(), BargeIn("2", after=1.0), HearPrompt(),
                                      BargeIn("1", after=0.5), wait]), 1.0)]
    return [
        (Journey("bill", [HearPrompt(to_end=True), Keys("1"), wait]), 4.0),
        (Journey("suspend", [HearPrompt(to_end=True), Keys("2"), HearPrompt(to_end=True),
                             Keys("1"), HearPrompt(to_end=True), Keys("123456#"), wait]), 1.0),
        (Journey("message", [HearPrompt(to_end=True), Keys("3"), Speak(8.0), wait]), 1.0),
        (agent, 3.0),
        (Journey("wrong-key", [HearPrompt(to_end=True), Keys("9"), HearPrompt(), BargeIn("0"), wait]), 1.0),
        (Journey("hang-up-mid-menu", [HearPrompt(), Pause(2.0), HangUp()]), 1.0),
    ]
