"""The SQL of each record type, against the staging table ``s``: how rows are checked, what
their keys and references are, how they merge into their table; and how staged values are
written for each database. Used by ``cti.customers.importer``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cti.customers import batch
from cti.customers.batch import RecordType


@dataclass(frozen=True)
class Merge:
    """SQL of one record type, written against the staging table ``s``.

    ``refs`` joins what the rows refer to (their line, their bill); ``match`` finds the
    existing target row ``t``; ``values`` are the target's columns and how each is computed."""

    table: str
    refs: str
    match: str
    values: tuple[tuple[str, str], ...]
    key_columns: tuple[str, ...]      # not changed by an update
    ref_what: str = ""                # what an unknown reference is, for the report
    key_refs: str | None = None       # the joins ``match`` needs (default: all of ``refs``)
    children: str = ""                # for a delete: rows still depending on t


_LINE = "JOIN subscriber_lines l ON l.number = s.number"
MERGES = {
    "CUSTOMER": Merge(
        "customers", "", "t.customer_key = s.customer_key",
        (("customer_key", "s.customer_key"), ("name", "s.name"), ("kind", "s.kind"),
         ("id_number_masked", "s.id_number_masked"), ("id_number_hash", "s.id_number_hash"),
         ("address", "s.address"), ("contact_phone", "s.contact_phone"),
         ("created_at", ":now")),
        ("customer_key", "created_at"),
        children="EXISTS (SELECT 1 FROM subscriber_lines x WHERE x.customer_id = t.id)"),
    "LINE": Merge(
        "subscriber_lines", "JOIN customers c ON c.customer_key = s.customer_key",
        "t.number = s.number",
        (("number", "s.number"), ("customer_id", "c.id"), ("product", "s.product"),
         ("status", "s.status"), ("tier", "s.tier"), ("region", "s.region"),
         ("language", "s.language"), ("pin_hash", "COALESCE(s.pin_hash, t.pin_hash)"),
         ("balance_fen", "s.balance_fen"), ("balance_at", "s.balance_at")),
        ("number",), ref_what="customer_key", key_refs=""),
    "PAYMENT": Merge(
        "payments", _LINE, "t.payment_key = s.payment_key",
        (("payment_key", "s.payment_key"), ("line_id", "l.id"), ("amount_fen", "s.amount_fen"),
         ("paid_at", "s.paid_at"), ("channel", "s.channel")),
        ("payment_key",), ref_what="number", key_refs=""),
    "STATUS": Merge(
        "status_changes", _LINE, "t.change_key = s.change_key",
        (("change_key", "s.change_key"), ("line_id", "l.id"), ("old_status", "s.old_status"),
         ("new_status", "s.new_status"), ("reason", "s.reason"), ("source", "'billing'"),
         ("changed_at", "s.changed_at")),
        ("change_key", "source"), ref_what="number", key_refs=""),
    "BILL": Merge(
        "bills", _LINE, "t.line_id = l.id AND t.period = s.period",
        (("line_id", "l.id"), ("period", "s.period"), ("amount_fen", "s.amount_fen"),
         ("due_date", "s.due_date"), ("paid", "s.paid")),
        ("line_id", "period"), ref_what="number"),
    "BILL_ITEM": Merge(
        "bill_items", _LINE + " JOIN bills b ON b.line_id = l.id AND b.period = s.period",
        "t.bill_id = b.id AND t.item_no = s.item_no",
        (("bill_id", "b.id"), ("item_no", "s.item_no"), ("category", "s.category"),
         ("description", "s.description"), ("amount_fen", "s.amount_fen")),
        ("bill_id", "item_no"), ref_what="number+period (BILL)"),
    "CDR": Merge(
        "call_summaries", _LINE, "t.line_id = l.id AND t.period = s.period AND t.category = s.category",
        (("line_id", "l.id"), ("period", "s.period"), ("category", "s.category"),
         ("calls", "s.calls"), ("minutes", "s.minutes"), ("amount_fen", "s.amount_fen")),
        ("line_id", "period", "category"), ref_what="number"),
}

PG_TYPES = {"int": "BIGINT", "bool": "BOOLEAN", "date": "DATE", "ts": "TIMESTAMPTZ", "text": "TEXT"}
SQLITE_TYPES = {"int": "INTEGER", "bool": "INTEGER", "date": "TEXT", "ts": "TEXT", "text": "TEXT"}
_KINDS = {batch.count: "int", batch.fen: "int", batch.flag: "bool", batch.date: "date",
          batch.timestamp: "ts"}


def column_kinds(kind: RecordType) -> list[tuple[str, str]]:
    out = []
    for f in kind.fields:
        for column in f.staged:
            out.append((column, _KINDS.get(f.convert, "text")))
    return out


def raw_refusals(kind: RecordType) -> str:
    """SQL true for a raw row the row-by-row rules would refuse (or may: never fewer)."""
    parts = ["op IS NULL", "op NOT IN ('A', 'U', 'D')"]
    for f in kind.fields:
        checks = [f"({f.convert.sql_bad.replace('{c}', f.name)})"]
        if f.required:
            checks.append(f"{f.name} IS NULL")
        rule = " OR ".join(checks)
        parts.append(f"({rule})" if f.name in kind.key else f"(op <> 'D' AND ({rule}))")
        if f.name in kind.key and f.required:
            parts.append(f"{f.name} IS NULL")
    return " OR ".join(parts)


def raw_casts(kind: RecordType) -> list[str]:
    """The staged columns' values computed from the raw text columns (same as the converters)."""
    out = []
    for f in kind.fields:
        if f.name == "id_number":
            trimmed = "btrim(id_number, ' ')"
            out.append(f"CASE WHEN length({trimmed}) <= 7 THEN repeat('*', length({trimmed})) "
                       f"ELSE left({trimmed}, 3) || repeat('*', length({trimmed}) - 7) || "
                       f"right({trimmed}, 4) END")
            out.append(f"encode(sha256(convert_to({kind.key[0]}, 'UTF8') || '\\x00'::bytea || "
                       f"convert_to(upper({trimmed}), 'UTF8')), 'hex')")
            continue
        cast = f.convert.sql_cast.replace("{c}", f.name)
        out.append(cast if f.name in kind.key else f"CASE WHEN op = 'D' THEN NULL ELSE {cast} END")
    return out


def db_time(value: dt.datetime, pg: bool):
    return value if pg else sqlite_ts(value)


def sqlite_ts(value: dt.datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime stores (naive UTC), so the ORM reads it back."""
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


SQLITE_OUT = {"ts": sqlite_ts, "date": lambda d: d.isoformat(), "bool": int}


def pg_text(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, str):
        if "\\" in value or "\t" in value:
            return value.replace("\\", "\\\\").replace("\t", "\\t")
        return value
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)
