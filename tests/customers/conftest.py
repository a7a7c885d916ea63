"""Databases of both kinds for the customer tests (the storage tests' fixtures), and batch files."""
from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from cti.storage import migrations
from cti.storage.db import make_engine
from tests.storage.conftest import db_url, database, engine, sqlite_template  # noqa: F401

PG_DATABASE = "ctid_customers_test"


@pytest.fixture(scope="session")
def pg_test_url(postgres_cluster):
    """The storage tests' migrated PostgreSQL database, under a name of its own on the
    session's cluster (both sets of tests run in one session)."""
    admin = sa.create_engine(postgres_cluster.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f"CREATE DATABASE {PG_DATABASE}"))
    admin.dispose()
    url = postgres_cluster.url_for(PG_DATABASE)
    migrated = make_engine(url)
    migrations.upgrade(migrated)
    migrated.dispose()
    return url

HEADER = "HDR|{type}|BOSS-GD|{seq}|20261203100000|{rows}|{encoding}\n"


def write_batch(folder: Path, record_type: str, seq: int, rows: list[str], *,
                encoding: str = "UTF-8", codec: str | None = None, announce: int | None = None,
                header: str | None = None, region: str = "GD", crlf: bool = False) -> Path:
    """A batch file named by the rule, its header announcing ``announce`` rows (default: all)."""
    name = f"{record_type}_{region}_20261203_{seq:06d}.txt"
    head = header if header is not None else HEADER.format(
        type=record_type, seq=seq, rows=len(rows) if announce is None else announce,
        encoding=encoding)
    end = "\r\n" if crlf else "\n"
    body = head.rstrip("\n") + end + "".join(r + end for r in rows)
    path = folder / name
    path.write_bytes(body.encode(codec or ("gbk" if encoding == "GBK" else "utf-8")))
    return path
