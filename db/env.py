"""Alembic environment for ctid: migrates the database the models in `cti.storage.models` describe.

The connection comes, in this order, from a connection passed by code
(`config.attributes["connection"]`, used by `cti.storage.migrations` and the tests), from
`-x url=...`, from the `CTID_DATABASE_URL` environment variable, or from `sqlalchemy.url` in
`alembic.ini`. SQLite gets batch mode, so later migrations can alter its tables.
"""
from __future__ import annotations

import logging.config
import os

from alembic import context
from sqlalchemy import Connection

from cti.storage.db import make_engine
from cti.schema import metadata as target_metadata_all

config = context.config
if config.config_file_name is not None and not config.attributes.get("connection"):
    logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = target_metadata_all


def database_url() -> str:
    return (
        context.get_x_argument(as_dictionary=True).get("url")
        or os.environ.get("CTID_DATABASE_URL")
        or config.get_main_option("sqlalchemy.url")
    )


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    engine = make_engine(database_url())
    try:
        with engine.connect() as connection:
            run_on(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
