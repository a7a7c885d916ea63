"""`alembic upgrade head` builds the schema the models describe, on SQLite and PostgreSQL."""
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from cti.storage import migrations
from cti.storage.db import make_engine
from cti.schema import metadata

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_engine(request, tmp_path):
    """A database with no tables at all."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
        yield engine
        engine.dispose()
        return
    cluster = request.getfixturevalue("postgres_cluster")
    name = f"fresh_{tmp_path.name.lower().replace('-', '_')[:40]}"
    admin = sa.create_engine(cluster.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f"CREATE DATABASE {name}"))
    engine = make_engine(cluster.url_for(name))
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.execute(sa.text(f"DROP DATABASE {name}"))
    admin.dispose()


def test_upgrade_head_then_models_and_migrations_agree(empty_engine):
    migrations.upgrade(empty_engine)
    assert migrations.current_revision(empty_engine) == "0006"
    tables = set(sa.inspect(empty_engine).get_table_names())
    assert {t.name for t in metadata.sorted_tables} <= tables
    with empty_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_downgrade_to_base_and_up_again(empty_engine):
    migrations.upgrade(empty_engine)
    migrations.downgrade(empty_engine, "base")
    assert set(sa.inspect(empty_engine).get_table_names()) <= {"alembic_version"}
    migrations.upgrade(empty_engine)
    assert migrations.current_revision(empty_engine) == "0006"


def test_constraint_names_follow_the_naming_convention(empty_engine):
    migrations.upgrade(empty_engine)
    inspector = sa.inspect(empty_engine)
    uniques = {u["name"] for u in inspector.get_unique_constraints("contacts")}
    assert "uq_contacts_call_id" in uniques
    foreign = {f["name"] for f in inspector.get_foreign_keys("agent_skills")}
    assert foreign == {"fk_agent_skills_agent_id_agents", "fk_agent_skills_skill_id_skills"}


def test_alembic_command_line_upgrades_a_sqlite_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    done = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(REPO / "db" / "alembic.ini"),
         "-x", f"url={url}", "upgrade", "head"],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    engine = make_engine(url)
    assert migrations.current_revision(engine) == "0006"
    engine.dispose()
