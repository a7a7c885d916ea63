"""CustomerService: the port the IVR and the desktop ask the customer database through.

Every method returns a Deferred and runs its database work on the storage thread pool
(``Database.run``); the reactor never blocks. ``lookup`` never errbacks: past ``timeout``
seconds or when the database is down, the last answer seen for that number is used, else the
caller is an unknown standard-tier caller, and the call goes on.
"""
from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import OrderedDict

from twisted.internet import defer

from cti.customers import store
from cti.customers.model import (
    CHANGE_SOURCES,
    AccountSummary,
    CallerProfile,
    is_withheld,
    unknown_caller,
)
from cti.domain.privacy import mask_number
from cti.storage.passwords import verify_password
from cti.storage.unit_of_work import Database

log = logging.getLogger(__name__)


def _check_pin(session, number: str, pin: str) -> bool:
    stored = store.pin_hash_of(session, number)
    return bool(stored) and bool(pin) and verify_password(pin, stored)


class CustomerService:
    def __init__(self, db: Database, clock, *, timeout: float = 0.5,
                 answer_timeout: float = 3.0,
                 default_tier: str = "standard", default_language: str = "zh",
                 cache_size: int = 50_000):
        self._db = db
        self._clock = clock                  # the reactor: seconds() and callLater()
        self._timeout = timeout
        # A caller waits in silence for account, verify_pin and suspend_line: past this they
        # errback (defer.TimeoutError) and the IVR says sorry and offers an agent, never a
        # caller held by a database that does not answer.
        self._answer_timeout = answer_timeout
        self._tier = default_tier
        self._language = default_language
        self._cache: OrderedDict[str, CallerProfile] = OrderedDict()
        self._cache_size = cache_size

    def unknown(self, number: str) -> CallerProfile:
        return unknown_caller(number, tier=self._tier, language=self._language)

    @defer.inlineCallbacks
    def lookup(self, number: str | None):
        """Deferred[CallerProfile]; never errbacks."""
        number = (number or "").strip()
        if is_withheld(number):
            return self.unknown(number)
        try:
            d = self._db.run(store.find_line, number)
            d.addTimeout(self._timeout, self._clock)
            line = yield d
        except Exception as exc:            # timeout, outage: degrade, never hold the caller
            cached = self._cache.get(number)
            log.warning("customer lookup for %s failed (%s); using %s", mask_number(number),
                        type(exc).__name__, "cached answer" if cached else "unknown caller")
            return cached or self.unknown(number)
        if line is None:
            profile = self.unknown(number)
        else:
            profile = CallerProfile(number, True, str(line.customer_id), line.name, line.tier,
                                    line.language, line.status, line.product, line.region)
        self._cache[number] = profile
        self._cache.move_to_end(number)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return profile

    def _bounded(self, d: defer.Deferred) -> defer.Deferred:
        return d.addTimeout(self._answer_timeout, self._clock)

    def account(self, number: str) -> defer.Deferred[AccountSummary | None]:
        """Balance, last bill and last payment of the line ``number``; None if unknown."""
        return self._bounded(self._db.run(store.account_of, number.strip()))

    def verify_pin(self, number: str, pin: str) -> defer.Deferred[bool]:
        """True when ``pin`` is the line's service PIN (the hash check runs off the reactor);
        False for a wrong PIN, a line without one, or an unknown number."""
        return self._bounded(self._db.run(_check_pin, number.strip(), pin or ""))

    def suspend_line(self, number: str, *, reason: str, source: str = "ivr",
                     call_id: str | None = None) -> defer.Deferred[str]:
        """Suspend a line (a lost phone) and record the status change; the line's status after.

        Idempotent: a line already suspended, or cancelled, is left as it is and no change is
        recorded; the same ``call_id`` asking again records nothing more. Errbacks with
        ``cti.storage.db.NotFound`` for a number that is no line."""
        if source not in CHANGE_SOURCES:
            return defer.fail(ValueError(f"source must be one of {', '.join(CHANGE_SOURCES)}"))
        key = f"{source}:{call_id}:suspend" if call_id else f"{source}:{uuid.uuid4().hex}"
        at = dt.datetime.fromtimestamp(self._clock.seconds(), dt.timezone.utc)
        d = self._bounded(self._db.run(
            store.change_status, number.strip(), "suspended", reason=reason, source=source,
            at=at, change_key=key[:40], call_id=call_id, keep_if=("cancelled",)))

        def logged(status: str) -> str:
            self._cache.pop(number.strip(), None)
            log.info("line %s: suspend asked by %s (call %s): now %s", mask_number(number),
                     source, call_id or "-", status)
            return status
        return d.addCallback(logged)
