"""Applies one incremental batch file to the customer database: atomic, idempotent, in order.

One transaction per batch: take the record type's lock (a row of ``import_locks``), check the
ledger (``import_batches``: the same file again changes nothing; a gap in sequence numbers
stops the type until the missing batch comes or an operator skips it), stream the rows into a
staging table (PostgreSQL ``COPY ... FROM STDIN``; SQLite ``executemany``), check them as a set
(duplicate keys, unknown keys, unknown references), merge them set-based, write the ledger row,
commit. Any bad row rejects the whole batch with every bad line named, and the transaction is
rolled back: the database is as it was. Memory stays flat: rows go to the database in chunks.

Blocking: runs on a thread of its own (the watcher) or in ``ctictl``, never on the reactor and
never on the call path's pool. Lookups go on meanwhile: PostgreSQL's MVCC, and SQLite in WAL
mode (``cti.storage.db``), let readers see the last committed data while the batch is staged.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from sqlalchemy import exc as sa_exc, insert, select, text
from sqlalchemy.engine import Connection, Engine

from cti.customers import batch
from cti.customers.batch import BatchError, Header, RecordType, RowError
from cti.customers.merge import (
    MERGES,
    PG_TYPES,
    SQLITE_OUT,
    SQLITE_TYPES,
    column_kinds,
    db_time,
    pg_text,
    raw_casts,
    raw_refusals,
)
from cti.customers.store import ImportBatch, ImportLock
from cti.domain.reasons import bilingual

CHUNK_ROWS = 20_000
MAX_REPORTED = 1_000          # bad lines named one by one; past this a count
STAGE = "ctid_import_stage"
RAW = "ctid_import_raw"

Progress = Callable[[int, int], None]     # (rows staged so far, rows announced)


@dataclass
class ImportResult:
    file: str
    outcome: str                  # applied | duplicate | waiting | busy | rejected
    message: str
    record_type: str | None = None
    sequence: int | None = None
    rows: int = 0
    added: int = 0
    updated: int = 0
    deleted: int = 0
    seconds: float = 0.0
    errors: list[tuple[int | None, str]] = field(default_factory=list)
    more_errors: int = 0
    loader: str = ""              # copy: PostgreSQL COPY as is; rows: row by row

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        if self.outcome != "applied":
            return f"{self.file}: {self.message}"
        return (f"{self.file}: {self.record_type} #{self.sequence} applied: "
                f"{self.added} added, {self.updated} updated, {self.deleted} deleted, "
                f"{self.rows} rows in {self.seconds:.1f} s ({self.rows_per_second:,.0f} rows/s)")

    def report(self) -> str:
        """The reject report: the batch's problem, then each bad line and why."""
        lines = [f"# {self.file}", f"# {self.message}"]
        for line_no, why in self.errors:
            lines.append(f"line {line_no}: {why}" if line_no else why)
        if self.more_errors:
            lines.append(bilingual(f"……另有 {self.more_errors} 行有误",
                                   f"... and {self.more_errors} more bad lines"))
        return "\n".join(lines) + "\n"


class _Fallback(Exception):
    """The fast path cannot take this batch: the row-by-row path will say why."""


try:
    from psycopg2 import Error as _DriverError
except ImportError:                                  # pragma: no cover - SQLite-only installs
    class _DriverError(Exception):
        pass


class _Refused(Exception):
    def __init__(self, outcome: str, message: str, errors=(), more: int = 0):
        super().__init__(message)
        self.outcome, self.errors, self.more = outcome, list(errors), more


class _Reading:
    """A file COPY reads, reporting rows staged (estimated from bytes read) as it goes."""

    def __init__(self, fh, size: int, rows: int, progress: Progress, every: int = 4 << 20):
        self._fh, self._size, self._rows, self._progress = fh, max(size, 1), rows, progress
        self._every, self._next = every, every

    def read(self, n: int = -1) -> bytes:
        data = self._fh.read(n)
        position = self._fh.tell()
        if position >= self._next:
            self._next = position + self._every
            self._progress(min(self._rows, self._rows * position // self._size), self._rows)
        return data

    def readline(self, n: int = -1) -> bytes:
        return self._fh.readline(n)


def scan(path: Path) -> tuple[str, bool]:
    """The file's SHA-256, and whether it holds the byte COPY's CSV dialect takes as its quote
    (0x01): such a file is read row by row, where that byte is plain data."""
    digest = hashlib.sha256()
    quote = False
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
            quote = quote or b"\x01" in chunk
    return digest.hexdigest(), quote


def batch_order(path: Path) -> tuple:
    """Sort key applying files in dependency order of their types, then by sequence."""
    try:
        name = batch.parse_file_name(path.name)
    except BatchError:
        return (len(batch.TYPE_ORDER), 0, path.name)
    return (batch.TYPE_ORDER.index(name.record_type), name.sequence, path.name)


class Importer:
    """Applies batch files to the database behind ``engine`` (blocking)."""

    def __init__(self, engine: Engine, *, holder: str, tiers: tuple[str, ...] = batch.DEFAULT_TIERS,
                 now: Callable[[], dt.datetime] | None = None, chunk_rows: int = CHUNK_ROWS):
        self.engine = engine
        self.holder = holder[:80]
        self.types = batch.record_types(tuple(tiers))
        self._now = now or (lambda: dt.datetime.now(dt.timezone.utc))
        self._chunk = chunk_rows
        self._pg = engine.dialect.name == "postgresql"

    # -- public --------------------------------------------------------------------------------
    def import_file(self, path: Path | str, progress: Progress | None = None) -> ImportResult:
        path = Path(path)
        started = time.monotonic()
        result = ImportResult(path.name, "rejected", "")
        try:
            name = batch.parse_file_name(path.name)
            with open(path, "rb") as fh:
                header = batch.parse_header(fh.readline())
            if (header.record_type, header.sequence) != (name.record_type, name.sequence):
                raise BatchError("header", bilingual(
                    f"文件名（{name.record_type} 第 {name.sequence} 批）与文件头"
                    f"（{header.record_type} 第 {header.sequence} 批）不一致",
                    f"the file name says {name.record_type} #{name.sequence}, the header "
                    f"{header.record_type} #{header.sequence}"))
            result.record_type, result.sequence = header.record_type, header.sequence
            digest, quoted = scan(path)
            self._ensure_lock_row(header.record_type)
            with self.engine.connect() as conn:
                with conn.begin():
                    self._lock(conn, header.record_type)
                    self._check_ledger(conn, header, digest)
                    counts = self._apply(conn, path, header, progress, result, quoted)
                    result.rows, (result.added, result.updated, result.deleted) = counts
                    conn.execute(insert(ImportBatch), [dict(
                        record_type=header.record_type, sequence=header.sequence,
                        outcome="applied", file_name=path.name[:255], checksum=digest,
                        source=header.source, rows=result.rows, added=result.added,
                        updated=result.updated, deleted=result.deleted, done_at=self._now(),
                        done_by=self.holder)])
                    self._unlock(conn, header.record_type)
            result.outcome = "applied"
            result.message = bilingual("已导入", "applied")
        except BatchError as exc:
            result.message = str(exc)
            result.errors = []
        except _Refused as exc:
            result.outcome, result.message = exc.outcome, str(exc)
            result.errors, result.more_errors = exc.errors, exc.more
        except OSError as exc:
            result.message = bilingual(f"无法读取文件：{exc.strerror}", f"cannot read the file: {exc.strerror}")
        result.seconds = time.monotonic() - started
        return result

    def skip(self, record_type: str, sequence: int) -> str:
        """Record that batch ``sequence`` of ``record_type`` will never come: the next one may
        be applied. Only the batch the type waits for can be skipped."""
        if record_type not in self.types:
            raise BatchError("skip", bilingual(f"未知记录类型 {record_type}",
                                               f"unknown record type {record_type} "
                                               f"(one of {', '.join(batch.TYPE_ORDER)})"))
        self._ensure_lock_row(record_type)
        try:
            with self.engine.connect() as conn, conn.begin():
                self._lock(conn, record_type)
                expected = self._expected(conn, record_type)
                if sequence != expected:
                    raise BatchError("skip", bilingual(
                        f"{record_type} 等待的是第 {expected} 批，不能跳过第 {sequence} 批",
                        f"{record_type} waits for batch {expected}: batch {sequence} cannot be skipped"))
                conn.execute(insert(ImportBatch), [dict(
                    record_type=record_type, sequence=sequence, outcome="skipped",
                    rows=0, added=0, updated=0, deleted=0, done_at=self._now(),
                    done_by=self.holder)])
                self._unlock(conn, record_type)
        except _Refused as exc:
            raise BatchError(exc.outcome, str(exc)) from None
        return bilingual(f"{record_type} 第 {sequence} 批已标记为跳过，下一批为第 {sequence + 1} 批",
                         f"{record_type} batch {sequence} skipped; the next one is {sequence + 1}")

    # -- the lock and the ledger ---------------------------------------------------------------
    def _ensure_lock_row(self, record_type: str) -> None:
        with self.engine.connect() as conn:
            exists = conn.scalar(select(ImportLock.record_type)
                                 .where(ImportLock.record_type == record_type)) is not None
        if exists:
            return
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(ImportLock), [{"record_type": record_type}])
        except sa_exc.IntegrityError:
            pass                                   # another importer made it first
        except sa_exc.OperationalError:
            pass                                   # busy: _lock says so

    def _lock(self, conn: Connection, record_type: str) -> None:
        busy = _Refused("busy", bilingual(
            f"另一个导入正在处理 {record_type}，稍后再试",
            f"another import of {record_type} is running; try again when it ends"))
        try:
            if self._pg:
                conn.execute(text("SELECT record_type FROM import_locks WHERE record_type = :t "
                                  "FOR UPDATE NOWAIT"), {"t": record_type})
            conn.execute(text("UPDATE import_locks SET holder = :h, since = :now "
                              "WHERE record_type = :t"),
                         {"h": self.holder, "now": db_time(self._now(), self._pg), "t": record_type})
        except sa_exc.OperationalError as exc:
            if self._pg and "could not obtain lock" not in str(exc) and "lock timeout" not in str(exc):
                raise
            raise busy from None

    def _unlock(self, conn: Connection, record_type: str) -> None:
        conn.execute(text("UPDATE import_locks SET holder = NULL, since = NULL "
                          "WHERE record_type = :t"), {"t": record_type})

    def _expected(self, conn: Connection, record_type: str) -> int:
        last = conn.scalar(text("SELECT MAX(sequence) FROM import_batches WHERE record_type = :t"),
                           {"t": record_type})
        return (last or 0) + 1

    def _check_ledger(self, conn: Connection, header: Header, digest: str) -> None:
        t, seq = header.record_type, header.sequence
        done = conn.execute(text(
            "SELECT outcome, checksum, file_name, done_at FROM import_batches "
            "WHERE record_type = :t AND sequence = :s"), {"t": t, "s": seq}).first()
        if done is not None:
            if done.outcome == "skipped":
                raise _Refused("rejected", bilingual(
                    f"{t} 第 {seq} 批已被运维人员跳过；其中的记录请放入新的批次重发",
                    f"{t} batch {seq} was skipped by an operator; send its rows again in a new batch"))
            if done.checksum == digest:
                raise _Refused("duplicate", bilingual(
                    f"{t} 第 {seq} 批此前已导入（{done.file_name}），本次未做任何修改",
                    f"{t} batch {seq} was already applied (from {done.file_name}): nothing changed"))
            raise _Refused("rejected", bilingual(
                f"{t} 第 {seq} 批此前已由内容不同的文件 {done.file_name} 导入；更正请用新的序号",
                f"{t} batch {seq} was already applied from {done.file_name} with other content; "
                f"a correction needs a new sequence number"))
        expected = self._expected(conn, t)
        if seq > expected:
            raise _Refused("waiting", bilingual(
                f"{t} 第 {seq} 批在等待缺失的第 {expected} 批（或运维执行 ctictl import --skip {t} {expected}）",
                f"{t} batch {seq} waits for missing batch {expected} "
                f"(or an operator runs ctictl import --skip {t} {expected})"))
        if seq < expected:
            raise _Refused("rejected", bilingual(
                f"{t} 第 {seq} 批早于已导入的批次",
                f"{t} batch {seq} is older than the batches already applied"))

    # -- staging, checks, merge ----------------------------------------------------------------
    def _apply(self, conn: Connection, path: Path, header: Header, progress: Progress | None,
               result: ImportResult, quoted: bool) -> tuple[int, tuple[int, int, int]]:
        kind = self.types[header.record_type]
        columns = column_kinds(kind)
        self._create_stage(conn, columns)
        as_is = self._pg and header.codec == "utf-8" and not quoted
        if as_is and self._copy_as_is(conn, path, header, kind, progress):
            rows, result.loader = header.rows, "copy"
            if progress:
                progress(rows, header.rows)
        else:
            result.loader = "rows"
            rows = self._stage(conn, path, header, kind, columns, progress)
        if rows != header.rows:
            raise _Refused("rejected", bilingual(
                f"文件不完整：文件头声明 {header.rows} 行，实际 {rows} 行",
                f"truncated or padded file: the header announces {header.rows} rows, "
                f"the file has {rows}"))
        if self._pg:
            conn.execute(text("SET LOCAL default_statistics_target = 10"))  # a quick sample
            conn.execute(text(f"ANALYZE {STAGE}"))
        self._check_set(conn, kind)
        counts = self._merge(conn, header.record_type)
        conn.execute(text(f"DROP TABLE {STAGE}"))
        return rows, counts

    def _copy_as_is(self, conn: Connection, path: Path, header: Header, kind: RecordType,
                    progress: Progress | None = None) -> bool:
        """PostgreSQL, UTF-8: ``COPY`` the file's rows as they are into a raw table, check them
        with the converters' SQL rules and convert them into the staging table, all set-based.

        False, with nothing left behind, when anything is off (a row the rules refuse, a count
        that does not match, bytes COPY refuses, a value a cast refuses): the row-by-row path
        then runs and names each bad line. GBK files always take that path: only it can tell a
        UTF-8 line declared GBK, line by line."""
        fields = kind.fields
        raw_columns = ", ".join(f.name for f in fields)
        savepoint = conn.begin_nested()
        try:
            conn.execute(text(f"DROP TABLE IF EXISTS {RAW}"))
            conn.execute(text(
                f"CREATE TEMPORARY TABLE {RAW} (line_no BIGINT GENERATED ALWAYS AS IDENTITY, "
                f"op TEXT, {', '.join(f.name + ' TEXT' for f in fields)})"))
            with open(path, "rb") as fh:
                fh.readline()
                if progress:
                    fh = _Reading(fh, path.stat().st_size, header.rows, progress)
                cursor = conn.connection.dbapi_connection.cursor()
                cursor.copy_expert(
                    f"COPY {RAW} (op, {raw_columns}) FROM STDIN WITH (FORMAT csv, "
                    f"DELIMITER '|', QUOTE E'\\x01', ENCODING 'UTF8')", fh)
            if cursor.rowcount != header.rows:
                raise _Fallback                        # truncated or padded: say which
            staged = ", ".join(c for f in fields for c in f.staged)
            converted = conn.execute(text(           # the rows no rule refuses, converted
                f"INSERT INTO {STAGE} (line_no, op, {staged}) "
                f"SELECT line_no + 1, op, {', '.join(raw_casts(kind))} FROM {RAW} "
                f"WHERE NOT COALESCE({raw_refusals(kind)}, FALSE)")).rowcount
            if converted != header.rows:
                raise _Fallback                        # some row is bad: name each one
            if any(f.name == "pin" for f in fields):
                pins = conn.execute(text(
                    f"SELECT line_no + 1, pin FROM {RAW} WHERE op <> 'D' AND pin IS NOT NULL "
                    f"AND pin NOT LIKE 'scrypt$%'")).all()
                if pins:
                    conn.execute(text(f"UPDATE {STAGE} SET pin_hash = :h WHERE line_no = :n"),
                                 [{"h": batch.pin(p), "n": n} for n, p in pins])
            conn.execute(text(f"DROP TABLE {RAW}"))
        except (_Fallback, sa_exc.DBAPIError, _DriverError):
            savepoint.rollback()
            return False
        savepoint.commit()
        return True

    def _create_stage(self, conn: Connection, columns: list[tuple[str, str]]) -> None:
        types = PG_TYPES if self._pg else SQLITE_TYPES
        body = ", ".join(f"{name} {types[k]}" for name, k in columns)
        conn.execute(text(f"DROP TABLE IF EXISTS {STAGE}"))
        conn.execute(text(f"CREATE TEMPORARY TABLE {STAGE} (line_no BIGINT NOT NULL, "
                          f"op CHAR(1) NOT NULL, {body})"))

    def _stage(self, conn: Connection, path: Path, header: Header, kind: RecordType,
               columns: list[tuple[str, str]], progress: Progress | None) -> int:
        errors: list[tuple[int, str]] = []
        bad = 0
        rows = 0
        chunk: list[tuple] = []
        flush = self._copy if self._pg else self._insert
        names = ["line_no", "op"] + [c for c, _ in columns]
        kinds = [k for _, k in columns]
        with open(path, "rb") as fh:
            fh.readline()
            line_no = 1
            for raw in fh:
                line_no += 1
                raw = raw.rstrip(b"\r\n")
                if not raw:
                    bad += 1
                    if len(errors) < MAX_REPORTED:
                        errors.append((line_no, bilingual("空行", "empty line")))
                    continue
                rows += 1
                try:
                    op, values = batch.parse_row(kind, batch.decode_line(raw, header))
                except RowError as exc:
                    bad += 1
                    if len(errors) < MAX_REPORTED:
                        errors.append((line_no, str(exc)))
                    continue
                if bad:
                    continue                  # rejected anyway: only look for more bad lines
                chunk.append((line_no, op) + values)
                if len(chunk) >= self._chunk:
                    flush(conn, names, kinds, chunk)
                    chunk = []
                    if progress:
                        progress(rows, header.rows)
        if bad:
            raise _Refused("rejected", bilingual(f"{bad} 行有误，整批未导入",
                                                 f"{bad} bad lines: the batch was not applied"),
                           errors, max(0, bad - len(errors)))
        if chunk:
            flush(conn, names, kinds, chunk)
        if progress:
            progress(rows, header.rows)
        return rows

    def _insert(self, conn: Connection, names: list[str], kinds: list[str], chunk: list[tuple]) -> None:
        convert = [None, None] + [SQLITE_OUT.get(k) for k in kinds]
        if any(convert):
            chunk = [tuple(v if f is None or v is None else f(v) for f, v in zip(convert, row))
                     for row in chunk]
        marks = ", ".join("?" * len(names))
        conn.connection.dbapi_connection.cursor().executemany(
            f"INSERT INTO {STAGE} ({', '.join(names)}) VALUES ({marks})", chunk)

    def _copy(self, conn: Connection, names: list[str], kinds: list[str], chunk: list[tuple]) -> None:
        out = io.StringIO()
        write = out.write
        for row in chunk:
            write("\t".join(pg_text(v) for v in row))
            write("\n")
        out.seek(0)
        cursor = conn.connection.dbapi_connection.cursor()
        cursor.copy_expert(f"COPY {STAGE} ({', '.join(names)}) FROM STDIN", out)

    def _check_set(self, conn: Connection, kind: RecordType) -> None:
        merge = MERGES[kind.code]
        errors: list[tuple[int, str]] = []
        keys = ", ".join(kind.key)
        for row in conn.execute(text(
                f"SELECT {keys}, MIN(line_no) AS first, COUNT(*) AS n FROM {STAGE} "
                f"GROUP BY {keys} HAVING COUNT(*) > 1 ORDER BY first LIMIT {MAX_REPORTED}")):
            key = "|".join(str(v) for v in row[:len(kind.key)])
            errors.append((row.first, bilingual(f"关键字 {key} 在本批中出现 {row.n} 次",
                                                f"key {key} appears {row.n} times in this batch")))
        if errors:
            self._refuse(bilingual("批内关键字重复", "duplicate keys inside the batch"), errors)
        if merge.refs:
            for (line_no,) in conn.execute(text(
                    f"SELECT line_no FROM {STAGE} WHERE op <> 'D' EXCEPT "
                    f"SELECT s.line_no FROM {STAGE} s {merge.refs} WHERE s.op <> 'D' "
                    f"ORDER BY 1 LIMIT {MAX_REPORTED}")):
                errors.append((line_no, bilingual(f"引用的 {merge.ref_what} 不存在",
                                                  f"refers to an unknown {merge.ref_what}")))
        keyed = merge.refs if merge.key_refs is None else merge.key_refs
        for (line_no,) in conn.execute(text(
                f"SELECT s.line_no FROM {STAGE} s {keyed} JOIN {merge.table} t "
                f"ON {merge.match} WHERE s.op = 'A' ORDER BY 1 LIMIT {MAX_REPORTED}")):
            errors.append((line_no, bilingual("新增的记录已存在（修改请用 U）",
                                              "add of a key that exists (use U to update)")))
        for (line_no,) in conn.execute(text(
                f"SELECT line_no FROM {STAGE} WHERE op IN ('U', 'D') EXCEPT "
                f"SELECT s.line_no FROM {STAGE} s {keyed} JOIN {merge.table} t "
                f"ON {merge.match} WHERE s.op IN ('U', 'D') ORDER BY 1 LIMIT {MAX_REPORTED}")):
            errors.append((line_no, bilingual("修改或删除的记录不存在",
                                              "update or delete of a key that does not exist")))
        if merge.children:
            for (line_no,) in conn.execute(text(
                    f"SELECT s.line_no FROM {STAGE} s {keyed} JOIN {merge.table} t "
                    f"ON {merge.match} WHERE s.op = 'D' AND {merge.children} "
                    f"ORDER BY 1 LIMIT {MAX_REPORTED}")):
                errors.append((line_no, bilingual("该客户仍有用户号码，先删除或迁移其号码",
                                                  "this customer still has lines: delete or move them first")))
        if errors:
            errors.sort(key=lambda e: e[0])
            self._refuse(bilingual(f"{len(errors)} 行与库中数据不符，整批未导入",
                                   f"{len(errors)} lines do not fit the database: the batch was not applied"),
                         errors)

    @staticmethod
    def _refuse(message: str, errors: list) -> None:
        raise _Refused("rejected", message, errors[:MAX_REPORTED], max(0, len(errors) - MAX_REPORTED))

    def _merge(self, conn: Connection, code: str) -> tuple[int, int, int]:
        m = MERGES[code]
        now = {"now": db_time(self._now(), self._pg)}
        keyed = m.refs if m.key_refs is None else m.key_refs
        deleted = conn.execute(text(
            f"DELETE FROM {m.table} WHERE id IN (SELECT t.id FROM {STAGE} s {keyed} "
            f"JOIN {m.table} t ON {m.match} WHERE s.op = 'D')")).rowcount
        sets = ", ".join(f"{c} = {e}" for c, e in m.values if c not in m.key_columns)
        updated = conn.execute(text(
            f"UPDATE {m.table} AS t SET {sets} FROM {STAGE} s {m.refs} "
            f"WHERE s.op = 'U' AND {m.match}"), now).rowcount
        inserted_values = ", ".join(
            ("s.pin_hash" if e.startswith("COALESCE") else e) for _, e in m.values)
        added = conn.execute(text(
            f"INSERT INTO {m.table} ({', '.join(c for c, _ in m.values)}) "
            f"SELECT {inserted_values} FROM {STAGE} s {m.refs} WHERE s.op = 'A'"), now).rowcount
        return added, updated, deleted
