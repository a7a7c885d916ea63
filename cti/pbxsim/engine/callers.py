"""Simulated inbound callers: calls arriving on a trunk into a dialplan context.

:func:`place_call` puts one call on a trunk channel (``PJSIP/trunk-0000002a``, state Ring,
caller id set) and starts the dialplan at ``context,exten,1``. The caller has a ``patience``:
if the call is not bridged to someone by then, the caller hangs up (an abandon); with
``talk`` it hangs up that many seconds after being bridged (else the other side ends the
call). A caller hanging up is what the trunk's driver does on Asterisk
(``ast_queue_hangup_with_cause``): a ``HangupRequest`` on the caller's channel, not the
``SoftHangupRequest`` of an AMI ``Hangup``. ``dtmf``
are the digits the caller keys, one each time the call waits for a digit, after
``dtmf_delay`` seconds. ``variables`` are set on the channel before its dialplan starts
(as the trunk's own settings would be, e.g. ``QUEUE_PRIO``). A ``journey``
(:mod:`.journeys`) scripts the caller's way through the IVR instead: prompts heard, keys
pressed (after a prompt or barging into it), words spoken into a recording, a hang-up
mid-menu, a wait for an agent. :class:`CallerArrivals` makes Poisson arrivals per tier with a
seeded generator, each caller walking a journey drawn from the tier's weighted mix, for load
and service-level benchmarks and the demo.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from .journeys import Journey, JourneyRunner

from twisted.internet import defer

from .channel import Channel, ChannelState, Party


@dataclass
class CallHandle:
    """What a test or benchmark holds on to for one simulated call."""

    channel: Channel
    placed_at: float
    connected_at: float | None = None
    ended_at: float | None = None
    abandoned: bool = False
    hung_up_talking: bool = False      # the caller ended the call while bridged
    caller_hung_up: bool = False       # the caller ended the call (else the PBX did)
    journey: Journey | None = None
    runner: JourneyRunner | None = None
    ended: defer.Deferred = field(default_factory=defer.Deferred)

    @property
    def outcome(self) -> str:
        """``agent`` (was connected), ``abandoned`` (hung up first), else ``self-service``
        (the PBX ended the call: the IVR finished it)."""
        if self.connected_at is not None:
            return "agent"
        if self.caller_hung_up or self.abandoned:
            return "abandoned"
        return "self-service"

    @property
    def name(self) -> str:
        return self.channel.name

    @property
    def uniqueid(self) -> str:
        return self.channel.uniqueid


def place_call(pbx, callerid: str, context: str, exten: str, *, patience: float | None = None,
               dtmf: str = "", dtmf_delay: float = 0.5, trunk: str = "trunk",
               name: str | None = None, variables: dict[str, str] | None = None,
               talk: float | None = None, journey: Journey | None = None) -> CallHandle:
    from .pbx import parse_callerid

    party = parse_callerid(callerid) or Party()
    chan_name = f"PJSIP/{trunk}-{pbx.next_channel_seq('PJSIP'):08x}"
    chan = pbx.new_channel("PJSIP", chan_name, context, exten, ChannelState.RING)
    chan.caller = Party(party.num, name or party.name)
    chan.connected = Party(party.num, name or party.name)
    chan.variables.update(variables or {})
    handle = CallHandle(chan, pbx.now(), journey=journey)
    digits = list(dtmf)
    timers = []

    def key_next_digit() -> None:
        if digits and not chan.hung_up:
            timers.append(pbx.reactor.callLater(dtmf_delay, _key, pbx, chan, digits))

    if journey is not None:
        handle.runner = JourneyRunner(pbx, handle, journey)
    else:
        chan.dtmf_source = key_next_digit

    def give_up() -> None:
        if not chan.hung_up and chan.bridge is None and handle.connected_at is None:
            handle.abandoned = handle.caller_hung_up = True
            pbx.request_hangup(chan, 16)

    def end_talk() -> None:
        if not chan.hung_up and chan.bridge is not None:
            handle.hung_up_talking = handle.caller_hung_up = True
            pbx.request_hangup(chan, 16)

    if patience is not None:
        timers.append(pbx.reactor.callLater(patience, give_up))

    def on_event(message) -> None:
        if message.name == "BridgeEnter" and handle.connected_at is None:
            handle.connected_at = pbx.now()
            if talk is not None:
                timers.append(pbx.reactor.callLater(talk, end_talk))
            if handle.runner is not None:
                handle.runner.bridged()
        elif message.name == "Hangup":
            handle.ended_at = pbx.now()
            for call in timers:
                if call.active():
                    call.cancel()
            unwatch()
            if handle.runner is not None:
                handle.runner.ended()
            handle.ended.callback(handle)

    unwatch = pbx.watch(chan.name, on_event)
    if handle.runner is not None:
        handle.runner.start()
    pbx.start_pbx(chan)
    return handle


def _key(pbx, chan: Channel, digits: list[str]) -> None:
    if digits and not chan.hung_up:
        pbx.emit_dtmf_from_caller(chan, digits.pop(0))


@dataclass
class Tier:
    """One stream of callers: arrival rate, numbers they call from, where they land."""

    rate_per_s: float
    numbers: Sequence[str]
    context: str
    exten: str
    patience_mean: float | None = None
    dtmf: str = ""
    #: (journey, weight) pairs: each caller of the tier walks one, drawn by weight
    journeys: Sequence[tuple[Journey, float]] = ()


class CallerArrivals:
    """Poisson arrivals for each tier until :meth:`stop`; every call is kept in ``calls``."""

    def __init__(self, pbx, tiers: Sequence[Tier]) -> None:
        self.pbx, self.tiers = pbx, list(tiers)
        self.calls: list[CallHandle] = []
        self._timers: dict[int, object] = {}
        self.running = False

    def start(self) -> None:
        self.running = True
        for index, _ in enumerate(self.tiers):
            self._schedule(index)

    def stop(self) -> None:
        self.running = False
        for call in self._timers.values():
            if call.active():
                call.cancel()
        self._timers.clear()

    def _schedule(self, index: int) -> None:
        tier = self.tiers[index]
        if tier.rate_per_s > 0:
            delay = self.pbx.random.expovariate(tier.rate_per_s)
            self._timers[index] = self.pbx.reactor.callLater(delay, self._arrive, index)

    def _arrive(self, index: int) -> None:
        if not self.running:
            return
        tier = self.tiers[index]
        number = self.pbx.random.choice(list(tier.numbers))
        patience = (self.pbx.random.expovariate(1.0 / tier.patience_mean)
                    if tier.patience_mean else None)
        journey = None
        if tier.journeys:
            journeys = [j for j, _ in tier.journeys]
            weights = [w for _, w in tier.journeys]
            journey = self.pbx.random.choices(journeys, weights=weights)[0]
        self.calls.append(place_call(self.pbx, number, tier.context, tier.exten,
                                     patience=patience, dtmf=tier.dtmf, journey=journey))
        self._schedule(index)

    def outcomes(self) -> dict[str, int]:
        """How the calls so far ended: ``self-service`` / ``agent`` / ``abandoned`` counts."""
        counts: dict[str, int] = {}
        for call in self.calls:
            if call.ended.called:
                counts[call.outcome] = counts.get(call.outcome, 0) + 1
        return counts
