"""A migrated database of each kind for the package's store tests (its own PostgreSQL
database on the session's private cluster, apart from the storage tests' one)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from cti.storage import migrations
from cti.storage.db import make_engine

PG_DATABASE = "agentivr_test"


@pytest.fixture(scope="session")
def agentivr_pg_url(postgres_cluster):
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
def engine(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ctid.sqlite3'}"
        engine = make_engine(url)
        migrations.upgrade(engine)
    else:
        engine = make_engine(request.getfixturevalue("agentivr_pg_url"))
        with engine.begin() as connection:
            connection.execute(sa.text("TRUNCATE agents, contacts RESTART IDENTITY CASCADE"))
    yield engine
    engine.dispose()
