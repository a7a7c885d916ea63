"""The AMI client: one Twisted service over panoramisk that keeps a logged-in link to Asterisk.

Downstream code sees only this module's API and :class:`~cti.protocol.ami_message.Message`:
``send_action`` (a Deferred of the response, or of an :class:`ActionResult` for EventList
actions), ``add_listener`` (a table of event name -> callable, ``"*"`` for all) and
``add_resync_hook`` (runs after every login). Errors come from :mod:`cti.net.ami_errors`.

panoramisk 1.4 opens the TCP link (``Manager.connect`` on the asyncio loop that Twisted's
asyncio reactor runs on; bridged with ``Deferred.fromFuture``) and gives the wire protocol its
base class. Everything it gets wrong as shipped is replaced here, each at the place it lives:

1. ``Manager.dispatch`` calls callbacks bare: one that raises escapes ``data_received`` and
   asyncio closes the connection, losing the rest of the chunk. -> ``_dispatch`` isolates
   each listener.
2. ``AMIProtocol.data_received`` decodes every read on its own with ``errors='ignore'``: a
   UTF-8 character split across reads vanishes. -> bytes go to our sans-IO ``AMIParser``,
   which decodes whole blocks.
3. ``AMIProtocol.close`` moves unanswered actions to ``awaiting_actions`` and
   ``send_awaiting_actions`` sends them again after the next ``FullyBooted``: an ``Originate``
   can dial twice. -> pending actions fail with ``AMIConnectionLost`` and are never re-sent.
4. ``Manager.ping`` writes ``Ping`` and never looks at the answer; ``Manager.login`` records a
   refused login in a flag nobody reads; futures have no timeout. -> pings are awaited with
   ``ping_timeout`` and a silent link is dropped; a refused login is ``AMILoginFailed``
   (logged, and backed off); every action has a timeout (``AMITimeout``).
5. Login only sends ``Secret`` in clear. -> ``auth="md5"``: ``Challenge``, then ``Login``
   with ``Key: md5hex(challenge + secret)``.

Reconnecting uses exponential backoff, reset by a successful login (panoramisk retries on a
fixed timer). The link's life is the transition table ``TRANSITIONS``.
"""
from __future__ import annotations

import asyncio
import enum
import hashlib
import inspect
import itertools
import secrets
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Iterable, Mapping

from panoramisk.ami_protocol import AMIProtocol
from panoramisk.manager import Manager
from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.interfaces import IDelayedCall, IReactorTime

from cti.net.ami_errors import (AMIActionError, AMIConnectionLost, AMIError, AMILoginFailed,
                                AMINotConnected, AMITimeout)
from cti.protocol.ami import AMIParser, Banner, ProtocolError
from cti.protocol.ami_lists import ActionResult, EventListCollector
from cti.protocol.ami_message import Message

__all__ = ["AMIClient", "ActionResult", "Backoff", "LinkState", "TRANSITIONS"]

log = logging.getLogger(__name__)

Listener = Callable[[Message], Any]
ResyncHook = Callable[["AMIClient"], "defer.Deferred | Awaitable | None"]


class LinkState(enum.Enum):
    STOPPED = "stopped"
    CONNECTING = "connecting"  # TCP connect under way
    LOGGING_IN = "logging-in"  # linked; banner, Challenge, Login
    READY = "ready"  # logged in: actions accepted
    WAITING = "waiting"  # backing off before the next attempt


S = LinkState
TRANSITIONS: dict[tuple[LinkState, str], LinkState] = {
    (S.STOPPED, "start"): S.CONNECTING,
    (S.CONNECTING, "link_up"): S.LOGGING_IN,
    (S.CONNECTING, "connect_failed"): S.WAITING,
    (S.LOGGING_IN, "logged_in"): S.READY,
    (S.LOGGING_IN, "link_down"): S.WAITING,
    (S.READY, "link_down"): S.WAITING,
    (S.WAITING, "retry"): S.CONNECTING,
    **{(state, "stop"): S.STOPPED for state in LinkState},
}


class Backoff:
    """Exponential delays between attempts: initial, x2, x4 ... capped; reset on success."""

    def __init__(self, initial: float, maximum: float, factor: float = 2.0):
        self.initial, self.maximum, self.factor = initial, maximum, factor
        self.failures = 0

    def next_delay(self) -> float:
        delay = min(self.maximum, self.initial * self.factor ** self.failures)
        self.failures += 1
        return delay

    def reset(self) -> None:
        self.failures = 0


@dataclass
class _Pending:
    action: str
    deferred: defer.Deferred
    timer: IDelayedCall


class _LinkOpener(Manager):
    """panoramisk's Manager kept for ``connect()`` alone; its life-cycle hooks are disarmed."""

    def connection_made(self, f):
        """Upstream logs in with a clear ``Secret`` and starts a blind pinger here (defects
        4, 5); ``AMIClient`` does both itself once the link is up."""

    def connection_lost(self, exc):
        """Upstream reconnects on a fixed timer; ``AMIClient`` backs off instead."""

    async def send_awaiting_actions(self, *_):
        """Upstream re-sends unanswered actions after a reconnect (defect 3): never."""


class _AMIWire(AMIProtocol):
    """panoramisk's asyncio protocol with its data path replaced: bytes -> AMIParser -> client."""

    def __init__(self, client: "AMIClient"):
        self._client = client
        self._parser = AMIParser(expect_banner=True)

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._client._link_up(self)

    def data_received(self, data: bytes) -> None:
        for item in self._parser.feed(data):
            self._client._on_item(self, item)

    def send(self, message: Message) -> None:  # type: ignore[override]
        self.transport.write(message.encode())

    def close(self) -> None:
        """Close without panoramisk's re-queueing of pending actions (defect 3)."""
        if not self.closed:
            self.transport.close()

    def abort(self) -> None:
        if not self.closed:
            self.transport.abort()

    def connection_lost(self, exc) -> None:
        for item in self._parser.close():
            self._client._on_item(self, item)
        if not self.closed:
            self.closed = True
            self._client._link_down(self, exc)


class AMIClient(Service):
    """Keeps one logged-in AMI session to ``host:port``, reconnecting with backoff."""

    def __init__(self, host: str, port: int, username: str, secret: str, *, auth: str = "md5",
                 events: str = "on", action_timeout: float = 10.0, ping_interval: float = 20.0,
                 ping_timeout: float = 5.0, backoff_initial: float = 0.5,
                 backoff_max: float = 30.0, reactor: IReactorTime | None = None):
        if auth not in ("md5", "plain"):
            raise ValueError(f"auth must be 'md5' or 'plain', not {auth!r}")
        if reactor is None:
            from twisted.internet import reactor as default_reactor
            reactor = default_reactor
        self.host, self.port, self.username = host, port, username
        self._secret, self._auth, self._events = secret, auth, events
        self._action_timeout, self._clock = action_timeout, reactor
        self._ping_interval, self._ping_timeout = ping_interval, ping_timeout
        self._backoff = Backoff(backoff_initial, backoff_max)
        self._opener = _LinkOpener(host=host, port=port, protocol_factory=lambda: _AMIWire(self))
        self._state = LinkState.STOPPED
        self._wire: _AMIWire | None = None
        self._lists = EventListCollector()
        self._pending: dict[str, _Pending] = {}
        self._ids = itertools.count(1)
        self._run = secrets.token_hex(3)     # ActionIDs unique across restarts, for logs and audits
        self._generation = 0  # one per link, so late timers and hooks know theirs is gone
        self._listeners: dict[str, list[Listener]] = {}
        self._resync_hooks: list[ResyncHook] = []
        self._ready_generation = 0  # the link whose resync has finished
        self._waiters: list[tuple[defer.Deferred, int | None]] = []
        self._failures = 0  # attempts failed since the last login
        self._login_error: AMIError | None = None
        self._timers: dict[str, IDelayedCall] = {}
        self._connecting: defer.Deferred | None = None
        self._closed: list[defer.Deferred] = []
        self.banner: Banner | None = None

    # -- public API ------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._state is LinkState.READY

    @property
    def state(self) -> LinkState:
        return self._state

    def send_action(self, action: str, headers: Mapping | Iterable[tuple[str, Any]] = (), *,
                    timeout: float | None = None) -> defer.Deferred:
        """Send once; fire with the response, or an ActionResult for an EventList action."""
        if not self.connected:
            return defer.fail(AMINotConnected(f"AMI not connected ({self._state.value}): "
                                              f"{action} not sent"))
        return self._request(action, headers, timeout)

    def add_listener(self, table: Mapping[str, Listener]) -> None:
        for name, listener in table.items():
            self._listeners.setdefault(name.lower(), []).append(listener)

    def add_resync_hook(self, hook: ResyncHook) -> None:
        self._resync_hooks.append(hook)

    def when_ready(self, fail_after_failures: int | None = None) -> defer.Deferred:
        """Fire once logged in and the resync hooks have run. With ``fail_after_failures``,
        fail instead after that many failed attempts (the last error: ``AMILoginFailed`` ...)."""
        if self.connected and self._ready_generation == self._generation:
            return defer.succeed(None)
        d: defer.Deferred = defer.Deferred()
        self._waiters.append((d, fail_after_failures))
        return d

    # -- service ---------------------------------------------------------------------------
    def startService(self) -> None:
        super().startService()
        self._move("start")
        self._backoff.reset()
        self._open_link()

    def stopService(self) -> defer.Deferred:
        super().stopService()
        self._move("stop")
        for name in list(self._timers):
            self._cancel_timer(name)
        if self._connecting is not None:
            self._connecting.cancel()
        self._fail_pending(AMIConnectionLost("AMI client stopped"))
        waiters, self._waiters = self._waiters, []
        for d, _ in waiters:
            d.errback(AMINotConnected("AMI client stopped"))
        if self._wire is None:
            return defer.succeed(None)
        closed: defer.Deferred = defer.Deferred()
        self._closed.append(closed)
        self._wire.close()
        return closed

    # -- link life cycle ---------------------------------------------------------------------
    def _move(self, event: str) -> None:
        try:
            self._state = TRANSITIONS[(self._state, event)]
        except KeyError:
            raise RuntimeError(f"AMI link: no transition for {event!r} in {self._state.value}")

    def _open_link(self) -> None:
        self._connecting = d = defer.Deferred.fromFuture(asyncio.ensure_future(self._opener.connect()))
        self._set_timer("connect", self._action_timeout, self._connect_timed_out)
        d.addErrback(self._connect_failed)

    def _connect_timed_out(self) -> None:
        if self._state is LinkState.CONNECTING and self._connecting is not None:
            self._connecting.cancel()
        elif self._state is LinkState.LOGGING_IN and self._wire is not None:
            log.warning("AMI %s:%s sent no banner within %g s", self.host, self.port,
                        self._action_timeout)
            self._wire.abort()

    def _connect_failed(self, failure) -> None:
        self._connecting = None
        if self._state is not LinkState.CONNECTING:
            return  # stopped
        self._cancel_timer("connect")
        reason = "timed out" if failure.check(defer.CancelledError, asyncio.CancelledError) \
            else failure.getErrorMessage()
        log.warning("AMI connect to %s:%s failed: %s", self.host, self.port, reason)
        self._move("connect_failed")
        self._schedule_retry()
        self._attempt_failed(AMINotConnected(f"cannot connect to {self.host}:{self.port}: {reason}"))

    def _link_up(self, wire: _AMIWire) -> None:
        if self._state is not LinkState.CONNECTING:
            wire.abort()  # stopped while connecting
            return
        self._connecting = None
        self._move("link_up")
        self._wire, self._lists, self._login_error = wire, EventListCollector(), None
        self._generation += 1

    def _link_down(self, wire: _AMIWire, exc: BaseException | None) -> None:
        if wire is not self._wire:
            return
        self._wire = None
        for name in ("connect", "ping"):
            self._cancel_timer(name)
        was = self._state
        if was is not LinkState.STOPPED:
            self._move("link_down")
            log.warning("AMI link to %s:%s lost (%s)", self.host, self.port, exc or "closed")
        self._fail_pending(AMIConnectionLost(
            "AMI link lost while the action was pending: it may or may not have run on "
            "Asterisk, and it is not sent again"))
        self._lists.abandon_all()
        while self._closed:
            self._closed.pop().callback(None)
        if was is LinkState.STOPPED:
            return
        self._schedule_retry()
        if was is LinkState.LOGGING_IN:
            self._attempt_failed(self._login_error or AMIConnectionLost("AMI link lost during login"))

    def _schedule_retry(self) -> None:
        delay = self._backoff.next_delay()
        log.info("AMI reconnecting to %s:%s in %g s", self.host, self.port, delay)
        self._set_timer("retry", delay, self._retry)

    def _retry(self) -> None:
        self._move("retry")
        self._open_link()

    def _attempt_failed(self, error: AMIError) -> None:
        self._failures += 1
        due = [d for d, limit in self._waiters if limit is not None and self._failures >= limit]
        self._waiters = [(d, limit) for d, limit in self._waiters if d not in due]
        for d in due:  # last: an errback may re-enter (stop the service, wait again)
            d.errback(error)

    # -- login, keepalive, resync ------------------------------------------------------------
    async def _log_in(self, generation: int) -> None:
        try:
            if self._auth == "md5":
                challenge = await self._request("Challenge", [("AuthType", "MD5")])
                key = hashlib.md5(f"{challenge.get('Challenge', '')}{self._secret}".encode())
                credentials = [("AuthType", "MD5"), ("Key", key.hexdigest())]
            else:
                credentials = [("Secret", self._secret)]
            await self._request("Login", [("Username", self.username), *credentials,
                                          ("Events", self._events)])
        except AMIActionError as exc:
            self._login_error = AMILoginFailed(
                f"AMI login to {self.host}:{self.port} as {self.username!r} refused: {exc.message}")
            log.error("%s", self._login_error)
            self._close_wire()
            return
        except AMITimeout as exc:
            self._login_error = exc
            log.error("AMI login to %s:%s timed out: %s", self.host, self.port, exc)
            self._close_wire()
            return
        except AMIConnectionLost:
            return
        if generation != self._generation or self._state is not LinkState.LOGGING_IN:
            return
        self._move("logged_in")
        self._backoff.reset()
        self._failures = 0
        log.info("AMI logged in to %s:%s as %s", self.host, self.port, self.username)
        self._schedule_ping(generation)
        await self._resync(generation)

    def _close_wire(self) -> None:
        if self._wire is not None:
            self._wire.close()

    async def _resync(self, generation: int) -> None:
        for hook in list(self._resync_hooks):
            if generation != self._generation or not self.connected:
                return  # the link this resync was for is gone; the next login runs them again
            try:
                result = hook(self)
                if inspect.isawaitable(result) and not isinstance(result, defer.Deferred):
                    result = defer.ensureDeferred(result) if inspect.iscoroutine(result) \
                        else defer.Deferred.fromFuture(asyncio.ensure_future(result))
                if isinstance(result, defer.Deferred):
                    await result
            except Exception:
                log.exception("AMI resync hook %r failed; running the others", hook)
        if generation == self._generation and self.connected:
            self._ready_generation = generation
            waiters, self._waiters = self._waiters, []
            for d, _ in waiters:
                d.callback(None)

    def _schedule_ping(self, generation: int) -> None:
        if self._ping_interval and generation == self._generation and self.connected:
            self._set_timer("ping", self._ping_interval, self._ping, generation)

    def _ping(self, generation: int) -> None:
        d = self._request("Ping", timeout=self._ping_timeout)
        d.addCallbacks(lambda _: self._schedule_ping(generation), self._ping_failed,
                       errbackArgs=(generation,))

    def _ping_failed(self, failure, generation: int) -> None:
        if failure.check(AMITimeout) and generation == self._generation and self._wire:
            log.warning("AMI %s:%s did not answer Ping within %g s: dropping the link",
                        self.host, self.port, self._ping_timeout)
            self._wire.abort()
        elif failure.check(AMIActionError):
            self._schedule_ping(generation)  # it answered: the link is alive

    # -- actions -----------------------------------------------------------------------------
    def _request(self, action: str, headers: Mapping | Iterable[tuple[str, Any]] = (),
                 timeout: float | None = None) -> defer.Deferred:
        pairs = list(headers.items() if isinstance(headers, Mapping) else headers)
        given = [str(v) for k, v in pairs if str(k).lower() == "actionid"]
        action_id = given[0] if given else f"ctid-{self._run}-{next(self._ids)}"
        rest = [(k, v) for k, v in pairs if str(k).lower() not in ("action", "actionid")]
        expanded = [(k, item) for k, v in rest
                    for item in (v if isinstance(v, (list, tuple)) else [v])]
        try:
            if action_id in self._pending:
                raise ValueError(f"ActionID {action_id!r} is already pending")
            message = Message.of([("Action", action), ("ActionID", action_id), *expanded])
            message.encode()  # refuses header injection before anything is registered
        except ValueError as exc:
            return defer.fail(exc)
        if self._wire is None:
            return defer.fail(AMINotConnected(f"AMI link down: {action} not sent"))
        timeout = self._action_timeout if timeout is None else timeout

        def cancel(_d) -> None:
            entry = self._pending.pop(action_id, None)
            if entry is not None and entry.timer.active():
                entry.timer.cancel()

        d: defer.Deferred = defer.Deferred(cancel)
        timer = self._clock.callLater(timeout, self._expire, action_id, timeout)
        self._pending[action_id] = _Pending(action, d, timer)
        self._wire.send(message)
        return d

    def _expire(self, action_id: str, timeout: float) -> None:
        entry = self._pending.pop(action_id, None)
        if entry is not None:
            entry.deferred.errback(AMITimeout(entry.action, action_id, timeout))

    def _settle(self, result: ActionResult) -> None:
        entry = self._pending.pop(result.action_id or "", None)
        if entry is None:
            log.debug("AMI answer to no pending action (late or foreign): %s", result.action_id)
            return
        if entry.timer.active():
            entry.timer.cancel()
        kind = (result.response.name or "").lower()
        if kind in ("error", "fail", "failure"):
            entry.deferred.errback(AMIActionError(result.response.get("Message", ""),
                                                  result.response))
        else:
            entry.deferred.callback(result if result.is_list else result.response)

    def _fail_pending(self, error: AMIError) -> None:
        pending, self._pending = self._pending, {}
        for entry in pending.values():
            if entry.timer.active():
                entry.timer.cancel()
            entry.deferred.errback(error)

    # -- inbound -----------------------------------------------------------------------------
    def _on_item(self, wire: _AMIWire, item: Banner | Message | ProtocolError) -> None:
        """Everything that came off the wire; nothing here may escape into the protocol."""
        if wire is not self._wire:
            return
        try:
            if isinstance(item, Banner):
                self.banner = item
                self._cancel_timer("connect")
                defer.ensureDeferred(self._log_in(self._generation)).addErrback(
                    lambda f: log.error("AMI login crashed: %s", f.getTraceback()))
            elif isinstance(item, ProtocolError):
                log.warning("AMI %s:%s sent an unreadable block (%s): %r", self.host,
                            self.port, item.reason, item.raw[:200])
            else:
                for out in self._lists.feed(item):
                    if isinstance(out, ActionResult):
                        self._settle(out)
                    elif out.kind == "event":
                        self._dispatch(out)
                    else:
                        log.warning("AMI sent a block that is no response or event: %r", out)
        except Exception:
            log.exception("AMI client failed on %r; the link goes on", item)

    def _dispatch(self, event: Message) -> None:
        listeners = self._listeners.get((event.name or "").lower(), []) + \
            self._listeners.get("*", [])
        for listener in listeners:
            try:
                result = listener(event)
                if inspect.iscoroutine(result):
                    result = defer.ensureDeferred(result)
                if isinstance(result, defer.Deferred):
                    result.addErrback(self._listener_failed, listener, event)
            except Exception:
                log.exception("AMI listener %r failed on %s; the others still run",
                              listener, event.name)

    @staticmethod
    def _listener_failed(failure, listener: Listener, event: Message) -> None:
        log.error("AMI listener %r failed on %s: %s", listener, event.name,
                  failure.getTraceback())

    # -- timers ------------------------------------------------------------------------------
    def _set_timer(self, name: str, delay: float, fn: Callable, *args) -> None:
        self._cancel_timer(name)
        self._timers[name] = self._clock.callLater(delay, self._fire_timer, name, fn, *args)

    def _fire_timer(self, name: str, fn: Callable, *args) -> None:
        self._timers.pop(name, None)
        fn(*args)

    def _cancel_timer(self, name: str) -> None:
        call = self._timers.pop(name, None)
        if call is not None and call.active():
            call.cancel()
