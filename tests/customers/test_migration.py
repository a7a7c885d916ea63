"""Revision 0004 carries the old customers and their numbers over (SQLite and PostgreSQL)."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from cti.customers import store
from cti.storage import migrations
from cti.storage.db import make_engine, make_session_factory
from cti.storage.unit_of_work import run_in_session

WHEN = "2026-11-01 08:00:00"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_engine(request, tmp_path):
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
        yield engine
        engine.dispose()
        return
    cluster = request.getfixturevalue("postgres_cluster")
    name = f"mig_{tmp_path.name.lower().replace('-', '_')[:40]}"
    admin = sa.create_engine(cluster.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f"CREATE DATABASE {name}"))
    engine = make_engine(cluster.url_for(name))
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.execute(sa.text(f"DROP DATABASE {name}"))
    admin.dispose()


def test_old_customers_and_numbers_become_customers_and_lines(fresh_engine):
    migrations.upgrade(fresh_engine, "0003")
    stamp = WHEN + ("+00" if fresh_engine.dialect.name == "postgresql" else "")
    with fresh_engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO customers (id, name, tier, language, created_at) VALUES "
                             "(7, '张三', 'gold', 'zh', :t), (9, 'Ada', 'standard', 'en', :t)"),
                     {"t": stamp})
        conn.execute(sa.text("INSERT INTO customer_numbers (id, customer_id, number) VALUES "
                             "(3, 7, '13800000001'), (4, 7, '02012345678'), (5, 9, '+33612345678')"))
    migrations.upgrade(fresh_engine)
    sessions = make_session_factory(fresh_engine)
    found = run_in_session(sessions, store.find_line, "02012345678")
    assert (found.customer_id, found.name, found.tier, found.language, found.status) == \
        (7, "张三", "gold", "zh", "normal")
    assert run_in_session(sessions, store.find_line, "+33612345678").tier == "standard"
    keys = run_in_session(sessions, lambda s: s.execute(
        sa.select(store.Customer.id, store.Customer.customer_key, store.Customer.created_at)
        .order_by(store.Customer.id)).all())
    assert [tuple(k) for k in keys] == [
        (7, "C000000007", dt.datetime(2026, 11, 1, 8, tzinfo=dt.timezone.utc)),
        (9, "C000000009", dt.datetime(2026, 11, 1, 8, tzinfo=dt.timezone.utc))]
    # new rows get fresh ids after the carried-over ones
    added = run_in_session(sessions, store.add_customer, "Bob", ["13900000000"])
    assert added.id == 10
    line_id = run_in_session(sessions, lambda s: s.scalar(
        sa.select(store.SubscriberLine.id).where(store.SubscriberLine.number == "13900000000")))
    assert line_id == 6
    migrations.downgrade(fresh_engine, "0003")
    with fresh_engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT c.id, c.tier, n.number FROM customers c JOIN "
                                    "customer_numbers n ON n.customer_id = c.id ORDER BY n.id")).all()
    assert [tuple(r) for r in rows] == [(7, "gold", "13800000001"), (7, "gold", "02012345678"),
                                        (9, "standard", "+33612345678"),
                                        (10, "standard", "13900000000")]
