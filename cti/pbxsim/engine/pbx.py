"""The PBX facade: the one object the AMI server and the tests talk to.

It owns the channels, the event bus, identifiers (uniqueids, channel sequence numbers,
bridge ids, AGI command ids, all from one seeded :class:`random.Random`) and every
operation that changes a channel and must be published (state, variables, hangup, bridge).
Applications live in :mod:`.apps`, the dialplan loop in :mod:`.runner`, channel technologies
in :mod:`.local` and :mod:`.phones`, event listeners and per-channel watchers in :mod:`.bus`.
All timing goes through the ``reactor`` it is given (``callLater``/``seconds``), so a
:class:`twisted.internet.task.Clock` runs a whole call instantly and a real reactor runs it in
real time.

``event_latency`` (seconds): listeners (the AMI server) get the events of different channels
in a seeded random interleaving, each channel's own in order, as Asterisk's channel threads
deliver them (:mod:`.interleave`); by default on, with the interleaving drawn from ``seed``.
0 gives the engine's own causal order at once. Watchers of one channel (simulated callers)
get that channel's events at once either way.
"""
from __future__ import annotations

import itertools
import logging
import random
import re
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

from twisted.internet import defer

from cti.protocol.ami_message import Message

from cti.pbxsim.dialplan import GotoError, parse_goto, substitute

from . import cdr, events, local, runner
from . import bridge
from .bus import EventBus
from .interleave import Interleaver
from .channel import (Channel, ChannelState, HangupInterruption, Party,
                      RedirectInterruption)
from .commands import run_command
from .sounds import DEFAULT_SOUNDS, lookup as lookup_sound

log = logging.getLogger(__name__)

MONITOR_DIR = "/var/spool/asterisk/monitor"
DEFAULT_EVENT_LATENCY = 0.005        # up to 5 ms between a channel thread and AMI
_LEADING_INT = re.compile(r"\s*([+-]?\d+)")


class PBXError(Exception):
    """Base of the errors the facade raises to the AMI server."""


class NoSuchChannel(PBXError):
    pass


class OriginateError(PBXError):
    pass


class InvalidPriority(PBXError):
    """A ``Redirect``/``Originate`` priority that is neither a number nor a label there."""


@dataclass(frozen=True)
class OriginateResult:
    """What an ``Originate`` came to. ``reason``: 4 answered, 5 busy, 3 no answer, 1 failed."""

    success: bool
    reason: int
    channel: str
    uniqueid: str | None


def parse_callerid(text: str | None) -> Party | None:
    """``"Name" <1234>`` / ``Name <1234>`` / ``1234`` → :class:`Party`."""
    if not text:
        return None
    text = text.strip()
    if "<" in text and text.endswith(">"):
        name, _, num = text[:-1].rpartition("<")
        name = name.strip().strip('"')
        return Party(num.strip() or None, name or None)
    return Party(text, None)


class PBX:
    def __init__(self, dialplan, *, reactor, system_name: str = "asterisk",
                 agi_hosts: Mapping[str, tuple[str, int]] | None = None, phones=None,
                 seed: int = 0, agi_connector=None, uniqueid_seq: int = 0,
                 channel_seq: Mapping[str, int] | None = None, sounds: Mapping[str, int] | None = None,
                 queues: Mapping[str, dict] | None = None, monitor_dir: str = MONITOR_DIR,
                 epoch: float | None = None, event_latency: float = DEFAULT_EVENT_LATENCY) -> None:
        self.dialplan = dialplan
        self.reactor = reactor
        self.system_name = system_name
        self.agi_hosts = dict(agi_hosts or {})
        self.agi_connector = agi_connector
        self.random = random.Random(seed)
        self.globals: dict[str, str] = dict(getattr(dialplan, "globals", {}) or {})
        self.database: dict[tuple[str, str], str] = {}
        self.sounds = dict(DEFAULT_SOUNDS if sounds is None else sounds)
        #: files the Record application and RECORD FILE wrote: name (no format) -> samples
        self.recordings: dict[str, int] = {}
        self.queues = {name: dict(cfg) for name, cfg in (queues or {}).items()}
        self.queue_waiting: dict[str, list] = {}
        self.busy_members: set[str] = set()
        self.monitor_dir = monitor_dir.rstrip("/")
        self.phones = phones
        if phones is not None:
            phones.attach(self)
        self._bus = EventBus()
        # its own generator: turning the interleaving on or off changes no other draw
        self._interleaver = Interleaver(self._bus.emit_to_listeners, reactor,
                                        random.Random(f"event-order-{seed}"), event_latency)
        self._channels: dict[str, Channel] = {}
        self._uniqueid_seq = itertools.count(uniqueid_seq)
        self._channel_seq = {tech: itertools.count(n) for tech, n in (channel_seq or {}).items()}
        self._epoch = epoch

    # -- events (see :mod:`.bus`) -----------------------------------------------------------
    def subscribe(self, listener: Callable[[Message], None]) -> Callable[[], None]:
        """``listener`` gets every event (the AMI server, tests); returns the unsubscribe."""
        return self._bus.subscribe(listener)

    def watch(self, channel_name: str, callback: Callable[[Message], None]) -> Callable[[], None]:
        """``callback`` gets the events whose ``Channel`` is ``channel_name``; returns the unwatch.

        One dict lookup per event however many channels are watched (a listener per simulated
        caller made every event cost O(callers)). Dropped once the channel's ``Hangup`` is out.
        """
        return self._bus.watch(channel_name, callback)

    def watched_channels(self) -> list[str]:
        """Names of the channels that have watchers (a leak shows here)."""
        return self._bus.watched_channels()

    def emit(self, message: Message) -> None:
        self._interleaver.offer(message)
        self._bus.emit_to_watchers(message)

    @property
    def event_latency(self) -> float:
        return self._interleaver.latency

    @event_latency.setter
    def event_latency(self, seconds: float) -> None:
        self._interleaver.latency = max(0.0, float(seconds))

    def flush_events(self) -> None:
        """Hand the listeners every event still held by the interleaving, now."""
        self._interleaver.flush()

    def now(self) -> float:
        return self.reactor.seconds()

    # -- channels --------------------------------------------------------------------------
    def channels(self) -> list[Channel]:
        return list(self._channels.values())

    def find_channel(self, name: str) -> Channel | None:
        return self._channels.get(name)

    def channel_headers(self, chan: Channel) -> list[tuple[str, str]]:
        return events.channel_headers(chan)

    def next_channel_seq(self, tech: str) -> int:
        return next(self._channel_seq.setdefault(tech, itertools.count()))

    def new_channel(self, tech: str, name: str, context: str, exten: str, state: ChannelState,
                    *, linkedid: str | None = None) -> Channel:
        now = self.now()
        stamp = int(now if self._epoch is None else self._epoch + now)
        uniqueid = f"{stamp}.{next(self._uniqueid_seq)}"
        chan = Channel(name=name, uniqueid=uniqueid, linkedid=linkedid or uniqueid, tech=tech,
                       context=context, exten=exten, state=state, created_at=now)
        cdr.track(chan, now)
        self._channels[name] = chan
        self.emit(events.newchannel(chan))
        return chan

    def request_channel(self, tech: str, resource: str, *, requestor: Channel | None) -> Channel:
        """Create an outgoing channel (``ast_request``); ``requestor`` passes its linkedid."""
        linkedid = requestor.linkedid if requestor is not None else None
        if tech == "Local":
            chan = local.create(self, resource, linkedid)
        elif tech == "PJSIP" and self.phones is not None:
            chan = self.phones.create(resource, linkedid)
        else:
            raise OriginateError(f"no channel technology for {tech}/{resource}")
        if requestor is not None:
            chan.cdr = None            # a dialled leg shows in the caller's CDR
        return chan

    def call_channel(self, chan: Channel, inherited: dict[str, str]) -> None:
        if chan.tech == "Local":
            local.call(self, chan, inherited)
        elif self.phones is not None:
            self.phones.call(chan)

    def set_state(self, chan: Channel, state: ChannelState) -> None:
        if chan.state is state:
            return
        chan.state = state
        if state is ChannelState.UP and chan.answered_at is None:
            chan.answered_at = self.now()
            cdr.on_answer(chan, chan.answered_at)
        self.emit(events.newstate(chan))
        if chan.tech == "Local":
            local.on_state(self, chan)

    def answer(self, chan: Channel) -> None:
        if chan.state is not ChannelState.UP:
            self.set_state(chan, ChannelState.UP)
            if chan.tech != "Local":
                self.notify_owner(chan, "answer")

    def indicate(self, chan: Channel, kind: str) -> None:
        """``ast_indicate``: ringing/busy/congestion reach whoever called this channel."""
        if chan.tech == "Local" and chan.name.endswith(";2") and chan.local_peer is not None:
            one = chan.local_peer
            if kind == "ringing":
                if one.state not in (ChannelState.RINGING, ChannelState.UP):
                    self.set_state(one, ChannelState.RINGING)
                    self.notify_owner(one, "ringing")
            elif kind in ("busy", "congestion"):
                local.on_busy(self, chan)
        else:
            if kind == "ringing" and chan.state not in (ChannelState.RINGING, ChannelState.UP):
                self.set_state(chan, ChannelState.RINGING)
            self.notify_owner(chan, "busy" if kind == "congestion" else kind)

    def notify_owner(self, chan: Channel, kind: str, detail=None) -> None:
        if chan.owner_listener is not None:
            chan.owner_listener(kind, detail)

    # -- variables -------------------------------------------------------------------------
    def set_var(self, chan: Channel, name: str, value: str) -> None:
        chan.variables[name] = value
        self.emit(events.varset(chan, name, value))

    def assign(self, chan: Channel, name: str, value: str) -> None:
        """``Set(name=value)``: plain variables and the writable functions."""
        fname, sep, rest = name.partition("(")
        if sep and rest.endswith(")"):
            arg = rest[:-1].strip().lower()
            upper = fname.upper()
            if upper in ("CALLERID", "CONNECTEDLINE"):
                party = chan.caller if upper == "CALLERID" else chan.connected
                if arg in ("num", "number"):
                    party.num = value
                elif arg == "name":
                    party.name = value
                elif arg == "all":
                    parsed = parse_callerid(value) or Party()
                    party.num, party.name = parsed.num, parsed.name
                cdr.refresh_party(chan)
                self.emit(events.newcallerid(chan) if upper == "CALLERID" else events.newconnectedline(chan))
            elif upper == "CHANNEL" and arg == "language":
                chan.language = value
            elif upper == "CHANNEL" and arg == "accountcode":
                chan.accountcode = value
            elif upper == "DB":
                family, _, key = rest[:-1].partition("/")
                self.database[(family, key)] = value
            elif upper == "GLOBAL":
                self.setvar(None, rest[:-1], value)
            else:
                log.debug("Set of unsupported function %s on %s", name, chan.name)
            return
        self.set_var(chan, name.lstrip("_") if name.startswith("_") else name, value)

    def substitute(self, chan: Channel | None, text: str) -> str:
        return substitute(text, lambda name: runner.resolve_variable(self, chan, name),
                          lambda name, args: runner.call_function(self, chan, name, args))

    def getvar(self, chan_or_none, name: str) -> str | None:
        chan = self._resolve(chan_or_none)
        if "(" in name:
            return self.substitute(chan, "${" + name + "}")
        return runner.resolve_variable(self, chan, name)

    def setvar(self, chan_or_none, name: str, value: str) -> None:
        chan = self._resolve(chan_or_none)
        if chan is None:
            self.globals[name] = value
            self.emit(events.global_varset(name, value))
        else:
            self.assign(chan, name, value)

    def _resolve(self, chan_or_none) -> Channel | None:
        if chan_or_none is None or isinstance(chan_or_none, Channel):
            return chan_or_none
        chan = self.find_channel(str(chan_or_none))
        if chan is None:
            raise NoSuchChannel(str(chan_or_none))
        return chan

    # -- dialplan moves --------------------------------------------------------------------
    def goto(self, chan: Channel, target: str) -> None:
        """``pbx_builtin_goto``: send ``chan`` to ``[[context,]exten,]priority`` when the step ends.

        The priority is a number, a label, or ``+n``/``-n`` counted from the step now running.
        The text is cut at every comma (Asterisk's ``strsep``, no quoting), an empty context or
        extension means the current one. Raises :class:`GotoError` when there is no priority or
        no such label: the application fails and the channel hangs up, as in Asterisk.
        """
        context, exten, where = parse_goto(target.split(","), (chan.context, chan.exten))
        priority = self.dialplan.resolve_priority(context, exten, where, chan.priority)
        if priority < 0:
            # ast_explicit_goto keeps the priority it cannot set; the loop then adds one
            priority = chan.priority + 1
        chan.jump = (context, exten, priority)

    def priority_number(self, context: str, exten: str, priority: int | str | None) -> int:
        """An AMI ``Priority:`` (a number, or a label of ``context,exten``) as a number.

        What ``Redirect`` and ``Originate`` accept: a leading integer is taken as it is
        (``sscanf("%d")``), anything else must be a label. Raises :class:`InvalidPriority`.
        """
        if priority is None or priority == "":
            return 1
        if isinstance(priority, int):
            return priority
        number = _LEADING_INT.match(priority)
        if number:
            return int(number.group(1))
        try:
            return self.dialplan.resolve_priority(context, exten, priority.strip())
        except GotoError as exc:
            raise InvalidPriority(exc.message) from exc

    def start_pbx(self, chan: Channel) -> None:
        self.reactor.callLater(0, runner.run, self, chan)

    # -- hangup ----------------------------------------------------------------------------
    def request_hangup(self, chan: Channel, cause: int) -> None:
        """``ast_queue_hangup_with_cause``: what the far end of a Local pair sees."""
        if chan.hung_up:
            return
        self.emit(events.hangup_request(chan, cause))
        if chan.hangupcause is None:
            chan.hangupcause = cause
        self._stop(chan)

    def soft_hangup(self, chan: Channel, cause: int) -> None:
        """``ast_softhangup``: published once per channel."""
        chan.hangup_requested = True
        if not chan.soft_hangup_sent:
            chan.soft_hangup_sent = True
            self.emit(events.soft_hangup_request(chan, cause))

    def hangup(self, name: str, cause: int = 16) -> None:
        """AMI ``Hangup``."""
        chan = self.find_channel(name)
        if chan is None:
            raise NoSuchChannel(name)
        if chan.hangupcause is None:
            chan.hangupcause = cause
        if chan.pbx_running:
            chan.hangup_requested = True
            chan.interrupt(HangupInterruption())
            self.soft_hangup(chan, cause)
        else:
            self.soft_hangup(chan, cause)
            self._stop(chan)

    def _stop(self, chan: Channel) -> None:
        chan.hangup_requested = True
        if chan.pbx_running or chan.in_h_exten:
            chan.interrupt(HangupInterruption())
        elif chan.bridge is not None:
            self.bridge_leave(chan)
            self.destroy(chan)
        elif chan.owner_listener is not None:
            self.notify_owner(chan, "hangup")
        else:
            self.destroy(chan)

    def hangup_outgoing(self, chan: Channel) -> None:
        """The requester drops an outgoing channel it no longer wants (no answer, busy)."""
        chan.owner_listener = None
        if not chan.hung_up:
            self.destroy(chan)

    def destroy(self, chan: Channel) -> None:
        if chan.hung_up:
            return
        chan.hung_up = True
        chan.hangup_requested = True
        if chan.bridge is not None:
            self.bridge_leave(chan)
        cause = 0 if chan.hangupcause is None else chan.hangupcause
        for record in cdr.finish(chan, self.now()):
            self.emit(events.cdr(record.fields()))
        self.emit(events.hangup(chan, cause))
        self._bus.forget(chan.name)
        self._channels.pop(chan.name, None)
        if chan.tech == "Local":
            local.on_hangup(self, chan, cause)
        elif self.phones is not None:
            self.phones.on_hangup(chan)

    # -- bridges ---------------------------------------------------------------------------
    async def bridge_call(self, caller: Channel, peer: Channel) -> None:
        """Bridge an answered call and wait until the bridge is gone (Dial, Queue)."""
        await bridge.bridge_call(self, caller, peer)

    def bridge_leave(self, chan: Channel) -> None:
        bridge.leave(self, chan)

    # -- AMI-driven actions ----------------------------------------------------------------
    def redirect(self, name: str, context: str, exten: str, priority, *, extra_channel=None,
                 extra_context=None, extra_exten=None, extra_priority=None) -> None:
        """AMI ``Redirect``; ``priority`` is a number or a label (:meth:`priority_number`)."""
        chan = self.find_channel(name)
        if chan is None:
            raise NoSuchChannel(name)
        target = (context, exten, self.priority_number(context, exten, priority))
        extra = extra_target = None
        if extra_channel:
            extra = self.find_channel(extra_channel)
            if extra is None:
                raise NoSuchChannel(extra_channel)
            where = (extra_context or context, extra_exten or exten)
            extra_target = (*where, self.priority_number(
                *where, extra_priority if extra_priority is not None else priority))
        self._redirect(chan, target)
        if extra is not None:
            self._redirect(extra, extra_target)

    def _redirect(self, chan: Channel, target: tuple[str, str, int]) -> None:
        if chan.bridge is not None:
            # Asterisk quirk: the first Newexten at the new place carries the old application
            # and comes before BridgeLeave; the step it stands for is not reported again.
            chan.context, chan.exten, chan.priority = target
            chan.jump = target
            self.emit(events.newexten(chan, chan.app, chan.appdata))
            chan.redirected_from_bridge = True
            self.bridge_leave(chan)
            if chan.pbx_running:
                chan.interrupt(RedirectInterruption())
            else:
                self.start_pbx(chan)
            return
        chan.jump = target
        if chan.pbx_running:
            chan.interrupt(RedirectInterruption())
        else:
            chan.owner_listener = None
            self.start_pbx(chan)

    def originate(self, channel: str, *, context=None, exten=None, priority=None, application=None,
                  data=None, timeout_ms: int = 30000, callerid=None, variables: Iterable = (),
                  account=None, action_id: str | None = None) -> defer.Deferred:
        """Place a call; fires with :class:`OriginateResult` and publishes ``OriginateResponse``."""
        from .originate import originate
        return originate(self, channel, context=context, exten=exten, priority=priority,
                         application=application, data=data, timeout_ms=timeout_ms,
                         callerid=callerid, variables=variables, account=account,
                         action_id=action_id)

    def mixmonitor_start(self, chan: Channel, file: str, options: str = "") -> str:
        path = file if file.startswith("/") else f"{self.monitor_dir}/{file}"
        self.set_var(chan, "MIXMONITOR_FILENAME", path)
        chan.mixmonitors += 1
        self.emit(events.mixmonitor("MixMonitorStart", chan))
        return path

    def mixmonitor_stop(self, chan: Channel) -> bool:
        if chan.mixmonitors <= 0:
            return False
        chan.mixmonitors -= 1
        self.emit(events.mixmonitor("MixMonitorStop", chan))
        return True

    def mixmonitor(self, name: str, file: str, options: str = "") -> str:
        chan = self.find_channel(name)
        if chan is None:
            raise NoSuchChannel(name)
        return self.mixmonitor_start(chan, file, options)

    def stop_mixmonitor(self, name: str) -> bool:
        chan = self.find_channel(name)
        if chan is None:
            raise NoSuchChannel(name)
        return self.mixmonitor_stop(chan)

    def send_dtmf(self, chan: Channel, digit: str, duration_ms: int = 100) -> None:
        """A digit keyed on ``chan`` arrives at the far end (``Direction: Received``)."""
        target = chan.local_peer if chan.tech == "Local" else None
        if target is None and chan.bridge is not None:
            others = chan.bridge.others(chan)
            target = others[0] if others else None
        if target is None:
            target = chan
        self.emit(events.dtmf("DTMFBegin", target, digit, "Received"))
        self.emit(events.dtmf("DTMFEnd", target, digit, "Received", duration_ms))
        target.deliver_dtmf(digit)

    def emit_dtmf_from_caller(self, chan: Channel, digit: str, duration_ms: int = 100) -> None:
        """A digit keyed by the party on the far side of ``chan`` (a caller on a trunk)."""
        self.emit(events.dtmf("DTMFBegin", chan, digit, "Received"))
        self.emit(events.dtmf("DTMFEnd", chan, digit, "Received", duration_ms))
        chan.deliver_dtmf(digit)

    def place_call(self, callerid: str, context: str, exten: str, *, patience: float | None = None,
                   dtmf: str = "", **kwargs):
        """A simulated inbound caller (see :mod:`.callers`); returns its :class:`CallHandle`."""
        from .callers import place_call
        return place_call(self, callerid, context, exten, patience=patience, dtmf=dtmf, **kwargs)

    def sound_samples(self, name: str, language: str | None = None) -> int | None:
        """Length of the file ``name`` a channel in ``language`` would play (None: no file)."""
        return lookup_sound(self.sounds, name, language)

    def keep_recording(self, name: str, samples: int) -> None:
        """A recording was written: it exists from now on, ``samples`` long."""
        self.recordings[name] = samples
        self.sounds[name] = samples

    def wall_clock(self) -> float:
        """Epoch seconds now (``${EPOCH}``, SayUnixTime without a time)."""
        return self.now() if self._epoch is None else self._epoch + self.now()

    def command(self, text: str) -> tuple[bool, list[str]]:
        return run_command(self, text)
