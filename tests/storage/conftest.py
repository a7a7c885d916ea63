"""Databases for the storage tests: a migrated SQLite file per test, and a migrated PostgreSQL
database on the session's private cluster, emptied before each test."""
from __future__ import annotations

import shutil

import pytest
import sqlalchemy as sa

from cti.storage import migrations
from cti.storage.db import make_engine
from cti.storage.models import Base
from cti.storage.unit_of_work import Database

PG_DATABASE = "ctid_test"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrations.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_test_url(postgres_cluster):
    admin = sa.create_engine(postgres_cluster.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f"CREATE DATABASE {PG_DATABASE}"))
    admin.dispose()
    url = postgres_cluster.url_for(PG_DATABASE)
    engine = make_engine(url)
    migrations.upgrade(engine)
    engine.dispose()
    return url


def _empty_pg(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path, sqlite_template):
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "ctid.sqlite3"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_test_url")
    _empty_pg(url)
    return url


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def database(engine):
    from twisted.internet import reactor

    database = Database(engine=engine, reactor=reactor, max_threads=2)
    database.startService()
    yield database
    database.stopService()
