"""Insert-or-update by natural key, on SQLite and PostgreSQL alike (`INSERT .. ON CONFLICT`)."""
from __future__ import annotations

import functools
from typing import Any, Sequence

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def upsert(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    key: Sequence[str],
    *,
    update: bool = True,
) -> None:
    """Write `rows`; a row whose `key` exists replaces it (`update`) or is skipped."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    columns = tuple(name for name in rows[0] if name not in key) if update else ()
    session.execute(_statement(dialect, table, columns, tuple(key), update), list(rows))


@functools.lru_cache(maxsize=64)
def _statement(dialect: str, table: Table, columns: tuple[str, ...], key: tuple[str, ...],
               update: bool) -> Any:
    """The statement for one shape of upsert, built once: building it (``excluded`` copies
    every column of the table) cost more CPU than executing it. Statements are immutable,
    so threads share them."""
    try:
        insert = _INSERTS[dialect]
    except KeyError:
        raise NotImplementedError(f"no upsert for the {dialect} dialect") from None
    statement = insert(table)
    if update:
        changed = {name: statement.excluded[name] for name in columns}
        return statement.on_conflict_do_update(index_elements=list(key), set_=changed)
    return statement.on_conflict_do_nothing(index_elements=list(key))
