"""The simulator's AMI server: a thin Twisted protocol per client and a factory that fans out.

``AMIServerFactory(config, pbx=..., clock=...)`` serves the users of a ``manager.conf``
(:mod:`.accounts`), subscribes to the engine's event stream and hands every event to each
session, which decides from its login, ``Events:`` mask, read classes and ``eventfilter``
lines whether it goes out (:class:`~.session.SessionState`).

``AMIServerProtocol`` greets with the one-line banner, feeds bytes to the sans-IO
``AMIParser`` and runs the actions one at a time, in arrival order, as Asterisk's session
thread does: while an action is running (a synchronous ``Originate``, the one-second pause
after a bad login) later actions wait, and events are held back and written after the reply.

Output is bounded: the protocol registers as a streaming producer, so when the transport's
buffer fills (a slow or vanished client) writes queue here; once ``max_backlog`` bytes are
queued the client is dropped with a log line, and the others never wait for it.
"""
from __future__ import annotations

import logging
import random
from collections import deque
from typing import Any, Callable

from twisted.internet import defer, protocol
from twisted.internet.interfaces import IPushProducer
from twisted.python.failure import Failure
from zope.interface import implementer

from cti.protocol.ami import AMIParser, ProtocolError
from cti.protocol.ami_message import Message

from .accounts import ManagerConfig
from .actions import Context, Outcome, SystemInfo, process
from .responses import error
from .security import SessionIdentity
from .session import SessionState

log = logging.getLogger(__name__)

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
DEFAULT_MAX_BACKLOG = 4 * 1024 * 1024


def _address(addr: Any) -> tuple[str, str]:
    """(``IPV4/TCP/host/port``, host) for a Twisted address; something printable otherwise."""
    host = getattr(addr, "host", None)
    port = getattr(addr, "port", None)
    if host is None:
        return f"UNIX/{addr}", ""
    family = "IPV6" if ":" in host else "IPV4"
    return f"{family}/TCP/{host}/{port}", host


def without_stray_cr(message: Message) -> Message:
    """A request with stray CRs (``ActionID:\r\r\n``) taken out of its values: echoed back
    in a reply they would break the framing of what we write."""
    if not any("\r" in value for _, value in message.headers):
        return message
    return Message.of([(name, value.replace("\r", "")) for name, value in message.headers])


def lenient_headers(raw: bytes) -> Message:
    """What Asterisk makes of a block our parser rejected: every line is kept, and only the
    ``Name: value`` ones can ever match a header lookup."""
    pairs = []
    for line in raw.replace(b"\r\n", b"\n").split(b"\n"):
        name, colon, value = line.decode("utf-8", "replace").partition(":")
        if colon and name and "\r" not in name:
            pairs.append((name.strip(), value.lstrip(" ").replace("\r", "")))
    return Message.of(pairs)


@implementer(IPushProducer)
class AMIServerProtocol(protocol.Protocol):
    factory: "AMIServerFactory"

    def __init__(self) -> None:
        self._parser = AMIParser(expect_banner=False)
        self._requests: deque[Message] = deque()
        self._held: list[bytes] = []        # events that arrived while an action ran
        self._backlog: deque[bytes] = deque()
        self._backlog_bytes = 0
        self._held_bytes = 0
        self._busy = False
        self._in_loop = False
        self._paused = False
        self._open = False
        self._closing_after_backlog = False
        self._auth_timer = None
        self.session: SessionState | None = None

    # -- connection ------------------------------------------------------------------------
    def connectionMade(self) -> None:
        factory = self.factory
        local, _ = _address(self.transport.getHost())
        remote, peer_host = _address(self.transport.getPeer())
        identity = SessionIdentity(f"0x{id(self):x}", local, remote, factory.clock.seconds())
        self.session = SessionState(identity, peer_host)
        self._open = True
        self.transport.registerProducer(self, True)
        factory.sessions.add(self)
        self.transport.write(BANNER)
        if factory.config.authtimeout > 0:
            self._auth_timer = factory.clock.callLater(factory.config.authtimeout,
                                                       self._auth_timed_out)

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        self._open = False
        self.factory.sessions.discard(self)
        self._requests.clear()
        self._held.clear()
        self._backlog.clear()
        if self._auth_timer is not None and self._auth_timer.active():
            self._auth_timer.cancel()

    def _auth_timed_out(self) -> None:
        if self._open and self.session and not self.session.authenticated:
            log.info("AMI client %s did not log in within %ss: closing",
                     self.session.peer_host, self.factory.config.authtimeout)
            self._close()

    # -- input -----------------------------------------------------------------------------
    def dataReceived(self, data: bytes) -> None:
        for item in self._parser.feed(data):
            if isinstance(item, ProtocolError):
                log.info("AMI client %s sent a malformed block: %s",
                         self.session.peer_host if self.session else "?", item.reason)
                item = lenient_headers(item.raw)
            self._requests.append(without_stray_cr(item))
        self._run_next()

    def _run_next(self) -> None:
        if self._in_loop:
            return  # an action finished synchronously inside the loop below: it goes on
        self._in_loop = True
        try:
            while self._open and not self._busy and self._requests:
                request = self._requests.popleft()
                if self.factory.on_action is not None:
                    self.factory.on_action(self.session, request)
                self._busy = True
                try:
                    result = process(self.factory.context_for(self.session), request)
                except Exception:
                    log.exception("AMI action failed: %r", request.headers[:3])
                    result = Outcome([error(request, "Internal error")])
                if isinstance(result, defer.Deferred):
                    result.addErrback(self._action_crashed, request)
                    result.addCallback(self._finish)
                else:
                    self._finish(result)
        finally:
            self._in_loop = False

    def _action_crashed(self, failure: Failure, request: Message) -> Outcome:
        log.error("AMI action failed: %r: %s", request.headers[:3], failure.getTraceback())
        return Outcome([error(request, "Internal error")])

    def _finish(self, outcome: Outcome) -> None:
        if not self._open:
            return
        for message in outcome.messages:
            try:
                self._write(message.encode())
            except ValueError:  # a value with a line break: never put it on the wire
                log.error("AMI reply not sent, it has a line break in a header: %r",
                          message.headers[:3])
        held, self._held, self._held_bytes = self._held, [], 0
        for data in held:
            self._write(data)
        self._busy = False
        if outcome.close:
            self._close()
        else:
            self._run_next()

    # -- output ----------------------------------------------------------------------------
    def deliver(self, event: Message, data: bytes, text: str) -> None:
        """An event from the fan-out; ``data`` is its encoding, ``text`` that decoded."""
        if not self._open or self.session is None or not self.session.wants(event, text):
            return
        if self._busy:
            self._held.append(data)
            self._held_bytes += len(data)
            if self._held_bytes + self._backlog_bytes > self.factory.max_backlog:
                self._drop("events held during an action")
        else:
            self._write(data)

    def _write(self, data: bytes) -> None:
        if not self._open:
            return
        if not self._paused:
            self.transport.write(data)
            return
        self._backlog.append(data)
        self._backlog_bytes += len(data)
        if self._backlog_bytes > self.factory.max_backlog:
            self._drop("output backlog")

    def _drop(self, what: str) -> None:
        log.warning("AMI client %s (%s) dropped: %s over %d bytes, it does not read",
                    self.session.peer_host if self.session else "?",
                    self.session.username if self.session else "?", what,
                    self.factory.max_backlog)
        self._open = False
        self._backlog.clear()
        self._held.clear()
        self._held_bytes = self._backlog_bytes = 0
        self.transport.abortConnection()

    def _close(self) -> None:
        self._open = False
        self._requests.clear()
        if self._backlog:
            # let what is queued go out first: resumeProducing flushes, then we close
            self._closing_after_backlog = True
            return
        self.transport.loseConnection()

    # -- IPushProducer ---------------------------------------------------------------------
    def pauseProducing(self) -> None:
        self._paused = True

    def resumeProducing(self) -> None:
        self._paused = False
        while self._backlog and not self._paused:
            data = self._backlog.popleft()
            self._backlog_bytes -= len(data)
            self.transport.write(data)
        if not self._backlog and self._closing_after_backlog:
            self.transport.loseConnection()

    def stopProducing(self) -> None:
        self._open = False


class AMIServerFactory(protocol.Factory):
    """Serves one PBX's AMI: accounts, the shared clock, and the event fan-out."""

    protocol = AMIServerProtocol

    def __init__(self, config: ManagerConfig, pbx: Any = None, clock: Any = None, *,
                 system: SystemInfo | None = None, login_failure_delay: float = 1.0,
                 max_backlog: int = DEFAULT_MAX_BACKLOG,
                 challenge_source: Callable[[], int] | None = None) -> None:
        if clock is None:
            from twisted.internet import reactor as clock  # noqa: N813 - the default clock
        self.config = config
        self.pbx = pbx
        self.clock = clock
        self.system = system or SystemInfo()
        self.login_failure_delay = login_failure_delay
        self.max_backlog = max_backlog
        self.challenge_source = challenge_source or (lambda: random.randrange(1 << 31))
        self.started_at = float(getattr(pbx, "started_at", None) or clock.seconds())
        self.reloaded_at = float(getattr(pbx, "reloaded_at", None) or self.started_at)
        self.sessions: set[AMIServerProtocol] = set()
        self.on_action: Callable[[Any, Message], None] | None = None   # audit hook: every request
        self._unsubscribe = pbx.subscribe(self._engine_event) if pbx is not None else None

    def context_for(self, session: SessionState) -> Context:
        return Context(session=session, pbx=self.pbx, clock=self.clock, config=self.config,
                       system=self.system, started_at=self.started_at,
                       reloaded_at=self.reloaded_at, broadcast=self.broadcast,
                       login_failure_delay=self.login_failure_delay,
                       random=self.challenge_source)

    def _engine_event(self, event: Message) -> None:
        # OriginateResponse belongs to the Originate action (only it knows Async from sync);
        # one the engine publishes too would be a duplicate.
        if event.name != "OriginateResponse":
            self.broadcast(event)

    def broadcast(self, event: Message) -> None:
        """Offer one event to every session; encoded once, whatever the number of clients."""
        if not self.sessions:
            return
        try:
            data = event.encode()
        except ValueError:
            log.error("event with a line break in a header not sent: %r", event.headers[:2])
            return
        text = data.decode("utf-8", "replace")
        for session in list(self.sessions):
            session.deliver(event, data, text)

    def close(self) -> None:
        """Stop listening to the engine (the sessions close with their connections)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
