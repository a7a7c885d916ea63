"""Signing in: bearer tokens and their sessions, password checks, and limits on guessing.

* :class:`TokenStore` issues random bearer tokens. Only a SHA-256 of a token is kept, in memory
  for the synchronous checks of every request and frame, and in the database (when given a
  :class:`SessionStore`) so sessions survive a ctid restart. Tokens expire and can be revoked.
* :class:`PasswordChecks` runs the scrypt checks on a small thread pool of its own, never the
  database pool the call path's customer lookups need, and refuses work beyond a short queue.
* :class:`LoginThrottle` is the pure rule: after ``max_failures`` wrong passwords a user name is
  locked for ``lockout`` seconds; an address with too many failures in ``address_window``
  seconds waits. Both answer with the seconds to wait.
* :class:`SignIn` is the use case. An unknown user costs the same scrypt check as a wrong
  password (against a dummy hash), so the answer time does not tell which names exist.

``Principal`` lives in :mod:`cti.domain.principal`; it is re-exported here for old imports.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import threading
import functools
from collections import OrderedDict
from typing import Any, Callable, Protocol

from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool

from cti.domain.principal import ROLES, Principal
from cti.domain.reasons import bilingual
from cti.storage.passwords import hash_password, verify_password

__all__ = ["ROLES", "Principal", "TokenStore", "SessionStore", "PasswordChecks",
           "LoginThrottle", "LoginRefused", "SignIn", "new_token", "token_hash"]

log = logging.getLogger(__name__)


def new_token(nbytes: int = 32) -> str:
    """A random bearer token of hex digits: never starts with ``-`` (which a command line
    would take for an option, as ``token_urlsafe`` does once in 64) and needs no quoting."""
    return secrets.token_hex(nbytes)


def token_hash(token: str) -> str:
    """What is stored of a token: its SHA-256 (a token is random, so no salt is needed)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class SessionStore(Protocol):
    """Where sessions are kept across restarts (Deferreds; failures are logged, not raised)."""

    def save(self, token_hash: str, user: str, expires: float) -> defer.Deferred: ...
    def delete(self, token_hash: str) -> defer.Deferred: ...


class TokenStore:
    """Random bearer tokens mapped to principals, with a lifetime."""

    def __init__(self, clock: Callable[[], float], lifetime: float = 12 * 3600,
                 sessions: SessionStore | None = None):
        self._clock = clock
        self._lifetime = lifetime
        self._sessions = sessions
        self._tokens: dict[str, tuple[Principal, float]] = {}      # token hash -> ...
        # Session writes run one at a time, in the order they were asked for: the store's
        # threads could otherwise run a sign-out's delete before the save of the same
        # session, and the signed-out session would come back at the next start.
        self._writes = defer.DeferredLock()

    def issue(self, principal: Principal) -> str:
        now = self._clock()
        for stale in [h for h, (_, expires) in self._tokens.items() if expires <= now]:
            del self._tokens[stale]
        token = new_token()
        hashed, expires = token_hash(token), now + self._lifetime
        self._tokens[hashed] = (principal, expires)
        if self._sessions is not None:
            self._persist("kept", self._sessions.save, hashed, principal.user, expires)
        return token

    def restore(self, hashed: str, principal: Principal, expires: float) -> None:
        """A session kept from before a restart."""
        if expires > self._clock():
            self._tokens[hashed] = (principal, expires)

    def authenticate(self, token: str | None) -> Principal | None:
        if not token or not isinstance(token, str):
            return None
        hashed = token_hash(token)
        entry = self._tokens.get(hashed)
        if entry is None:
            return None
        principal, expires = entry
        if self._clock() >= expires:
            del self._tokens[hashed]
            return None
        return principal

    def revoke(self, token: str) -> bool:
        """End the session of ``token``; False if it was not a live one."""
        hashed = token_hash(token) if isinstance(token, str) else ""
        known = self._tokens.pop(hashed, None) is not None
        if known and self._sessions is not None:
            self._persist("deleted", self._sessions.delete, hashed)
        return known

    def settled(self) -> defer.Deferred:
        """Fires once every session write asked for so far is done (a failed one is logged)."""
        return self._writes.acquire().addCallback(lambda lock: lock.release())

    def _persist(self, what: str, write: Callable[..., defer.Deferred], *args: Any) -> None:
        d = self._writes.run(write, *args)
        d.addErrback(lambda f: log.error("session not %s in the database: %s", what,
                                         f.getErrorMessage()))


class LoginRefused(Exception):
    """A sign-in refused before any password was checked; ``retry_after`` in seconds.

    ``code``: ``locked`` (this user name, too many wrong passwords), ``too-many`` (this
    address), ``busy`` (too many sign-ins being checked at once).
    """

    def __init__(self, code: str, message: str, retry_after: float):
        super().__init__(message)
        self.code, self.message = code, message
        self.retry_after = max(1, int(retry_after + 0.999))


class LoginThrottle:
    """Counts failed sign-ins per user name and per address (pure: a clock, no I/O)."""

    def __init__(self, clock: Callable[[], float], *, max_failures: int = 5,
                 lockout: float = 300.0, address_failures: int = 20,
                 address_window: float = 60.0, max_tracked: int = 10_000):
        self._clock = clock
        self.max_failures = max_failures
        self.lockout = lockout
        self.address_failures = address_failures
        self.address_window = address_window
        self._max_tracked = max_tracked
        self._users: OrderedDict[str, tuple[int, float]] = OrderedDict()   # failures, until
        self._addresses: OrderedDict[str, list[float]] = OrderedDict()     # failure times
        self._inflight: dict[str, int] = {}    # attempts begun and not yet judged, per user

    def check(self, user: str, address: str | None) -> None:
        """Raise :class:`LoginRefused` if this user or address must wait."""
        now = self._clock()
        failures, until = self._users.get(user, (0, 0.0))
        if until > now:
            wait = until - now
            raise LoginRefused("locked", bilingual(
                f"该账号登录失败次数过多，已锁定，请 {int(wait + 0.999)} 秒后再试",
                f"too many failed sign-ins for this user: locked, try again in "
                f"{int(wait + 0.999)} s"), wait)
        if failures + self._inflight.get(user, 0) >= self.max_failures:
            # attempts in flight would otherwise all be judged before the lock: more guesses
            # than max_failures could get through at once
            raise LoginRefused("busy", bilingual("该账号正在登录，请稍后再试",
                                                  "a sign-in for this user is in progress, "
                                                  "try again shortly"), 1)
        if address is not None:
            recent = [t for t in self._addresses.get(address, ()) if t > now - self.address_window]
            if len(recent) >= self.address_failures:
                wait = recent[0] + self.address_window - now
                raise LoginRefused("too-many", bilingual(
                    f"登录尝试过于频繁，请 {int(wait + 0.999)} 秒后再试",
                    f"too many sign-in attempts, try again in {int(wait + 0.999)} s"), wait)

    def begin(self, user: str) -> None:
        """An attempt for ``user`` is under way (after :meth:`check` let it through)."""
        self._inflight[user] = self._inflight.get(user, 0) + 1

    def end(self, user: str) -> None:
        """That attempt has been judged (or failed on the way)."""
        left = self._inflight.pop(user, 1) - 1
        if left > 0:
            self._inflight[user] = left

    def failed(self, user: str, address: str | None) -> None:
        now = self._clock()
        failures, _ = self._users.pop(user, (0, 0.0))
        failures += 1
        if failures >= self.max_failures:
            log.warning("sign-in: user %r locked for %.0f s after %d failures",
                        user[:40], self.lockout, failures)
            self._users[user] = (0, now + self.lockout)
        else:
            self._users[user] = (failures, 0.0)
        if address is not None:
            times = [t for t in self._addresses.pop(address, []) if t > now - self.address_window]
            times.append(now)
            self._addresses[address] = times
        for table in (self._users, self._addresses):
            while len(table) > self._max_tracked:
                table.popitem(last=False)

    def succeeded(self, user: str, address: str | None) -> None:
        self._users.pop(user, None)


class PasswordChecks(Service):
    """scrypt checks on a thread pool of their own, with a bounded queue.

    ``verify(password, None)`` (an unknown user) checks against a dummy hash: the same work
    and time as a wrong password. The sign-in's own database work (finding the user, keeping
    sessions) runs on this pool too (:meth:`call`): a flood of sign-ins, or a database outage
    while desktops sign in, never takes a thread the call path's lookups and records need.
    """

    name = "password-checks"

    def __init__(self, reactor, *, threads: int = 2, max_pending: int = 16,
                 verify: Callable[[str, str], bool] = verify_password):
        self._reactor = reactor
        self._verify = verify
        self.max_pending = max_pending
        self.pending = 0
        self._dummy: str | None = None       # made on the pool: start-up is not held up
        self.before_stop: Callable[[], defer.Deferred] | None = None
        self.stop_timeout = 5.0
        self._pool = ThreadPool(minthreads=0, maxthreads=threads, name="ctid-passwords")
        self._pool.threadFactory = functools.partial(threading.Thread, daemon=True)

    def startService(self) -> None:
        super().startService()
        self._pool.start()
        self._pool.callInThread(self._dummy_hash)

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = hash_password(secrets.token_hex(16))
        return self._dummy

    def stopService(self) -> defer.Deferred | None:
        """Stops the pool once ``before_stop`` (if set) has fired: the sign-in's pending
        writes, e.g. the delete of a session just signed out, are not cut off by a stop."""
        super().stopService()
        if self.before_stop is None:
            self._pool.stop()
            return None
        d = defer.maybeDeferred(self.before_stop)
        d.addTimeout(self.stop_timeout, self._reactor)     # a database that hangs holds no stop
        d.addErrback(lambda f: log.error("sign-in work not finished at stop: %s",
                                         f.getErrorMessage()))
        d.addCallback(lambda _: self._pool.stop())
        return d

    def call(self, work: Callable[..., Any], *args: Any) -> defer.Deferred:
        """Run ``work(*args)`` on this pool (blocking work of the sign-in, e.g. its queries)."""
        return deferToThreadPool(self._reactor, self._pool, work, *args)

    def admit(self) -> None:
        """Take a place for one whole sign-in (its user look-up and its password check);
        raises :class:`LoginRefused` (``busy``) past ``max_pending``. :meth:`release` after."""
        if self.pending >= self.max_pending:
            raise LoginRefused("busy", bilingual("登录繁忙，请稍后再试",
                                                  "too many sign-ins at once, try again shortly"), 1)
        self.pending += 1

    def release(self) -> None:
        self.pending -= 1

    def verify(self, password: str, stored: str | None) -> defer.Deferred:
        """Deferred[bool]: ``password`` against ``stored`` (or the dummy hash), on the pool."""
        known = stored is not None

        def check() -> bool:
            ok = self._verify(password, stored if known else self._dummy_hash())
            return ok and known
        return deferToThreadPool(self._reactor, self._pool, check)


class SignIn:
    """The sign-in use case: throttle, look the user up, check the password, issue a token.

    ``find_user(name)`` -> Deferred[record or None], where a record has ``password_hash`` and
    ``user``; ``principal_of(record.user)`` builds who they are.
    """

    def __init__(self, *, find_user: Callable[[str], defer.Deferred], checks: PasswordChecks,
                 tokens: TokenStore, throttle: LoginThrottle,
                 principal_of: Callable[[Any], Principal]):
        self._find_user = find_user
        self._checks = checks
        self._tokens = tokens
        self._throttle = throttle
        self._principal_of = principal_of

    @defer.inlineCallbacks
    def login(self, user: str, password: str, address: str | None = None):
        """Deferred[dict with token, role, agent_id] or Deferred[None] for wrong credentials;
        :class:`LoginRefused` when this user or address must wait."""
        user, password = str(user or "")[:80], str(password or "")[:1024]
        self._throttle.check(user, address)
        self._checks.admit()                  # the whole attempt counts, look-up included
        self._throttle.begin(user)
        try:
            record = (yield self._find_user(user)) if user else None
            ok = yield self._checks.verify(password, record.password_hash if record else None)
        finally:
            self._throttle.end(user)
            self._checks.release()
        if not ok or not password:
            self._throttle.failed(user, address)
            return None
        self._throttle.succeeded(user, address)
        principal = self._principal_of(record.user)
        return {"token": self._tokens.issue(principal), "role": principal.role,
                "agent_id": principal.agent_id, "user": principal.user}


class DatabaseSessions:
    """A :class:`SessionStore` on the database (``run``: :meth:`Database.run`)."""

    def __init__(self, run: Callable[..., defer.Deferred]):
        self._run = run

    def save(self, hashed: str, user: str, expires: float) -> defer.Deferred:
        from cti.storage.repositories.sessions import save_session
        return self._run(save_session, hashed, user, _utc(expires))

    def delete(self, hashed: str) -> defer.Deferred:
        from cti.storage.repositories.sessions import delete_session
        return self._run(delete_session, hashed)


def _utc(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc)

