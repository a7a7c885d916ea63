"""A simulated Asterisk channel: identity, dialplan location, state, variables, interruptions.

A channel is a plain object owned by the :class:`~cti.pbxsim.engine.pbx.PBX`; it publishes
nothing itself. What a channel *does* lives in the applications; what other parties do *to*
it (hang up, redirect, send DTMF, answer the far end) arrives as an :class:`Interruption`
delivered to whatever the channel is currently waiting for.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Callable

from twisted.internet import defer


class ChannelState(enum.IntEnum):
    """Asterisk's ``ast_channel_state``; ``desc`` is the ``ChannelStateDesc`` text."""

    DOWN = 0
    RSRVD = 1
    OFFHOOK = 2
    DIALING = 3
    RING = 4
    RINGING = 5
    UP = 6
    BUSY = 7

    @property
    def desc(self) -> str:
        return _STATE_DESC[self]


_STATE_DESC = {
    ChannelState.DOWN: "Down", ChannelState.RSRVD: "Rsrvd", ChannelState.OFFHOOK: "OffHook",
    ChannelState.DIALING: "Dialing", ChannelState.RING: "Ring", ChannelState.RINGING: "Ringing",
    ChannelState.UP: "Up", ChannelState.BUSY: "Busy",
}

UNKNOWN = "<unknown>"
#: what :meth:`Channel.suspend` fires with when the caller starts speaking
VOICE = "voice"


class Interruption(Exception):
    """Something from outside stopped what the channel was waiting for."""


class HangupInterruption(Interruption):
    """The channel was asked to hang up."""


class RedirectInterruption(Interruption):
    """The channel was sent elsewhere in the dialplan (AMI ``Redirect``: an async goto)."""


@dataclass
class Party:
    """Caller id or connected line: number and name (``None`` prints as ``<unknown>``)."""

    num: str | None = None
    name: str | None = None

    @property
    def num_text(self) -> str:
        return UNKNOWN if self.num is None else self.num

    @property
    def name_text(self) -> str:
        return UNKNOWN if self.name is None else self.name


@dataclass(eq=False)
class Channel:
    name: str
    uniqueid: str
    linkedid: str
    tech: str
    context: str
    exten: str
    priority: int = 1
    state: ChannelState = ChannelState.DOWN
    caller: Party = field(default_factory=Party)
    connected: Party = field(default_factory=Party)
    language: str = "en"
    accountcode: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    created_at: float = 0.0
    answered_at: float | None = None
    #: the current application and its data, as Newexten/CDR report them
    app: str = ""
    appdata: str = ""
    hangupcause: int | None = None
    #: set once a SoftHangupRequest was published (Asterisk publishes it once per channel)
    soft_hangup_sent: bool = False
    hangup_requested: bool = False
    hung_up: bool = False
    #: the other half of a Local channel pair
    local_peer: "Channel | None" = None
    #: for the ``;1`` half created by Dial/Originate: who waits for its answer
    owner_listener: Callable[[str, Any], None] | None = None
    bridge: Any = None
    pbx_running: bool = False
    in_h_exten: bool = False
    #: (context, exten, priority) to continue at, set by Goto and Redirect
    jump: tuple[str, str, int] | None = None
    #: a Redirect landed while the channel was in a bridge (Newexten quirk pending)
    redirected_from_bridge: bool = False
    mixmonitors: int = 0
    dtmf_buffer: list[str] = field(default_factory=list)
    cdr: Any = None
    #: a simulated caller's keypad: called when the channel starts waiting for a digit
    dtmf_source: Callable[[], None] | None = None
    #: a simulated caller's ears: called with ("prompt", file) when a sound starts playing
    #: and ("record", file) when a recording starts
    media_listener: Callable[[str, str], None] | None = None
    #: the caller speaks until this time (reactor seconds): what a recording's silence
    #: detector hears
    voice_until: float = 0.0
    #: a prompt is playing (a digit now would barge into it)
    playing_prompt: bool = False
    _waiter: defer.Deferred | None = field(default=None, repr=False)
    _wake_on_dtmf: bool = field(default=False, repr=False)
    _wake_on_voice: bool = field(default=False, repr=False)
    _timer: Any = field(default=None, repr=False)

    @property
    def is_up(self) -> bool:
        return self.state is ChannelState.UP

    # -- waiting ---------------------------------------------------------------------------
    def suspend(self, reactor, seconds: float | None, *, wake_on_dtmf: bool = False,
                wake_on_voice: bool = False) -> defer.Deferred:
        """Wait ``seconds`` (forever if None). Fires with None on timeout, with the digit if
        ``wake_on_dtmf`` and a digit arrives, with :data:`VOICE` if ``wake_on_voice`` and the
        caller starts speaking; errbacks with an :class:`Interruption`."""
        if self.hangup_requested:
            return defer.fail(HangupInterruption())
        if self.jump is not None and self.pbx_running:
            return defer.fail(RedirectInterruption())
        if wake_on_dtmf and self.dtmf_buffer:
            return defer.succeed(self.dtmf_buffer.pop(0))
        d = defer.Deferred()
        self._waiter = d
        self._wake_on_dtmf = wake_on_dtmf
        self._wake_on_voice = wake_on_voice
        if wake_on_dtmf and self.dtmf_source is not None:
            self.dtmf_source()
        if seconds is not None:
            self._timer = reactor.callLater(max(0.0, seconds), self._wake, None)
        return d

    def _wake(self, value: Any) -> None:
        d, self._waiter = self._waiter, None
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        if d is not None:
            if isinstance(value, Exception):
                d.errback(value)
            else:
                d.callback(value)

    def interrupt(self, exc: Interruption) -> None:
        if self._waiter is not None:
            self._wake(exc)

    def wake(self, value: Any = None) -> None:
        """Resume a waiting application with ``value`` (the far end answered, etc.)."""
        if self._waiter is not None:
            self._wake(value)

    def deliver_dtmf(self, digit: str) -> None:
        """A digit arrived: it wakes an application reading digits; otherwise it is read
        and discarded with the other frames, as on Asterisk."""
        if self._waiter is not None and self._wake_on_dtmf:
            self._wake(digit)

    def speak(self, now: float, seconds: float) -> None:
        """The caller talks for ``seconds`` from ``now`` (heard by a recording)."""
        self.voice_until = max(self.voice_until, now + seconds)
        if self._waiter is not None and self._wake_on_voice:
            self._wake(VOICE)

    def media_started(self, kind: str, name: str) -> None:
        if self.media_listener is not None:
            self.media_listener(kind, name)

    @property
    def wants_digit(self) -> bool:
        """Waiting, and a digit would wake it."""
        return self._waiter is not None and self._wake_on_dtmf

    @property
    def waiting(self) -> bool:
        return self._waiter is not None
