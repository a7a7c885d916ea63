"""Databases for the IVR's store tests: a migrated SQLite file per test, and a migrated
PostgreSQL database of its own on the session's private cluster, emptied before each test."""
from __future__ import annotations

import shutil

import pytest
import sqlalchemy as sa

from cti.storage import migrations
from cti.storage.db import make_engine
from cti.storage.unit_of_work import Database
from tests.storage.conftest import _empty_pg, sqlite_template  # noqa: F401

PG_DATABASE = "ctid_ivr_test"


@pytest.fixture(scope="session")
def ivr_pg_url(postgres_cluster):
    admin = sa.create_engine(postgres_cluster.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f"DROP DATABASE IF EXISTS {PG_DATABASE}"))
        connection.execute(sa.text(f"CREATE DATABASE {PG_DATABASE}"))
    admin.dispose()
    url = postgres_cluster.url_for(PG_DATABASE)
    engine = make_engine(url)
    migrations.upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request, tmp_path, sqlite_template):  # noqa: F811
    """A migrated, empty database of each kind, with its unit-of-work pool running."""
    from twisted.internet import reactor

    if request.param == "sqlite":
        path = tmp_path / "ctid.sqlite3"
        shutil.copy(sqlite_template, path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("ivr_pg_url")
        _empty_pg(url)
    engine = make_engine(url)
    database = Database(engine=engine, reactor=reactor, max_threads=2)
    database.startService()
    yield database
    database.stopService()
    engine.dispose()
