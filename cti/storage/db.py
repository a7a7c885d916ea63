"""Database plumbing: declarative base with a naming convention, engines, sessions, errors.

Everything here is blocking. The reactor never calls it directly: units of work run on a
dedicated thread pool (`cti.storage.unit_of_work`) and hand back plain data.

SQLite (a file) is the embedded default, PostgreSQL (psycopg2) the production database. Both
get the same schema from the same alembic migrations in `db/`.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every ctid table; constraint names follow `NAMING_CONVENTION`."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class StorageError(Exception):
    """Base of every error the storage layer raises to its callers."""

    code = "storage-error"


class DatabaseUnavailable(StorageError):
    """The database could not be reached or refused the work (locked, down, read-only)."""

    code = "database-unavailable"


class NotFound(StorageError):
    """The row a unit of work needs does not exist."""

    code = "not-found"


class Conflict(StorageError):
    """The write breaks a uniqueness or integrity rule (for example a duplicate number)."""

    code = "conflict"


class ORMObjectLeak(StorageError):
    """A unit of work tried to return an ORM instance out of its thread."""

    code = "orm-object-leak"


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on every database.

    PostgreSQL keeps `timestamptz`; SQLite keeps no zone at all, so values are normalised to
    UTC on the way in and marked UTC on the way out. Naive datetimes are refused: a wall-clock
    time without a zone is a bug waiting for a daylight-saving change.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give it a timezone")
        return value.astimezone(dt.timezone.utc)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str, *, sqlite_timeout: float = 5.0, **kwargs: Any) -> Engine:
    """An engine for `url` that survives the database going away and coming back.

    `pool_pre_ping` replaces connections a restarted server has dropped. SQLite gets foreign
    keys, WAL (readers do not block the writer) and a busy timeout of `sqlite_timeout` seconds.
    """
    if url.startswith("sqlite"):
        connect_args = {"timeout": sqlite_timeout, "check_same_thread": False}
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit (they never leave their thread anyway)."""
    return sessionmaker(bind=engine, expire_on_commit=False)
