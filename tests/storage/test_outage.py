"""The outage buffer against real databases that go away: every record lands exactly once.

These are integration tests: a real thread pool, the real reactor, a private PostgreSQL cluster
that is stopped and started again, an SQLite file locked by another connection. Retry delays
are shortened to tens of milliseconds.
"""
import datetime as dt
import json
import sqlite3

import pytest
import pytest_twisted
import sqlalchemy as sa
from twisted.internet import reactor
from twisted.internet.task import deferLater

from cti.storage.db import make_engine
from cti.storage.outbox import Backoff, Outbox, database_writer
from cti.storage.queue_log import build
from cti.storage.records import ContactRecord, encode
from cti.storage.unit_of_work import Database

T = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.timezone.utc)
FAST = Backoff(initial=0.02, factor=2, maximum=0.2)


def records_for_call(n: int) -> list:
    call = f"call-{n}"
    at = T + dt.timedelta(seconds=n)
    return [
        build("ENTERQUEUE", time=at, callid=call, queuename="support", url="", callerid="555",
              position=1),
        ContactRecord(call, call, call, at, tier="gold"),
        build("CONNECT", time=at, callid=call, queuename="support", agent="6001", holdtime=2,
              bridged_uniqueid="b", ringtime=1),
        ContactRecord(call, call, call, at, tier="gold", agent_number="6001",
                      answered_at=at + dt.timedelta(seconds=2)),
    ]


async def until(predicate, timeout: float = 10.0) -> None:
    waited = 0.0
    while not predicate():
        if waited > timeout:
            raise AssertionError("condition not reached in time")
        await deferLater(reactor, 0.01, lambda: None)
        waited += 0.01


def assert_landed_once(engine, calls: range) -> None:
    with engine.connect() as connection:
        contacts = connection.execute(sa.text(
            "SELECT call_id, agent_number FROM contacts ORDER BY call_id")).all()
        lines = connection.execute(sa.text(
            "SELECT count(*), count(DISTINCT line_id) FROM queue_log")).one()
    assert sorted(contacts) == sorted((f"call-{n}", "6001") for n in calls)
    assert tuple(lines) == (2 * len(calls), 2 * len(calls))


def start(database: Database, spill) -> Outbox:
    outbox = Outbox(database_writer(database), spill, backoff=FAST, batch_size=50)
    outbox.startService()
    return outbox


@pytest.mark.postgres
@pytest_twisted.ensureDeferred
async def test_postgres_stopped_mid_run(postgres_cluster, pg_test_url, tmp_path):
    from tests.storage.conftest import _empty_pg

    _empty_pg(pg_test_url)
    database = Database(pg_test_url, reactor, max_threads=2)
    database.startService()
    outbox = start(database, tmp_path / "spill.jsonl")
    try:
        for n in range(0, 40):
            for record in records_for_call(n):
                outbox.submit(record)
        postgres_cluster.stop()  # while the first batches are being written
        for n in range(40, 100):
            for record in records_for_call(n):
                outbox.submit(record)
        await until(lambda: outbox.health()["consecutive_failures"] >= 2)
        assert outbox.backlog > 0
        assert (tmp_path / "spill.jsonl").stat().st_size > 0
    finally:
        if not postgres_cluster.running:
            postgres_cluster.start()
    await outbox.drained()
    assert outbox.health()["dead_lettered"] == 0
    assert (tmp_path / "spill.jsonl").stat().st_size == 0
    await outbox.stopService()
    database.stopService()
    assert_landed_once(database.engine, range(100))


@pytest.mark.postgres
@pytest_twisted.ensureDeferred
async def test_ctid_restarted_during_a_postgres_outage(postgres_cluster, pg_test_url, tmp_path):
    from tests.storage.conftest import _empty_pg

    _empty_pg(pg_test_url)
    spill = tmp_path / "spill.jsonl"
    postgres_cluster.stop()
    try:
        database = Database(pg_test_url, reactor, max_threads=2)
        database.startService()
        outbox = start(database, spill)
        for n in range(30):
            for record in records_for_call(n):
                outbox.submit(record)
        await until(lambda: outbox.health()["consecutive_failures"] >= 1)
        await outbox.stopService()  # ctid stops with everything still pending
        database.stopService()
    finally:
        postgres_cluster.start()
    database = Database(pg_test_url, reactor, max_threads=2)
    database.startService()
    outbox = start(database, spill)
    assert outbox.backlog == 120
    await outbox.drained()
    await outbox.stopService()
    database.stopService()
    assert_landed_once(database.engine, range(30))


@pytest_twisted.ensureDeferred
async def test_replaying_records_that_already_landed_adds_nothing(database, tmp_path):
    spill = tmp_path / "spill.jsonl"
    records = [record for n in range(10) for record in records_for_call(n)]
    outbox = start(database, spill)
    for record in records:
        outbox.submit(record)
    await outbox.drained()
    await outbox.stopService()
    # a crash after the commit but before the spill file was truncated
    spill.write_text("".join(json.dumps(encode(r)) + "\n" for r in records))
    outbox = start(database, spill)
    await outbox.drained()
    await outbox.stopService()
    assert_landed_once(database.engine, range(10))


@pytest_twisted.ensureDeferred
async def test_sqlite_locked_by_another_process(tmp_path, sqlite_template):
    import shutil

    path = tmp_path / "ctid.sqlite3"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}", sqlite_timeout=0.02)
    database = Database(engine=engine, reactor=reactor, max_threads=1)
    database.startService()
    outbox = start(database, tmp_path / "spill.jsonl")
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        for n in range(20):
            for record in records_for_call(n):
                outbox.submit(record)
        await until(lambda: outbox.health()["consecutive_failures"] >= 2)
        assert "locked" in outbox.health()["last_error"]
        assert outbox.backlog == 80
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    await outbox.drained()
    await outbox.stopService()
    database.stopService()
    assert_landed_once(engine, range(20))
