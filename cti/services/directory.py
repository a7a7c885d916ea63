"""Who is calling: the customer local database looked up by calling number, never blocking a call.

A lookup runs as a unit of work on the storage thread pool. It must not hold a caller in
silence: past ``timeout`` seconds, or when the database is down, the last answer seen for that
number (a small in-memory cache) is used, and failing that the caller is treated as an unknown
customer (tier ``standard``). The outage is logged, the call goes on.

What "the customer database" is belongs to the customers capability: it hands the directory its
``find(session, number)`` unit of work (see ``cti.customers.plugin``), which returns None for an
unknown number or a record with ``customer_id``, ``name``, ``tier``, ``language`` and ``status``.
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

from twisted.internet import defer

from cti.domain.privacy import mask_number

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Caller:
    number: str
    customer_id: str | None
    name: str | None
    tier: str
    language: str
    known: bool                  # False: not found, or the database could not say
    status: str | None = None    # the line's status (normal, suspended, ...); None if unknown


class CustomerDirectory:
    def __init__(self, run_work: Callable[..., defer.Deferred], clock, *,
                 find: Callable[..., object | None], timeout: float = 0.5,
                 default_tier: str = "standard", default_language: str = "zh",
                 cache_size: int = 50_000):
        self._run = run_work                    # Database.run
        self._find = find                       # the unit of work: (session, number) -> record
        self._clock = clock
        self._timeout = timeout
        self._default_tier = default_tier
        self._default_language = default_language
        self._cache: OrderedDict[str, Caller] = OrderedDict()
        self._cache_size = cache_size

    def unknown(self, number: str) -> Caller:
        return Caller(number, None, None, self._default_tier, self._default_language, False)

    @defer.inlineCallbacks
    def lookup(self, number: str | None):
        """Deferred[Caller]; never errbacks."""
        number = (number or "").strip()
        if not number or number.lower() in ("unknown", "anonymous"):
            return self.unknown(number)
        try:
            d = self._run(self._find, number)
            d.addTimeout(self._timeout, self._clock)
            info = yield d
        except Exception as exc:        # timeout, outage: degrade, don't block the caller
            cached = self._cache.get(number)
            log.warning("customer lookup for %s failed (%s); using %s", mask_number(number),
                        type(exc).__name__, "cached answer" if cached else "tier standard")
            return cached or self.unknown(number)
        if info is None:
            caller = self.unknown(number)
        else:
            caller = Caller(number, str(info.customer_id), info.name, info.tier, info.language, True,
                            info.status)
        self._remember(number, caller)
        return caller

    def _remember(self, number: str, caller: Caller) -> None:
        self._cache[number] = caller
        self._cache.move_to_end(number)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
