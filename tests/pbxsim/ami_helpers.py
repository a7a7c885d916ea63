"""Test helpers for the AMI server: a client over StringTransport and a small fake engine.

The fake engine implements the part of the PBX contract the AMI server calls, with events
emitted synchronously from inside the calls, which is the hard case for ordering (the reply
must still go out first).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from cti.pbxsim.ami import AMIServerFactory, parse_manager_conf
from cti.protocol.ami import AMIParser, Banner
from cti.protocol.ami_message import Message

from .conformance import loopback_transport

MANAGER_CONF = """
[general]
authtimeout = 30

[admin]
secret = s3cret
read = all
write = all

[calls]
secret = calls
read = call
write = call

[ro]
secret = ro
read = all
write =

[nohome]
secret = x
deny = 0.0.0.0/0.0.0.0
permit = 10.0.0.0/255.0.0.0
read = all
write = all

[quiet]
secret = quiet
read = all
write = all
eventfilter = !Event: VarSet
eventfilter = !Event: Newexten

[only_hangups]
secret = oh
read = all
write = all
eventfilter = Event: Hangup
"""


class Client:
    """One AMI connection to a factory, reading what the server wrote as messages."""

    def __init__(self, factory: AMIServerFactory, transport: StringTransport | None = None):
        self.transport = transport or loopback_transport()
        self.protocol = factory.buildProtocol(self.transport.getPeer())
        self.protocol.makeConnection(self.transport)
        self._parser = AMIParser(expect_banner=True)
        self._seen = 0

    def send(self, *pairs: tuple[str, str], raw: bytes | None = None) -> None:
        self.protocol.dataReceived(raw if raw is not None else Message.of(pairs).encode())

    def action(self, name: str, **headers: str) -> None:
        self.send(("Action", name), *headers.items())

    def read(self) -> list[Message]:
        data = self.transport.value()
        new, self._seen = data[self._seen:], len(data)
        return [m for m in self._parser.feed(new) if not isinstance(m, Banner)]

    def login(self, user: str = "admin", secret: str = "s3cret", **extra: str) -> list[Message]:
        self.action("Login", Username=user, Secret=secret, **extra)
        return self.read()

    @property
    def closed(self) -> bool:
        return self.transport.disconnecting or self.transport.disconnected


def make_factory(pbx=None, clock: Clock | None = None, **kwargs) -> tuple[AMIServerFactory, Clock]:
    clock = clock or Clock()
    return AMIServerFactory(parse_manager_conf(MANAGER_CONF), pbx=pbx, clock=clock,
                            **kwargs), clock


def event(name: str, privilege: str = "call,all", **headers: str) -> Message:
    return Message.of([("Event", name), ("Privilege", privilege), *headers.items()])


# -- fake engine ---------------------------------------------------------------------------
@dataclass
class Party:
    num: str | None = None
    name: str | None = None

    @property
    def num_text(self) -> str:
        return "<unknown>" if self.num is None else self.num

    @property
    def name_text(self) -> str:
        return "<unknown>" if self.name is None else self.name


@dataclass(eq=False)
class FakeChannel:
    name: str
    uniqueid: str
    tech: str = "Local"
    context: str = "hotline"
    exten: str = "10090"
    priority: int = 3
    app: str = "MusicOnHold"
    appdata: str = "default,60"
    created_at: float = 0.0
    connected: Party = field(default_factory=lambda: Party("5551000", "Test Caller"))
    variables: dict[str, str] = field(default_factory=dict)
    bridge: object = None
    mixmonitors: int = 0


@dataclass(frozen=True)
class Result:
    success: bool
    reason: int
    channel: str
    uniqueid: str | None


class FakePBX:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.listeners: list[Callable[[Message], None]] = []
        self.chans: dict[str, FakeChannel] = {}
        self.globals: dict[str, str] = {"AGI_HOST": "127.0.0.1:4573"}
        self.calls: list[tuple] = []
        self.originate_outcome: defer.Deferred | Result | None = None
        self.database: dict[tuple[str, str], str] = {}

    def subscribe(self, listener):
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener)

    def emit(self, message: Message) -> None:
        for listener in list(self.listeners):
            listener(message)

    def add(self, name: str, uniqueid: str = "1795360169.0", **kwargs) -> FakeChannel:
        chan = FakeChannel(name, uniqueid, **kwargs)
        self.chans[name] = chan
        return chan

    def channels(self):
        return list(self.chans.values())

    def find_channel(self, name):
        return self.chans.get(name)

    def channel_headers(self, chan):
        return [("Channel", chan.name), ("Uniqueid", chan.uniqueid)]

    def getvar(self, chan, name):
        if name == "CALLERID(all)" and chan is not None:
            return '"Test Caller" <5551000>'
        return (chan.variables if chan is not None else self.globals).get(name)

    def setvar(self, chan, name, value):
        if name == "READONLY()":
            raise ValueError("read-only function")
        (chan.variables if chan is not None else self.globals)[name] = value
        self.emit(event("VarSet", "dialplan,all", Variable=name, Value=value))

    def hangup(self, name, cause):
        self.calls.append(("hangup", name, cause))
        self.emit(event("SoftHangupRequest", Channel=name, Cause=str(cause)))
        del self.chans[name]
        self.emit(event("Hangup", Channel=name, Cause=str(cause)))

    def redirect(self, name, context, exten, priority, **extra):
        self.calls.append(("redirect", name, context, exten, priority, extra))
        self.emit(event("Newexten", "dialplan,all", Channel=name, Context=context))

    def mixmonitor(self, name, file, options):
        self.chans[name].mixmonitors += 1
        self.emit(event("MixMonitorStart", Channel=name))
        return "/var/spool/asterisk/monitor/" + file

    def stop_mixmonitor(self, name):
        chan = self.chans[name]
        if not chan.mixmonitors:
            return False
        chan.mixmonitors -= 1
        self.emit(event("MixMonitorStop", Channel=name))
        return True

    def originate(self, channel, **kwargs):
        self.calls.append(("originate", channel, kwargs))
        self.emit(event("Newchannel", Channel=channel + "-00000000;1"))
        return self.originate_outcome

    def command(self, text):
        if text == "core show version":
            return True, ["Asterisk 22.10.1 built by test"]
        return False, [f"No such command '{text}'"]
