"""Customer batch import: rows/s beside a bare COPY of the same rows, peak memory, and caller
lookup latency while the import runs.

    python -m bench.import                          # 1,000,000 lines and 5,000,000 bill items
    python -m bench.import --lines 200000 --items 1000000 --sqlite

Runs on a private PostgreSQL cluster (as the tests start one), and on SQLite with ``--sqlite``.
The bare COPY loads the same rows (the file's lines, header skipped) into an empty table of text
columns: the floor any loader pays. A figure, not a test.
"""
from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import threading
import time
from pathlib import Path

import sqlalchemy as sa

from cti.customers import store
from cti.customers.importer import Importer
from cti.storage import migrations
from cti.storage.db import make_engine


def write(folder: Path, kind: str, seq: int, count: int, row) -> Path:
    path = folder / f"{kind}_GD_20261203_{seq:06d}.txt"
    with open(path, "w", encoding="utf-8") as out:
        out.write(f"HDR|{kind}|BENCH|{seq}|20261203020000|{count}|UTF-8\n")
        for n in range(count):
            out.write(row(n))
            out.write("\n")
    return path


def generate(folder: Path, lines: int, items: int) -> dict[str, Path]:
    per_bill = 5
    bills = max(1, items // per_bill)
    months = -(-bills // lines)
    periods = [f"2026{m:02d}" for m in range(12, 12 - months, -1)] if months <= 12 else None
    assert periods, "at most 12 months of bills per line: raise --lines"
    return {
        "CUSTOMER": write(folder, "CUSTOMER", 1, lines // 2 + 1,
                          lambda n: f"A|C{n:09d}|客户{n}|person||广州市|"),
        "LINE": write(folder, "LINE", 1, lines, lambda n: (
            f"A|138{n:08d}|C{n // 2:09d}|4G畅享|normal|"
            f"{('gold', 'standard', 'silver', 'standard')[n % 4]}|GZ|zh||{n % 10000}|20261203010000")),
        "BILL": write(folder, "BILL", 1, bills, lambda n: (
            f"A|138{n % lines:08d}|{periods[n // lines]}|{n % 9000}|20261215|0")),
        "BILL_ITEM": write(folder, "BILL_ITEM", 1, bills * per_bill, lambda n: (
            f"A|138{(n // per_bill) % lines:08d}|{periods[(n // per_bill) // lines]}|"
            f"{n % per_bill + 1}|通话|本地通话费|{n % 3000}")),
    }


def bare_copy(url: str, path: Path, columns: int) -> float:
    """Seconds for COPY of the file's rows into an empty text table (PostgreSQL)."""
    engine = make_engine(url)
    cols = ", ".join(f"c{i} text" for i in range(columns))
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS bench_bare"))
        conn.execute(sa.text(f"CREATE TABLE bench_bare ({cols})"))
    raw = engine.raw_connection()
    started = time.monotonic()
    with open(path, encoding="utf-8") as fh:
        fh.readline()
        cursor = raw.cursor()
        cursor.copy_expert("COPY bench_bare FROM STDIN WITH (FORMAT text, DELIMITER '|')", fh)
    raw.commit()
    seconds = time.monotonic() - started
    raw.close()
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE bench_bare"))
    engine.dispose()
    return seconds


SHAPES = {      # the target table, its columns, and its foreign key
    "LINE": ("subscriber_lines", "id, number, customer_id, product, status, tier, region, language, "
             "pin_hash, balance_fen, balance_at", "customer_id", "customers"),
    "BILL_ITEM": ("bill_items", "id, bill_id, item_no, category, description, amount_fen",
                  "bill_id", "bills"),
}


def shaped_copy(url: str, kind: str, folder: Path) -> float:
    """Seconds for COPY of the imported rows, as they are in their table, into an empty table of
    the same shape (its primary key, unique indexes and foreign key): the floor of any loader
    that keeps the table's keys, with no checks and no merge (PostgreSQL)."""
    table, columns, fk, parent = SHAPES[kind]
    engine = make_engine(url)
    dump = folder / f"{table}.copy"
    raw = engine.raw_connection()
    cursor = raw.cursor()
    with open(dump, "w", encoding="utf-8") as out:
        cursor.copy_expert(f"COPY (SELECT {columns} FROM {table}) TO STDOUT", out)
    cursor.execute(f"CREATE TABLE bench_shape (LIKE {table} INCLUDING CONSTRAINTS INCLUDING INDEXES)")
    cursor.execute(f"ALTER TABLE bench_shape ADD FOREIGN KEY ({fk}) REFERENCES {parent} (id)")
    raw.commit()
    started = time.monotonic()
    with open(dump, encoding="utf-8") as fh:
        cursor.copy_expert(f"COPY bench_shape ({columns}) FROM STDIN", fh)
    raw.commit()
    seconds = time.monotonic() - started
    cursor.execute("DROP TABLE bench_shape")
    raw.commit()
    raw.close()
    engine.dispose()
    dump.unlink()
    return seconds


def lookups_during(engine, stop: threading.Event, out: list[float]) -> None:
    sessions = sa.orm.sessionmaker(bind=engine)
    n = 0
    while not stop.is_set():
        number = f"138{(n * 7919) % 1000:08d}"
        started = time.perf_counter()
        with sessions() as session:
            store.find_line(session, number)
        out.append((time.perf_counter() - started) * 1000)
        n += 1
        time.sleep(0.005)


def run(url: str, label: str, files: dict[str, Path]) -> None:
    """Each batch in turn with lookups running beside it; then (PostgreSQL) the baselines."""
    engine = make_engine(url)
    migrations.upgrade(engine)
    importer = Importer(engine, holder="bench")
    timings = {}
    print(f"--- {label}")
    for kind in ("CUSTOMER", "LINE", "BILL", "BILL_ITEM"):
        latencies: list[float] = []
        stop = threading.Event()
        reader = threading.Thread(target=lookups_during, args=(make_engine(url), stop, latencies))
        reader.start()
        result = importer.import_file(files[kind])
        stop.set()
        reader.join()
        assert result.outcome == "applied", result.report()
        line = (f"{kind:10s} {result.rows:>9,d} rows {result.seconds:7.1f} s "
                f"{result.rows_per_second:>9,.0f} rows/s ({result.loader})")
        timings[kind] = result
        if latencies:
            q = statistics.quantiles(latencies, n=100)
            line += f" | lookup ms p50 {q[49]:.2f} p99 {q[98]:.2f} max {max(latencies):.1f} (n={len(latencies)})"
        print(line, flush=True)
    print(f"peak RSS after the imports {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if url.startswith("postgresql"):
        for kind in ("LINE", "BILL_ITEM"):
            result = timings[kind]
            bare = bare_copy(url, files[kind], {"LINE": 11, "BILL_ITEM": 7}[kind])
            shaped = shaped_copy(url, kind, files[kind].parent)
            print(f"{kind:10s} import {result.rows_per_second:>9,.0f} rows/s | bare COPY "
                  f"{result.rows / bare:>9,.0f} rows/s (import {100 * bare / result.seconds:.0f} % of it)"
                  f" | COPY into the table's shape {result.rows / shaped:>9,.0f} rows/s "
                  f"(import {100 * shaped / result.seconds:.0f} % of it)", flush=True)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=5_000_000)
    parser.add_argument("--sqlite", action="store_true", help="SQLite figures too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ctid-bench-import-") as tmp:
        folder = Path(tmp)
        started = time.monotonic()
        files = generate(folder, args.lines, args.items)
        print(f"generated {args.lines:,} lines and {args.items:,} bill items in "
              f"{time.monotonic() - started:.0f} s")
        from tests.pg import start_cluster
        cluster = start_cluster()
        try:
            run(cluster.url, "PostgreSQL", files)
        finally:
            cluster.destroy()
        if args.sqlite:
            run(f"sqlite:///{folder / 'bench.sqlite'}", "SQLite", files)


if __name__ == "__main__":
    main()
