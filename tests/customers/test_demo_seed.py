"""The demo's customer data: every tier and status, and real answers for the bill inquiry."""
from __future__ import annotations

import random

import pytest_twisted
from sqlalchemy import func, select
from twisted.internet import reactor

from cti import demo
from cti.customers import store
from cti.customers.service import CustomerService


@pytest_twisted.ensureDeferred
async def test_demo_lines_have_statuses_bills_payments_and_pins(database):
    numbers = demo.seed(database, 4, random.Random(1))
    assert set(numbers) == set(demo.TIER_MIX) and all(numbers.values())
    statuses = await database.run(lambda s: dict(s.execute(
        select(store.SubscriberLine.status, func.count()).group_by(store.SubscriberLine.status)).all()))
    assert set(statuses) == {"normal", "arrears", "suspended", "cancelled"}
    service = CustomerService(database, reactor)
    for tier, phones in numbers.items():
        first = await service.lookup(phones[0])
        assert first.known and first.tier == tier and first.status == "normal"
        account = await service.account(phones[0])
        assert account.last_bill.period == "2026-11" and account.last_bill.paid is False
        assert account.last_bill.amount_fen > 0 and account.last_payment.amount_fen > 0
        assert await service.verify_pin(phones[0], demo.DEMO_PIN)
    items = await database.run(lambda s: s.scalar(select(func.count()).select_from(store.BillItem)))
    assert items == 400 * 6 * 3
    # the call path's lookup (what the IVR asks first) sees the same lines
    caller = await service.lookup(numbers["gold"][0])
    assert (caller.known, caller.tier, caller.status) == (True, "gold", "normal")
    unknown = await service.lookup("13999999999")
    assert (unknown.known, unknown.tier, unknown.status) == (False, "standard", None)


def test_the_sample_batch_is_dropped_once(tmp_path):
    config = {"customers": {"drop_dir": str(tmp_path / "drop")}}
    numbers = {"gold": ["13800000001"], "standard": ["13800000002", "13800000003"]}
    demo.drop_sample_batch(config, numbers)
    incoming = tmp_path / "drop" / "incoming"
    [sample] = list(incoming.iterdir())
    text = sample.read_text(encoding="utf-8")
    assert text.startswith("HDR|PAYMENT|BOSS-DEMO|1|") and text.count("\n") == 4
    (tmp_path / "drop" / "done").mkdir()
    sample.replace(tmp_path / "drop" / "done" / sample.name)
    demo.drop_sample_batch(config, numbers)
    assert list(incoming.iterdir()) == []


def test_the_demo_watcher_applies_the_sample_batch(tmp_path):
    from cti import config as cfg
    from cti.customers.watcher import process
    config = cfg.load(environ={}, overrides=demo.DEMO_OVERRIDES + [
        f"database.url=sqlite:///{tmp_path}/ctid.sqlite",
        f"database.spill_file={tmp_path}/outbox.jsonl",
        f"queue_log.file={tmp_path}/queue_log", "fastagi.port=0", "web.port=0"])
    runner = demo.Demo(config, reactor, out=open("/dev/null", "w"))
    try:
        watcher = runner.daemon.customers.watcher
        assert watcher.drop_dir == tmp_path / "customer-drop"
        [result] = process(watcher.importer, watcher.drop_dir)
        assert (result.outcome, result.record_type, result.added) == ("applied", "PAYMENT", 3)
        assert [p.name for p in (watcher.drop_dir / "done").iterdir()] == [result.file]
    finally:
        runner.daemon.db.engine.dispose()
