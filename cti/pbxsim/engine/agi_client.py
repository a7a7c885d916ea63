"""The ``AGI`` application: a FastAGI client, as Asterisk's res_agi is one.

``AGI(agi://host[:port]/script,arg1,arg2)`` connects to the FastAGI server, sends the
``agi_*`` environment (field order as Asterisk 22 sends it), then reads one command per line
and answers each with Asterisk's result line (see :mod:`.agi_commands`).

Hangups follow Asterisk exactly: if the channel hangs up — or is *redirected*, which on this
wire looks the same — while a command is pending, that command answers ``200 result=-1``,
then an unsolicited ``HANGUP`` line follows; from then on the commands that need a live
channel answer ``511``; and when the session ends (the server closes or half-closes),
``HANGUP`` is sent again. ``AGISIGHUP=no`` on the channel turns the ``HANGUP`` lines off.
``AGISTATUS`` ends as ``SUCCESS``, ``HANGUP`` (the channel went away) or ``FAILURE`` (no
connection).
"""
from __future__ import annotations

import logging
import shlex
from typing import Callable
from urllib.parse import urlsplit

from twisted.internet import defer, protocol
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.protocols.basic import LineOnlyReceiver
from zope.interface import implementer

from cti.pbxsim.dialplan import split_args

from . import agi_commands, events
from .apps import application
from .channel import Interruption

log = logging.getLogger(__name__)

AGI_PORT = 4573
AGI_VERSION = "22.10.1"


class AGIURLError(ValueError):
    """The AGI application got something other than ``agi://host[:port]/script``."""


def parse_agi_url(url: str) -> tuple[str, int, str]:
    if not url.startswith("agi://"):
        raise AGIURLError(f"not a FastAGI URL: {url!r}")
    parts = urlsplit(url)
    script = url.split("/", 3)[3] if url.count("/") >= 3 else ""
    if not parts.hostname:
        raise AGIURLError(f"no host in {url!r}")
    return parts.hostname, parts.port or AGI_PORT, script


def environment(chan, request: str, script: str, args: list[str], thread_id: int) -> bytes:
    """The ``agi_*`` block, ended by an empty line (``\\n`` line ends, no CR)."""
    fields = [
        ("agi_network", "yes"), ("agi_network_script", script), ("agi_request", request),
        ("agi_channel", chan.name), ("agi_language", chan.language), ("agi_type", chan.tech),
        ("agi_uniqueid", chan.uniqueid), ("agi_version", AGI_VERSION),
        ("agi_callerid", chan.caller.num or "unknown"),
        ("agi_calleridname", chan.caller.name or "unknown"),
        ("agi_callingpres", "0"), ("agi_callingani2", "0"), ("agi_callington", "0"),
        ("agi_callingtns", "0"), ("agi_dnid", "unknown"), ("agi_rdnis", "unknown"),
        ("agi_context", chan.context), ("agi_extension", chan.exten),
        ("agi_priority", str(chan.priority)), ("agi_enhanced", "0.0"),
        ("agi_accountcode", chan.accountcode), ("agi_threadid", str(thread_id)),
    ]
    fields += [(f"agi_arg_{i}", arg) for i, arg in enumerate(args, 1)]
    return "".join(f"{k}: {v}\n" for k, v in fields).encode("utf-8") + b"\n"


def parse_command_args(text: str) -> list[str]:
    """Split an AGI command line as res_agi does: whitespace, double quotes, backslashes."""
    lexer = shlex.shlex(text, posix=True)
    lexer.whitespace_split = True
    lexer.quotes = '"'
    lexer.escape = "\\"
    lexer.commenters = ""
    try:
        return list(lexer)
    except ValueError:                      # unbalanced quote: take the rest literally
        return text.split()


@implementer(IHalfCloseableProtocol)
class FastAGIClientProtocol(LineOnlyReceiver):
    """Thin: queues command lines for the session and reports the end of the stream."""

    delimiter = b"\n"
    MAX_LENGTH = 65536

    def __init__(self, session: "AGISession") -> None:
        self.session = session

    def connectionMade(self) -> None:
        self.session.connected(self)

    def lineReceived(self, line: bytes) -> None:
        self.session.line_received(line.rstrip(b"\r").decode("utf-8", "replace"))

    def lineLengthExceeded(self, line: bytes) -> None:
        log.warning("FastAGI server sent an over-long line; closing")
        self.transport.loseConnection()

    def readConnectionLost(self) -> None:
        self.session.server_closed()

    def writeConnectionLost(self) -> None:
        pass

    def connectionLost(self, reason=None) -> None:
        self.session.server_closed(lost=True)


class AGISession:
    """One FastAGI conversation on one channel, driven by the channel's dialplan coroutine."""

    def __init__(self, pbx, chan, request: str, script: str, args: list[str]) -> None:
        self.pbx, self.chan = pbx, chan
        self.request, self.script, self.args = request, script, args
        self.proto: FastAGIClientProtocol | None = None
        self.lines: list[str] = []
        self.closed = False
        self.dead = False
        self.music_on = False
        self.location: list = [None, None, None]     # SET CONTEXT, EXTENSION, PRIORITY
        self._activity: defer.Deferred | None = None

    # -- protocol side -----------------------------------------------------------------------
    def connected(self, proto: FastAGIClientProtocol) -> None:
        self.proto = proto
        proto.transport.write(environment(self.chan, self.request, self.script, self.args,
                                          self.pbx.random.randrange(10**14, 10**15)))

    def line_received(self, line: str) -> None:
        self.lines.append(line)
        self._poke()

    def server_closed(self, lost: bool = False) -> None:
        if not self.closed:
            self.closed = True
            if not lost:
                self._send_hangup_line()
            if self.proto is not None and self.proto.transport is not None:
                self.proto.transport.loseConnection()
        self._poke()

    def _poke(self) -> None:
        if self._activity is not None:
            d, self._activity = self._activity, None
            d.callback(None)
        elif not self.dead and self.chan.waiting and self.waiting_for_server:
            self.chan.wake(None)

    waiting_for_server = False

    def _write(self, text: str) -> None:
        if self.proto is not None and self.proto.transport is not None and not self.closed:
            self.proto.transport.write(text.encode("utf-8"))

    def _send_hangup_line(self) -> None:
        if self.chan.variables.get("AGISIGHUP", "yes").lower() != "no":
            if self.proto is not None and self.proto.transport is not None:
                self.proto.transport.write(b"HANGUP\n")

    # -- channel side ------------------------------------------------------------------------
    async def run(self) -> str:
        while True:
            if self.lines:
                await self._execute(self.lines.pop(0))
                continue
            if self.closed:
                break
            await self._wait_for_server()
        if self.music_on and not self.chan.hung_up:
            self.pbx.emit(events.moh_stop(self.chan))
        context, exten, priority = self.location
        if (context, exten, priority) != (None, None, None):
            # SET CONTEXT/EXTENSION moved the channel; the loop then goes on at the priority
            # SET PRIORITY gave, else at the one after this AGI step (ast_explicit_goto)
            if priority is None or priority < 0:
                priority = self.chan.priority + 1
            self.chan.jump = (context or self.chan.context, exten or self.chan.exten, priority)
        return "HANGUP" if self.dead else "SUCCESS"

    async def _wait_for_server(self) -> None:
        if self.dead:
            self._activity = defer.Deferred()
            await self._activity
            return
        self.waiting_for_server = True
        try:
            await self.chan.suspend(self.pbx.reactor, None)
        except Interruption:
            self._channel_gone()
        finally:
            self.waiting_for_server = False

    def _channel_gone(self) -> None:
        if not self.dead:
            self.dead = True
            self._send_hangup_line()

    async def _execute(self, line: str) -> None:
        words = parse_command_args(line)
        handler, dead_ok, size = agi_commands.find(words)
        command_id = self.pbx.random.randrange(1, 2**31)
        self.pbx.emit(events.agi_exec_start(self.chan, command_id, line))
        interrupted = False
        if handler is None:
            outcome = agi_commands.UNKNOWN
        elif self.dead and not dead_ok:
            outcome = agi_commands.DEAD
        else:
            try:
                outcome = await handler(self, words[size:])
            except Interruption as exc:
                wire = getattr(exc, "agi_wire", None)
                outcome = agi_commands.failure(wire[4:]) if wire else agi_commands.failure()
                interrupted = True
        self._write(outcome.wire + "\n")
        self.pbx.emit(events.agi_exec_end(self.chan, command_id, line, outcome.code, outcome.result))
        if interrupted or (not self.dead and self.chan.hangup_requested):
            self._channel_gone()


Connector = Callable[[str, int, protocol.Protocol], defer.Deferred]


def tcp_connector(reactor=None) -> Connector:
    """Connect over real TCP (the default outside tests)."""
    from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol

    def connect(host: str, port: int, proto: protocol.Protocol) -> defer.Deferred:
        if reactor is None:
            from twisted.internet import reactor as default_reactor
            endpoint = TCP4ClientEndpoint(default_reactor, host, port, timeout=5)
        else:
            endpoint = TCP4ClientEndpoint(reactor, host, port, timeout=5)
        return connectProtocol(endpoint, proto)
    return connect


@application("AGI")
async def agi(pbx, chan, data):
    args = split_args(data)
    request = args[0].strip() if args else ""
    try:
        host, port, script = parse_agi_url(request)
    except AGIURLError as exc:
        log.warning("AGI on %s: %s", chan.name, exc)
        pbx.set_var(chan, "AGISTATUS", "FAILURE")
        return
    address = pbx.agi_hosts.get(f"{host}:{port}") or pbx.agi_hosts.get(host) or (host, port)
    session = AGISession(pbx, chan, request, script, args[1:])
    connector = pbx.agi_connector or tcp_connector()
    try:
        await connector(address[0], int(address[1]), FastAGIClientProtocol(session))
    except Exception as exc:  # noqa: BLE001 - any connection failure is AGISTATUS=FAILURE
        log.warning("FastAGI %s unreachable for %s: %s", request, chan.name, exc)
        pbx.set_var(chan, "AGISTATUS", "FAILURE")
        return
    status = await session.run()
    pbx.set_var(chan, "AGISTATUS", status)
