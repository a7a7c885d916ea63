"""What happened: contacts, recordings, queue_log rows and the audit log.

Writes are idempotent by natural key, so the outage buffer may replay a batch that did land
before the connection broke: a contact is upserted by call id (the later snapshot wins), a
recording by recording id; queue_log lines and audit entries are inserted once by their id.
`write_records` is the outage buffer's sink: it writes one batch of mixed records, one
statement per kind.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from cti.storage.models import AuditEntry, Contact, QueueLogRow, Recording
from cti.storage.queue_log import data_from_table, table_data
from cti.storage.records import (
    CAPABILITY_SAVERS,
    AuditRecord,
    ContactRecord,
    QueueLogLine,
    Record,
    RecordingRecord,
)
from cti.storage.repositories.upsert import upsert



def _fields(record: Any) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}


def _plain(row: Any, cls: type) -> Any:
    return cls(**{f.name: getattr(row, f.name) for f in dataclasses.fields(cls)})


def _queue_log_row(line: QueueLogLine) -> dict[str, Any]:
    time = line.time.astimezone(dt.timezone.utc).replace(tzinfo=None)
    row = {"time": time, "callid": line.callid, "queuename": line.queuename,
           "agent": line.agent, "event": line.event, "line_id": line.line_id}
    row.update(zip(("data1", "data2", "data3", "data4", "data5"), table_data(line)))
    return row


def save_contacts(session: Session, records: Iterable[ContactRecord]) -> None:
    latest = {r.call_id: _fields(r) for r in records}
    upsert(session, Contact.__table__, list(latest.values()), ["call_id"])


def save_recordings(session: Session, records: Iterable[RecordingRecord]) -> None:
    latest = {r.recording_id: _fields(r) for r in records}
    upsert(session, Recording.__table__, list(latest.values()), ["recording_id"])


def save_queue_log(session: Session, lines: Iterable[QueueLogLine]) -> None:
    with_id = [_queue_log_row(line) for line in lines if line.line_id]
    upsert(session, QueueLogRow.__table__, with_id, ["line_id"], update=False)
    without_id = [_queue_log_row(line) for line in lines if not line.line_id]
    if without_id:
        session.execute(QueueLogRow.__table__.insert(), without_id)


def save_audit(session: Session, entries: Iterable[AuditRecord]) -> None:
    rows = [_fields(e) for e in entries]
    upsert(session, AuditEntry.__table__, rows, ["entry_id"], update=False)


_SAVERS = {
    ContactRecord: save_contacts,
    RecordingRecord: save_recordings,
    QueueLogLine: save_queue_log,
    AuditRecord: save_audit,
}


def write_records(session: Session, records: list[Record]) -> int:
    """Write one batch: the records of each kind in one statement, in their order (a later
    snapshot of a contact always follows an earlier one). The tables refer to none of each
    other, so only the order within a kind matters. Returns the number of records."""
    by_kind: dict[type, list[Record]] = {}
    savers = {**_SAVERS, **CAPABILITY_SAVERS}
    for record in records:
        if type(record) not in savers:
            raise TypeError(f"no table for {type(record).__name__}")
        by_kind.setdefault(type(record), []).append(record)
    for kind, run in by_kind.items():
        savers[kind](session, run)
    return len(records)


def get_contact(session: Session, call_id: str) -> ContactRecord | None:
    row = session.scalar(select(Contact).where(Contact.call_id == call_id))
    return _plain(row, ContactRecord) if row else None


def list_contacts(session: Session, since: dt.datetime, until: dt.datetime, *,
                  agent_number: str | None = None) -> list[ContactRecord]:
    """Contacts that arrived in [since, until), oldest first."""
    query = select(Contact).where(Contact.arrived_at >= since, Contact.arrived_at < until)
    if agent_number is not None:
        query = query.where(Contact.agent_number == agent_number)
    return [_plain(row, ContactRecord) for row in session.scalars(query.order_by(Contact.arrived_at))]


def recordings_for(session: Session, *, call_id: str | None = None,
                   agent_number: str | None = None,
                   customer_id: int | None = None) -> list[RecordingRecord]:
    query = select(Recording).order_by(Recording.started_at)
    if call_id is not None:
        query = query.where(Recording.call_id == call_id)
    if agent_number is not None:
        query = query.where(Recording.agent_number == agent_number)
    if customer_id is not None:
        query = query.where(Recording.customer_id == customer_id)
    return [_plain(row, RecordingRecord) for row in session.scalars(query)]


def queue_log_for(session: Session, *, callid: str | None = None,
                  queuename: str | None = None) -> list[QueueLogLine]:
    """queue_log rows as lines, in the order they were written."""
    query = select(QueueLogRow).order_by(QueueLogRow.id)
    if callid is not None:
        query = query.where(QueueLogRow.callid == callid)
    if queuename is not None:
        query = query.where(QueueLogRow.queuename == queuename)
    return [
        QueueLogLine(
            row.time.replace(tzinfo=dt.timezone.utc), row.callid, row.queuename, row.agent,
            row.event,
            data_from_table(row.event, (row.data1, row.data2, row.data3, row.data4, row.data5)),
            row.line_id,
        )
        for row in session.scalars(query)
    ]


def audit_trail(session: Session, *, subject_type: str | None = None,
                subject_id: str | None = None, actor: str | None = None) -> list[AuditRecord]:
    query = select(AuditEntry).order_by(AuditEntry.at, AuditEntry.id)
    if subject_type is not None:
        query = query.where(AuditEntry.subject_type == subject_type)
    if subject_id is not None:
        query = query.where(AuditEntry.subject_id == subject_id)
    if actor is not None:
        query = query.where(AuditEntry.actor == actor)
    return [_plain(row, AuditRecord) for row in session.scalars(query)]
