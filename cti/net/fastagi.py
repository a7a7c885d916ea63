"""ctid's FastAGI server: a thin Twisted protocol over :mod:`cti.protocol.agi`, and the session
object handed to AGI routes.

Asterisk connects for every ``AGI(agi://ctid/<script>,...)`` in the dialplan, sends the ``agi_*``
environment, then waits for commands. :class:`FastAGIFactory` picks the route by
``agi_network_script`` and calls it with an :class:`AGISession`; when the route returns, the
connection is closed and the channel goes on in the dialplan. If there is no route for the
script, or the route raises, the channel is sent to the fallback context (``SET CONTEXT``,
``SET EXTENSION s``, ``SET PRIORITY 1``) so the caller never hears dead air, and the error is
logged with the call's uniqueid and linkedid.

Commands go out strictly one at a time: :meth:`AGISession.command` queues them and each reply
settles the oldest command in flight. An unsolicited ``HANGUP`` line is not a reply; it only
marks the session ``hung_up``. After it, Asterisk refuses most commands with 511, which becomes
:class:`AGIDeadChannel` when (and only when) Asterisk says so: the session does not guess which
commands still work (``GET VARIABLE``, ``SET VARIABLE``, ``VERBOSE``, ``EXEC`` do).

A ``Redirect`` that lands while a command is pending looks *exactly* like a hangup from here
(captured on Asterisk 22: the pending command returns ``200 result=-1``, a ``HANGUP`` line
follows, then 511s). The session therefore reports it as :class:`AGIHangup` and records nothing
about abandons: only the daemon knows whether it moved the channel itself (it sent the
``Redirect`` over AMI), so deciding "the caller abandoned" is the daemon's business. A route
waiting on something other than a command (an ACD decision) can watch
:meth:`AGISession.when_hung_up`.

Only the Asterisk boxes named in ``allowed_hosts`` may talk to it: a session decides which
caller is a VIP and which agent is reserved, so a connection from any other address is logged
(address masked) and closed before a byte of it is read. Names are resolved once, at start
(:func:`resolve_hosts`).

A client that sends half a header and goes, or never finishes it, is dropped by a timer
(``header_timeout``) and costs nothing more; a route still running when the client vanishes gets
:class:`AGIHangup` from its pending command.
"""
from __future__ import annotations

import ipaddress
import logging
import socket
from collections import deque
from typing import Any, Awaitable, Callable, Iterable, Mapping, Optional, Union

from twisted.internet import defer
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.protocol import Factory, Protocol
from twisted.python.failure import Failure

from cti.agi_errors import (
    CHANNEL_GONE, AGICommandFailed, AGIDeadChannel, AGIError, AGIHangup, AGIProtocolError,
    AGITimeout, AGIUnknownCommand, AGIUsageError,
)
from cti.domain.channel_vars import CTX_FALLBACK
from cti.protocol.agi import (
    AGIServerParser, Environment, HangupNotice, ProtocolError, Quoted, Result, format_command,
)

log = logging.getLogger(__name__)

Route = Callable[["AGISession"], Union[Awaitable[None], "defer.Deferred[None]", None]]

#: A refused address is logged at most once in this many seconds.
REFUSAL_LOG_INTERVAL = 60.0

#: Seconds allowed for each fallback command and the linkedid look-up on the failure path.
FALLBACK_COMMAND_TIMEOUT = 5.0


class _Pending:
    """A command waiting for its turn or its reply."""

    __slots__ = ("line", "deferred", "timeout", "timer", "cancelled")

    def __init__(self, line: bytes, timeout: float | None):
        self.line = line
        self.timeout = timeout
        self.timer: IDelayedCall | None = None
        self.cancelled = False
        self.deferred: defer.Deferred[Result] = defer.Deferred(self._cancel)

    def _cancel(self, deferred: defer.Deferred) -> None:
        self.cancelled = True  # the reply, if the command was sent, is still consumed in order

    @property
    def text(self) -> str:
        return self.line.decode("utf-8", "replace").rstrip("\n")


def _raise_for_code(pending: _Pending, result: Result) -> Result:
    if result.code == 200:
        return result
    errors = {510: AGIUnknownCommand, 511: AGIDeadChannel}
    if result.code == 520:
        raise AGIUsageError(command=pending.text, result=result, usage=result.data or "")
    if result.code in errors:
        raise errors[result.code](result.data or "", command=pending.text, result=result)
    raise AGIProtocolError(f"unexpected reply code {result.code}", command=pending.text,
                           result=result)


class AGISession:
    """One FastAGI conversation, as a route sees it.

    ``env`` is the :class:`Environment`; ``script``, ``args``, ``uniqueid``, ``channel`` are
    read from it. ``hung_up`` becomes true at the first ``HANGUP`` notice (a hangup *or* a
    redirect, see the module docstring); ``closed`` once the connection is gone. ``linkedid``
    is filled in when it has been looked up (Asterisk does not send it in the environment).
    """

    def __init__(self, env: Environment, write: Callable[[bytes], None], clock: IReactorTime,
                 command_timeout: float | None = None):
        self.env = env
        self.hung_up = False
        self.closed = False
        self.linkedid: str | None = env.get("agi_linkedid")
        self._write = write
        self._clock = clock
        self._command_timeout = command_timeout
        self._queue: deque[_Pending] = deque()
        self._in_flight: _Pending | None = None
        self._broken: AGIError | None = None
        self._hangup_waiters: list[defer.Deferred[None]] = []

    # -- what the environment says -------------------------------------------------------------
    @property
    def script(self) -> str:
        return self.env.network_script

    @property
    def args(self) -> list[str]:
        return self.env.args

    @property
    def uniqueid(self) -> str | None:
        return self.env.uniqueid

    @property
    def channel(self) -> str | None:
        return self.env.channel

    def describe(self) -> str:
        """The call's identity for log lines."""
        return (f"script={self.script!r} uniqueid={self.uniqueid} "
                f"linkedid={self.linkedid or '?'} channel={self.channel}")

    # -- commands ----------------------------------------------------------------------------
    def command(self, *words: object, timeout: float | None = None) -> defer.Deferred[Result]:
        """Send one command (after those already queued) and get its reply.

        A ``200`` reply is returned as a :class:`Result` whatever its ``result=``; 510, 511 and
        520 fail with :class:`AGIUnknownCommand`, :class:`AGIDeadChannel`,
        :class:`AGIUsageError`; a vanished peer with :class:`AGIHangup`; no reply within
        ``timeout`` (default: the factory's ``command_timeout``) with :class:`AGITimeout`.
        """
        try:
            line = format_command(*words)
        except AGIError:
            return defer.fail()
        if self._broken is not None:
            return defer.fail(self._broken)
        pending = _Pending(line, self._command_timeout if timeout is None else timeout)
        self._queue.append(pending)
        self._send_next()
        return pending.deferred

    def _send_next(self) -> None:
        while self._in_flight is None and self._queue:
            pending = self._queue.popleft()
            if pending.cancelled:
                continue
            self._in_flight = pending
            if pending.timeout:
                pending.timer = self._clock.callLater(pending.timeout, self._timed_out, pending)
            self._write(pending.line)

    def _settle_in_flight(self) -> _Pending | None:
        pending, self._in_flight = self._in_flight, None
        if pending is not None and pending.timer is not None and pending.timer.active():
            pending.timer.cancel()
        return pending

    def reply_received(self, result: Result) -> None:
        pending = self._settle_in_flight()
        if pending is None:
            self.protocol_failed(AGIProtocolError(f"reply with no command pending: {result.raw!r}"))
            return
        self._send_next()
        if pending.cancelled:
            return
        try:
            value = _raise_for_code(pending, result)
        except AGIError:
            pending.deferred.errback(Failure())
        else:
            pending.deferred.callback(value)

    def hangup_received(self) -> None:
        if not self.hung_up:
            log.info("AGI HANGUP notice (hangup or redirect) %s", self.describe())
        self.hung_up = True
        self._wake_hangup_waiters()

    def when_hung_up(self) -> defer.Deferred[None]:
        """Fires at the first ``HANGUP`` notice or when the connection closes, for a route that
        waits on something else (an ACD decision) and must stop when the channel goes."""
        if self.hung_up or self.closed:
            return defer.succeed(None)
        waiter: defer.Deferred[None] = defer.Deferred(self._hangup_waiters.remove)
        self._hangup_waiters.append(waiter)
        return waiter

    def raise_if_hung_up(self) -> None:
        """Raise :class:`AGIHangup` if a ``HANGUP`` notice came or the connection is gone."""
        if self.hung_up or self.closed:
            raise AGIHangup("the channel hung up or left the AGI", command=None)

    def _wake_hangup_waiters(self) -> None:
        waiters, self._hangup_waiters = self._hangup_waiters, []
        for waiter in waiters:
            waiter.callback(None)

    def _timed_out(self, pending: _Pending) -> None:
        pending.timer = None
        # A late reply would settle the wrong command: the conversation cannot go on.
        self._fail_all(AGITimeout(f"no reply in {pending.timeout} s", command=pending.text))

    def protocol_failed(self, error: AGIProtocolError) -> None:
        self._fail_all(error)

    def connection_lost(self) -> None:
        self.closed = True
        self._fail_all(AGIHangup("the AGI connection closed"))
        self._wake_hangup_waiters()

    def _fail_all(self, error: AGIError) -> None:
        if self._broken is None:
            self._broken = error
        doomed = [p for p in (self._settle_in_flight(),) if p is not None] + list(self._queue)
        self._queue.clear()
        for pending in doomed:
            if not pending.cancelled:
                pending.deferred.errback(type(error)(str(error.args[0]), command=pending.text))

    # -- typed helpers -------------------------------------------------------------------------
    def answer(self) -> defer.Deferred[None]:
        return self.command("ANSWER").addCallback(_none_unless_hangup, "ANSWER")

    def get_variable(self, name: str) -> defer.Deferred[Optional[str]]:
        """The variable's value, or None when it is unset (``200 result=0``)."""
        return self.command("GET", "VARIABLE", name).addCallback(_variable_value)

    def get_full_variable(self, expression: str,
                          channel: str | None = None) -> defer.Deferred[Optional[str]]:
        """``expression`` with ``${...}`` substituted by Asterisk, or None."""
        words = ["GET", "FULL", "VARIABLE", expression] + ([channel] if channel else [])
        return self.command(*words).addCallback(_variable_value)

    def set_variable(self, name: str, value: object) -> defer.Deferred[None]:
        return self.command("SET", "VARIABLE", name, Quoted(str(value))).addCallback(_none)

    def stream_file(self, name: str, escape_digits: str = "") -> defer.Deferred[Optional[str]]:
        """Play a sound; the escape digit pressed, or None. ``result=-1`` (a missing file, and
        also a hangup during playback: the line does not say which) is
        :class:`AGICommandFailed`; the next command tells a hangup (511 / ``HANGUP``)."""
        return self.command("STREAM", "FILE", name, escape_digits).addCallback(_stream_digit)

    def wait_for_digit(self, timeout_ms: int) -> defer.Deferred[Optional[str]]:
        """The digit pressed, or None after ``timeout_ms``; :class:`AGIHangup` on -1."""
        return self.command("WAIT", "FOR", "DIGIT", int(timeout_ms)).addCallback(_digit)

    def get_data(self, prompt: str, timeout_ms: int | None = None,
                 max_digits: int | None = None) -> defer.Deferred[str]:
        """Play ``prompt`` and collect digits: the digits ('' when none); AGIHangup on -1."""
        words: list[object] = ["GET", "DATA", prompt]
        if timeout_ms is not None or max_digits is not None:
            words.append(int(timeout_ms) if timeout_ms is not None else 0)
        if max_digits is not None:
            words.append(int(max_digits))
        return self.command(*words).addCallback(_digits)

    def verbose(self, message: str, level: int = 1) -> defer.Deferred[None]:
        return self.command("VERBOSE", Quoted(message), int(level)).addCallback(_none)

    def exec_app(self, application: str, *args: object) -> defer.Deferred[int]:
        """Run a dialplan application; its return value (-1 usually means the channel hung up).
        An unknown application (``result=-2``) is :class:`AGICommandFailed`."""
        words: list[object] = ["EXEC", application]
        if args:
            words.append(",".join(str(a) for a in args))
        return self.command(*words).addCallback(_exec_result, application)

    def channel_status(self) -> defer.Deferred[int]:
        """Asterisk's channel state number (6 = up)."""
        return self.command("CHANNEL", "STATUS").addCallback(_number, "CHANNEL STATUS")

    def set_context(self, context: str) -> defer.Deferred[None]:
        return self.command("SET", "CONTEXT", context).addCallback(_none)

    def set_extension(self, extension: str) -> defer.Deferred[None]:
        return self.command("SET", "EXTENSION", extension).addCallback(_none)

    def set_priority(self, priority: int | str) -> defer.Deferred[None]:
        return self.command("SET", "PRIORITY", priority).addCallback(_none)

    def hangup(self, channel: str | None = None) -> defer.Deferred[None]:
        words = ["HANGUP"] + ([channel] if channel else [])
        return self.command(*words).addCallback(_number, "HANGUP").addCallback(_none)


# -- reading results ------------------------------------------------------------------------------
def _none(result: Result) -> None:
    return None


def _number(result: Result, what: str) -> int:
    number = result.number
    if number is None:
        raise AGIProtocolError(f"{what}: result is not a number", result=result)
    if number < 0:
        raise AGICommandFailed(f"{what} failed (result={number})", result=result)
    return number


def _none_unless_hangup(result: Result, what: str) -> None:
    if result.number == -1:
        raise AGIHangup(f"{what} returned -1", result=result)


def _variable_value(result: Result) -> str | None:
    if result.result == "0":
        return None
    if result.result == "1":
        return result.data if result.data is not None else ""
    raise AGIProtocolError(f"unexpected variable result {result.result!r}", result=result)


def _digit(result: Result) -> str | None:
    number = result.number
    if number == -1:
        raise AGIHangup("WAIT FOR DIGIT returned -1", result=result)
    if number is None or number < 0 or number > 0x10FFFF:
        raise AGIProtocolError(f"unexpected digit result {result.result!r}", result=result)
    return chr(number) if number else None


def _stream_digit(result: Result) -> str | None:
    if result.number == -1:
        raise AGICommandFailed("STREAM FILE returned -1 (missing file or hangup)", result=result)
    return _digit(result)


def _digits(result: Result) -> str:
    if result.result == "-1":
        raise AGIHangup("GET DATA returned -1", result=result)
    return result.result or ""


def _exec_result(result: Result, application: str) -> int:
    number = result.number
    if number == -2:
        raise AGICommandFailed(f"no such application {application!r}", result=result)
    if number is None:
        raise AGIProtocolError("EXEC: result is not a number", result=result)
    return number


# -- the Twisted side -----------------------------------------------------------------------------
class FastAGIProtocol(Protocol):
    """Feeds the parser and dispatches its items; the route runs in :meth:`_serve`."""

    factory: "FastAGIFactory"
    _HANDLERS = {
        Environment: "_on_environment",
        Result: "_on_result",
        HangupNotice: "_on_hangup",
        ProtocolError: "_on_protocol_error",
    }

    def __init__(self) -> None:
        self._parser = AGIServerParser()
        self._header_timer: IDelayedCall | None = None
        self._dropped = False
        self.session: AGISession | None = None

    def connectionMade(self) -> None:
        self.factory.open.add(self)
        self._header_timer = self.factory.clock.callLater(
            self.factory.header_timeout, self._header_timed_out)

    def dataReceived(self, data: bytes) -> None:
        for item in self._parser.feed(data):
            if self._dropped:
                return
            getattr(self, self._HANDLERS[type(item)])(item)

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.factory.open.discard(self)
        self._cancel_header_timer()
        if self.session is None:
            log.info("FastAGI client %s left before its header was complete", self._peer())
        else:
            self.session.connection_lost()

    # -- items ------------------------------------------------------------------------------
    def _on_environment(self, env: Environment) -> None:
        self._cancel_header_timer()
        self.session = AGISession(env, self.transport.write, self.factory.clock,
                                  self.factory.command_timeout)
        self._serve(self.session).addErrback(self._unexpected, self.session)

    def _on_result(self, result: Result) -> None:
        assert self.session is not None  # results only follow the environment
        self.session.reply_received(result)

    def _on_hangup(self, notice: HangupNotice) -> None:
        if self.session is not None:
            self.session.hangup_received()

    def _on_protocol_error(self, error: ProtocolError) -> None:
        where = self.session.describe() if self.session else f"peer={self._peer()}"
        log.warning("FastAGI protocol error, closing: %s %r %s", error.reason, error.raw[:200],
                    where)
        # Not Asterisk, or a stray line among replies: the order of replies can't be trusted.
        self._dropped = True
        self._cancel_header_timer()
        if self.session is not None:
            self.session.protocol_failed(AGIProtocolError(error.reason, result=error))
        self.transport.loseConnection()

    # -- the route --------------------------------------------------------------------------
    @defer.inlineCallbacks
    def _serve(self, session: AGISession):
        route = self.factory.routes.get(session.script)
        try:
            if route is None:
                raise LookupError(f"no AGI route for script {session.script!r}")
            yield defer.maybeDeferred(route, session)
        except CHANNEL_GONE as gone:
            log.info("AGI route ended, channel gone (%s): %s", gone, session.describe())
        except Exception:
            yield self._fall_back(session, Failure())
        self.transport.loseConnection()

    @defer.inlineCallbacks
    def _fall_back(self, session: AGISession, failure: Failure):
        """Send the channel to the fallback context, then log the error with the call's ids."""
        context = self.factory.fallback_context
        moved = False
        if not session.hung_up and not session.closed:
            try:
                for words in (("SET", "CONTEXT", context), ("SET", "EXTENSION", "s"),
                              ("SET", "PRIORITY", 1)):
                    yield session.command(*words, timeout=FALLBACK_COMMAND_TIMEOUT)
                moved = True
            except AGIError as error:
                log.warning("fallback to %s failed (%s): %s", context, error, session.describe())
        if session.linkedid is None and not session.closed:
            try:  # Asterisk does not send the linkedid in the environment; GET works even if dead
                session.linkedid = yield session.command(
                    "GET", "VARIABLE", "CHANNEL(linkedid)", timeout=FALLBACK_COMMAND_TIMEOUT
                ).addCallback(_variable_value)
            except AGIError as error:
                log.info("linkedid look-up failed (%s): %s", error, session.describe())
        outcome = f"sent to {context}" if moved else "channel not moved"
        if failure.check(LookupError) and session.script not in self.factory.routes:
            log.error("no AGI route for this script, %s: %s", outcome, session.describe())
        else:
            log.error("AGI route failed, %s: %s", outcome, session.describe(),
                      exc_info=(failure.type, failure.value, failure.getTracebackObject()))

    def _unexpected(self, failure: Failure, session: AGISession) -> None:
        log.error("FastAGI session error: %s", session.describe(),
                  exc_info=(failure.type, failure.value, failure.getTracebackObject()))
        self.transport.loseConnection()

    # -- housekeeping -------------------------------------------------------------------------
    def _header_timed_out(self) -> None:
        self._header_timer = None
        log.warning("FastAGI client %s sent no complete header in %s s; closing",
                    self._peer(), self.factory.header_timeout)
        self.transport.loseConnection()

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None and self._header_timer.active():
            self._header_timer.cancel()
        self._header_timer = None

    def _peer(self) -> str:
        try:
            return str(self.transport.getPeer())
        except Exception:  # a transport without a peer (tests): nothing to say
            return "?"


def resolve_hosts(names: Iterable[str]) -> frozenset[str]:
    """The addresses of ``names`` (IP literals or host names); ValueError names one that fails."""
    addresses: set[str] = set()
    for name in names:
        try:
            addresses.add(_canonical(name))
            continue
        except ValueError:
            pass
        try:
            infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
        except OSError as exc:
            raise ValueError(f"cannot resolve FastAGI client host {name!r}: {exc}") from None
        addresses.update(_canonical(info[4][0]) for info in infos)
    return frozenset(addresses)


def _canonical(address: str) -> str:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip)


def mask_address(address: str) -> str:
    """An address for the log: the network kept, the host part hidden (``10.1.*.*``)."""
    try:
        ip = ipaddress.ip_address(_canonical(address))
    except ValueError:
        return "*"
    if isinstance(ip, ipaddress.IPv4Address):
        return ".".join(str(ip).split(".")[:2] + ["*", "*"])
    return ":".join(ip.exploded.split(":")[:3]) + ":*"


class FastAGIFactory(Factory):
    """Serves FastAGI: ``routes`` maps ``agi_network_script`` names to route callables.

    ``allowed_hosts`` (addresses, see :func:`resolve_hosts`) are the only peers served; ``None``
    serves any peer (tests that build the protocol by hand).
    """

    protocol = FastAGIProtocol

    def __init__(self, routes: Mapping[str, Route], fallback_context: str = CTX_FALLBACK,
                 header_timeout: float = 5.0, command_timeout: float | None = 600.0,
                 clock: IReactorTime | None = None,
                 allowed_hosts: Iterable[str] | None = None):
        if clock is None:
            from twisted.internet import reactor as clock  # the running reactor, chosen late
        self.allowed_hosts = None if allowed_hosts is None else frozenset(
            _canonical(a) for a in allowed_hosts)
        self.refused = 0
        self._refusal_logged: dict[str, float] = {}   # address -> when it was last logged
        self.routes = dict(routes)
        self.fallback_context = fallback_context
        self.header_timeout = header_timeout
        self.command_timeout = command_timeout
        self.clock: Any = clock
        self.open: set[FastAGIProtocol] = set()

    def close_sessions(self) -> int:
        """Hang up every open FastAGI connection, as the end of ctid's process would: Asterisk's
        ``AGI()`` then returns ``AGISTATUS=FAILURE`` and the dialplan retries or falls back (a
        caller mid-IVR hears the flow again from the next ctid). A stop calls this, so no route
        goes on running for a daemon that is gone. Returns how many were open."""
        sessions = list(self.open)
        for protocol in sessions:
            protocol.transport.loseConnection()
        return len(sessions)

    def buildProtocol(self, addr):
        if self.allowed_hosts is not None:
            host = getattr(addr, "host", "")
            try:
                allowed = _canonical(host) in self.allowed_hosts
            except ValueError:
                allowed = False
            if not allowed:
                self.refused += 1
                self._log_refusal(host)
                return None                      # Twisted closes it without reading
        return super().buildProtocol(addr)

    def _log_refusal(self, host: str) -> None:
        """One line per address per minute at most: a scanner must not flood the log."""
        now = self.clock.seconds()
        last = self._refusal_logged.get(host)
        if last is not None and now - last < REFUSAL_LOG_INTERVAL:
            return
        if len(self._refusal_logged) > 1000:
            self._refusal_logged.clear()
        self._refusal_logged[host] = now
        log.warning("FastAGI connection from %s refused: not an allowed Asterisk host "
                    "(%d refused so far)", mask_address(host), self.refused)
