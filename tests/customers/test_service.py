"""CustomerService, the watcher and ctictl import, against real databases."""
from __future__ import annotations

import threading
import time

import pytest
import pytest_twisted
from twisted.internet import defer, reactor

from cti.customers.importer import Importer
from cti.customers.service import CustomerService
from cti.customers.watcher import DropWatcher, process
from cti.customers import cli
from cti.cli.main import main as ctictl
from tests.customers.conftest import write_batch
from tests.customers.test_import import CUSTOMERS, LINES, seed


@pytest_twisted.ensureDeferred
async def test_lookup_account_pin_and_suspension(database, engine, tmp_path):
    seed(Importer(engine, holder="test"), tmp_path)
    importer = Importer(engine, holder="test")
    assert importer.import_file(write_batch(tmp_path, "BILL", 1, [
        "A|13800000001|202611|6300|20261215|0"])).outcome == "applied"
    service = CustomerService(database, reactor)
    known = await service.lookup("13800000001")
    assert (known.known, known.name, known.tier, known.status, known.product) == \
        (True, "张三", "gold", "normal", "4G畅享")
    unknown = await service.lookup("13912345678")
    assert (unknown.known, unknown.tier, unknown.status) == (False, "standard", None)
    assert (await service.lookup("anonymous")).known is False
    account = await service.account("13800000001")
    assert account.balance_fen == 1250 and account.last_bill.amount_fen == 6300
    assert await service.account("13912345678") is None
    assert await service.verify_pin("13800000001", "123456") is True
    assert await service.verify_pin("13800000001", "654321") is False
    assert await service.verify_pin("13800000002", "123456") is False      # no PIN set
    assert await service.suspend_line("13800000001", reason="lost phone", call_id="c1") == "suspended"
    assert await service.suspend_line("13800000001", reason="lost phone", call_id="c1") == "suspended"
    assert (await service.lookup("13800000001")).status == "suspended"     # known, and says so
    from sqlalchemy import func, select
    from cti.customers.store import StatusChange
    changes = await database.run(lambda s: s.scalar(select(func.count()).select_from(StatusChange)))
    assert changes == 1


@pytest_twisted.ensureDeferred
async def test_lookup_degrades_to_the_cached_answer_when_the_database_fails(database, engine, tmp_path):
    seed(Importer(engine, holder="test"), tmp_path)
    service = CustomerService(database, reactor)
    assert (await service.lookup("13800000001")).known
    database.run = lambda *a, **k: defer.fail(RuntimeError("down"))
    assert (await service.lookup("13800000001")).tier == "gold"
    assert (await service.lookup("13800000002")).known is False


@pytest_twisted.ensureDeferred
async def test_a_lookup_is_answered_while_a_large_import_runs(database, engine, tmp_path):
    seed(Importer(engine, holder="test"), tmp_path)
    rows = [f"A|139{n:08d}|C001|4G|normal|standard|GZ|zh||0|" for n in range(150_000)]
    path = write_batch(tmp_path, "LINE", 2, rows)
    service = CustomerService(database, reactor, timeout=5.0)
    started = threading.Event()
    times = {}

    def run_import():
        def progress(done, total):
            started.set()
        times["start"] = time.monotonic()
        times["result"] = Importer(engine, holder="big").import_file(path, progress)
        times["end"] = time.monotonic()
    worker = threading.Thread(target=run_import)
    worker.start()
    while not started.is_set():
        await _sleep(0.01)
    asked = time.monotonic()
    profile = await service.lookup("13800000001")
    answered = time.monotonic()
    await defer.Deferred.fromFuture(_join(worker))
    assert profile.known and profile.tier == "gold"
    assert times["result"].outcome == "applied"
    assert answered < times["end"], "the lookup waited for the import to commit"
    assert answered - asked < 1.0, answered - asked


def _sleep(seconds):
    d = defer.Deferred()
    reactor.callLater(seconds, d.callback, None)
    return d


def _join(thread):
    import asyncio
    return asyncio.get_event_loop().run_in_executor(None, thread.join)


def test_the_watcher_moves_files_and_writes_reject_reports(engine, tmp_path):
    drop = tmp_path / "drop"
    for name in ("incoming", "done", "rejected"):
        (drop / name).mkdir(parents=True)
    incoming = drop / "incoming"
    write_batch(incoming, "LINE", 1, LINES)               # needs the customers: applied after
    write_batch(incoming, "CUSTOMER", 1, CUSTOMERS)
    write_batch(incoming, "BILL", 2, ["A|13800000001|202611|6300|20261215|0"])   # waits for 1
    write_batch(incoming, "PAYMENT", 1, ["A|P1|13800000001|12.5|20261101083000|cash"])
    (incoming / "CDR_GD_20261203_000001.txt.tmp").write_text("HDR|CDR|BOSS-GD|1|")   # in transfer
    results = process(Importer(engine, holder="test"), drop)
    assert sorted((r.file, r.outcome) for r in results) == [
        ("BILL_GD_20261203_000002.txt", "waiting"),
        ("CUSTOMER_GD_20261203_000001.txt", "applied"),
        ("LINE_GD_20261203_000001.txt", "applied"),
        ("PAYMENT_GD_20261203_000001.txt", "rejected")]
    assert sorted(p.name for p in (drop / "done").iterdir()) == [
        "CUSTOMER_GD_20261203_000001.txt", "LINE_GD_20261203_000001.txt"]
    assert sorted(p.name for p in incoming.iterdir()) == [
        "BILL_GD_20261203_000002.txt", "CDR_GD_20261203_000001.txt.tmp"]
    report = (drop / "rejected" / "PAYMENT_GD_20261203_000001.txt.reject.txt").read_text()
    assert "line 2:" in report and "whole fen" in report


@pytest_twisted.ensureDeferred
async def test_the_watcher_service_polls_the_drop_directory(database, engine, tmp_path):
    drop = tmp_path / "drop"
    watcher = DropWatcher(Importer(engine, holder="ctid watcher"), drop, reactor, poll_seconds=0.05)
    watcher.startService()
    try:
        write_batch(drop / "incoming", "CUSTOMER", 1, CUSTOMERS)
        for _ in range(600):
            if (drop / "done" / "CUSTOMER_GD_20261203_000001.txt").exists():
                break
            await _sleep(0.05)
    finally:
        watcher.stopService()
    assert (drop / "done" / "CUSTOMER_GD_20261203_000001.txt").exists()


def test_ctictl_import_end_to_end_on_a_temporary_sqlite(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'ctid.sqlite'}"
    (tmp_path / "ctid.sqlite").touch()
    conf = tmp_path / "ctid.yaml"
    conf.write_text(f"database:\n  url: {url}\n")
    customers = write_batch(tmp_path, "CUSTOMER", 1, CUSTOMERS)
    lines = write_batch(tmp_path, "LINE", 1, LINES)
    assert ctictl(["import", str(lines), str(customers), "--config", str(conf)]) == 0
    out = capsys.readouterr().out
    assert "CUSTOMER #1 applied: 2 added" in out and "LINE #1 applied: 2 added" in out
    assert "rows/s" in out
    assert ctictl(["import", str(customers), "--config", str(conf)]) == 0
    assert "nothing changed" in capsys.readouterr().out
    gap = write_batch(tmp_path, "CUSTOMER", 3, ["A|C009|王五|person|||"])
    assert ctictl(["import", str(gap), "--config", str(conf)]) == 1
    assert "missing batch 2" in capsys.readouterr().err
    assert ctictl(["import", "--skip", "CUSTOMER", "2", str(gap), "--config", str(conf)]) == 0
    assert "CUSTOMER #3 applied" in capsys.readouterr().out
    assert ctictl(["import", "--config", str(conf)]) == cli.EXIT_USAGE


def test_a_database_failure_leaves_the_file_for_the_next_poll(engine, tmp_path, caplog):
    drop = tmp_path / "drop"
    for name in ("incoming", "done", "rejected"):
        (drop / name).mkdir(parents=True)
    write_batch(drop / "incoming", "CUSTOMER", 1, CUSTOMERS)
    write_batch(drop / "incoming", "LINE", 1, LINES)

    class Failing(Importer):
        def import_file(self, path, progress=None):
            if path.name.startswith("CUSTOMER"):
                raise RuntimeError("server closed the connection unexpectedly")
            return super().import_file(path, progress)
    caplog.set_level("INFO")
    results = process(Failing(engine, holder="test"), drop)
    assert results == []                              # LINE is held: its customers did not come
    assert sorted(p.name for p in (drop / "incoming").iterdir()) == [
        "CUSTOMER_GD_20261203_000001.txt", "LINE_GD_20261203_000001.txt"]
    assert "stays in incoming/" in caplog.text and "held until the CUSTOMER files" in caplog.text
    results = process(Importer(engine, holder="test"), drop)
    assert [r.outcome for r in results] == ["applied", "applied"]


@pytest_twisted.ensureDeferred
async def test_a_database_that_never_answers_cannot_hold_a_caller_in_silence(database):
    """account, verify_pin and suspend_line give up after their timeout (the IVR then says
    sorry and offers an agent); a hung connection would otherwise keep the caller forever."""
    service = CustomerService(database, reactor, answer_timeout=0.2)
    database.run = lambda *a, **k: defer.Deferred()           # asked, never answered
    for ask in (lambda: service.account("13800000001"),
                lambda: service.verify_pin("13800000001", "1234"),
                lambda: service.suspend_line("13800000001", reason="lost-phone", call_id="c1")):
        started = reactor.seconds()
        with pytest.raises(defer.TimeoutError):
            await ask()
        assert reactor.seconds() - started < 1.0
