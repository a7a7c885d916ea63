"""The outage buffer: records reach the database in order, exactly once, whatever it does.

The daemon calls `outbox.submit(record)` from the reactor thread. That call is cheap, never
blocks on the database and never raises: the record goes into an in-memory queue and is
appended (one JSON line) to a local spill file, so a restart of ctid during a database outage
loses nothing. Batches are written by a `write(batch) -> Deferred` function (the database's
thread pool); one batch is in flight at a time, so order is kept.

    submit -> [queue + spill file] -> write(batch) --ok--> drop from queue; empty: truncate spill
                                          |
                                          +-- transient (DatabaseUnavailable): retry the same
                                          |   batch after a backoff (0.5 s, doubling, 30 s max)
                                          +-- permanent (bad record): retry that batch one record
                                              at a time; the record that still fails goes to the
                                              dead-letter file, logged, and the rest flow on

A batch may land and its acknowledgement be lost (connection cut at commit); it is then written
again, which is harmless because every record has a natural key (see `cti.storage.records`).
On start the spill file is replayed for the same reason. `backlog` and `health()` tell the
health check how far behind the database is.
"""
from __future__ import annotations

import collections
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable

from twisted.application.service import Service
from twisted.internet.defer import Deferred, maybeDeferred, succeed
from twisted.internet.interfaces import IDelayedCall
from twisted.python.failure import Failure

from cti.storage.db import DatabaseUnavailable
from cti.storage.records import Record, RecordDecodeError, decode, encode

log = logging.getLogger(__name__)

Write = Callable[[list[Record]], "Deferred[Any]"]


@dataclass(frozen=True)
class Backoff:
    """Delay before retry number `attempt` (1, 2, ...): initial * factor**(attempt-1), capped."""

    initial: float = 0.5
    factor: float = 2.0
    maximum: float = 30.0

    def delay(self, attempt: int) -> float:
        return min(self.maximum, self.initial * self.factor ** max(0, attempt - 1))


def is_transient(failure: Failure) -> bool:
    """Worth retrying the same batch later: the database is away, not the record bad."""
    return failure.check(DatabaseUnavailable) is not None


@dataclass
class _Pending:
    record: Record
    spilled: bool


class Outbox(Service):
    """The `RecordWriter` the daemon submits contacts, recordings, queue_log lines and audit
    entries to. A twisted Service: start it after the database, stop it before."""

    name = "outbox"

    def __init__(
        self,
        write: Write,
        spill_path: Path | None,
        *,
        clock: Any = None,
        batch_size: int = 200,
        backoff: Backoff = Backoff(),
        transient: Callable[[Failure], bool] = is_transient,
        dead_letter_path: Path | None = None,
        compact_after: int = 10_000,
        linger: float = 0.0,
    ) -> None:
        """``linger``: seconds a record waits for others before its batch goes out, once the
        outbox was idle. Every batch is one transaction, whose fixed cost (session, BEGIN,
        COMMIT, a round trip) dwarfs a row's: the records of several calls in one batch cost
        the database thread a fraction of a batch per call. Nothing is at risk meanwhile, the
        record is in the spill file already."""
        if clock is None:
            from twisted.internet import reactor as clock
        self._write = write
        self._clock = clock
        self._batch_size = batch_size
        self._backoff = backoff
        self._transient = transient
        self._spill_path = spill_path
        self._dead_letter_path = dead_letter_path or (
            spill_path.with_name(spill_path.name + ".rejected") if spill_path else None
        )
        self._compact_after = compact_after
        self._linger = linger
        self._queue: collections.deque[_Pending] = collections.deque()
        self._spill: IO[str] | None = None
        self._flushed_in_spill = 0
        self._busy = False
        self._inflight: Deferred[Any] | None = None
        self._scheduled: IDelayedCall | None = None
        self._retry: IDelayedCall | None = None
        self._isolate = 0
        self._failures = 0
        self._last_error: str | None = None
        self._dead_lettered = 0
        self._written = 0
        self._waiters: list[Deferred[None]] = []

    # -- what the daemon calls -----------------------------------------------------------

    def submit(self, record: Record) -> None:
        """Queue `record` for the database. Never blocks on the database, never raises."""
        try:
            pending = _Pending(record, spilled=False)
            self._queue.append(pending)
            pending.spilled = self._spill_one(record)
            self._schedule(self._linger)
        except Exception:
            log.exception("outbox: unexpected error queueing a %s record", type(record).__name__)

    @property
    def backlog(self) -> int:
        """Records accepted but not yet known to be in the database."""
        return len(self._queue)

    def health(self) -> dict[str, Any]:
        return {
            "backlog": len(self._queue),
            "writing": self._busy,
            "retrying": self._retry is not None,
            "consecutive_failures": self._failures,
            "last_error": self._last_error,
            "written": self._written,
            "dead_lettered": self._dead_lettered,
        }

    def drained(self) -> Deferred[None]:
        """Fires once the backlog is empty (at once if it already is)."""
        if not self._queue and not self._busy:
            return succeed(None)
        waiter: Deferred[None] = Deferred()
        self._waiters.append(waiter)
        return waiter

    # -- service life --------------------------------------------------------------------

    def startService(self) -> None:
        super().startService()
        self._replay_spill()
        self._schedule()

    def stopService(self) -> Deferred[None]:
        """Stop writing; an in-flight batch is waited for. What is left stays in the spill file
        and is written after the next start."""
        super().stopService()
        for call in (self._scheduled, self._retry):
            if call is not None and call.active():
                call.cancel()
        self._scheduled = self._retry = None
        done: Deferred[None] = Deferred()
        if self._inflight is not None and self._busy:
            self._inflight.addBoth(lambda _: done.callback(None))
        else:
            done.callback(None)
        done.addCallback(lambda _: self._close_spill())
        return done

    # -- the flush loop ------------------------------------------------------------------

    def _schedule(self, delay: float = 0.0) -> None:
        if not self.running or self._busy or self._scheduled or self._retry or not self._queue:
            return
        self._scheduled = self._clock.callLater(delay, self._flush)

    def _flush(self) -> None:
        self._scheduled = None
        if not self.running or self._busy or self._retry or not self._queue:
            return
        size = 1 if self._isolate else self._batch_size
        batch = [p.record for p in list(_take(self._queue, size))]
        self._busy = True
        d = maybeDeferred(self._write, batch)
        self._inflight = d
        d.addCallbacks(self._on_written, self._on_failed,
                       callbackArgs=(len(batch),), errbackArgs=(batch,))
        d.addErrback(lambda f: log.error("outbox: flush loop error: %s", f.getTraceback()))

    def _on_written(self, _result: Any, count: int) -> None:
        self._busy = False
        self._inflight = None
        self._failures = 0
        self._isolate = max(0, self._isolate - count)
        if self._last_error is not None:
            log.info("outbox: database writes resumed, backlog %d", len(self._queue) - count)
            self._last_error = None
        self._written += count
        self._drop(count)
        self._after_progress()

    def _on_failed(self, failure: Failure, batch: list[Record]) -> None:
        self._busy = False
        self._inflight = None
        message = failure.getErrorMessage()
        if self._transient(failure):
            self._failures += 1
            delay = self._backoff.delay(self._failures)
            if self._failures == 1 or self._last_error != message:
                log.warning("outbox: database unavailable (%s); backlog %d, retrying in %.1fs",
                            message, len(self._queue), delay)
            self._last_error = message
            if self.running:
                self._retry = self._clock.callLater(delay, self._retry_now)
            return
        if len(batch) > 1:
            log.warning("outbox: batch of %d refused (%s); writing it record by record",
                        len(batch), message)
            self._isolate = len(batch)
        else:
            self._dead_letter(batch[0], failure)
            self._isolate = max(0, self._isolate - 1)
            self._drop(1)
        self._after_progress()

    def _retry_now(self) -> None:
        self._retry = None
        self._flush()

    def _after_progress(self) -> None:
        if self._queue:
            self._compact_spill_if_due()
            self._schedule()
            return
        self._truncate_spill()
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.callback(None)

    def _drop(self, count: int) -> None:
        for _ in range(count):
            if self._queue.popleft().spilled:
                self._flushed_in_spill += 1

    def _dead_letter(self, record: Record, failure: Failure) -> None:
        self._dead_lettered += 1
        line = json.dumps({"error": failure.getErrorMessage(), "record": encode(record)},
                          default=str)
        log.error("outbox: %s record refused by the database, set aside: %s",
                  type(record).__name__, failure.getErrorMessage())
        if self._dead_letter_path is None:
            log.error("outbox: refused record: %s", line)
            return
        try:
            with open(self._dead_letter_path, "a", encoding="utf-8") as out:
                out.write(line + "\n")
        except OSError as exc:
            log.error("outbox: dead-letter file %s: %s; record: %s",
                      self._dead_letter_path, exc, line)

    # -- the spill file ------------------------------------------------------------------

    def _open_spill(self) -> IO[str] | None:
        if self._spill is None and self._spill_path is not None:
            self._spill = open(self._spill_path, "a", encoding="utf-8")
        return self._spill

    def _spill_one(self, record: Record) -> bool:
        try:
            spill = self._open_spill()
            if spill is None:
                return False
            spill.write(json.dumps(encode(record)) + "\n")
            spill.flush()
            return True
        except (OSError, TypeError, ValueError) as exc:
            log.error("outbox: cannot spill a %s record to %s (%s); it is held in memory only",
                      type(record).__name__, self._spill_path, exc)
            return False

    def _replay_spill(self) -> None:
        if self._spill_path is None or not self._spill_path.exists():
            return
        replayed = 0
        with open(self._spill_path, encoding="utf-8", errors="replace") as spill:
            lines = spill.read().splitlines()
        for number, text in enumerate(lines, 1):
            if not text.strip():
                continue
            try:
                record = decode(json.loads(text))
            except (ValueError, RecordDecodeError) as exc:
                self._dead_letter_text(text, f"line {number} of the spill file: {exc}")
                continue
            self._queue.append(_Pending(record, spilled=True))
            replayed += 1
        self._rewrite_spill()
        if replayed:
            log.warning("outbox: replaying %d records spilled by the previous run", replayed)

    def _dead_letter_text(self, text: str, reason: str) -> None:
        self._dead_lettered += 1
        log.error("outbox: unreadable spilled record set aside (%s)", reason)
        if self._dead_letter_path is not None:
            try:
                with open(self._dead_letter_path, "a", encoding="utf-8") as out:
                    out.write(json.dumps({"error": reason, "line": text}) + "\n")
            except OSError as exc:
                log.error("outbox: dead-letter file %s: %s; line: %s",
                          self._dead_letter_path, exc, text)

    def _truncate_spill(self) -> None:
        try:
            spill = self._open_spill()
            if spill is not None:
                spill.truncate(0)
        except OSError as exc:
            log.error("outbox: cannot truncate spill file %s: %s", self._spill_path, exc)
        self._flushed_in_spill = 0

    def _compact_spill_if_due(self) -> None:
        if self._flushed_in_spill >= self._compact_after:
            self._rewrite_spill()

    def _rewrite_spill(self) -> None:
        """Rewrite the spill file with only what is still pending (atomic replace)."""
        if self._spill_path is None:
            return
        self._close_spill()
        partial = self._spill_path.with_name(self._spill_path.name + ".partial")
        try:
            with open(partial, "w", encoding="utf-8") as out:
                for pending in self._queue:
                    if pending.spilled:
                        out.write(json.dumps(encode(pending.record)) + "\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, self._spill_path)
            self._flushed_in_spill = 0
        except OSError as exc:
            log.error("outbox: cannot rewrite spill file %s: %s", self._spill_path, exc)

    def _close_spill(self) -> None:
        if self._spill is not None:
            try:
                self._spill.close()
            except OSError:
                pass
            self._spill = None


def _take(queue: collections.deque[_Pending], count: int) -> list[_Pending]:
    out = []
    for pending in queue:
        if len(out) == count:
            break
        out.append(pending)
    return out


def database_writer(database: Any) -> Write:
    """The `write` function for an `Outbox` over a `cti.storage.unit_of_work.Database`."""
    from cti.storage.repositories.history import write_records

    return lambda batch: database.run(write_records, batch)
