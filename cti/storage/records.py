"""Plain records the daemon hands to storage: contacts, recordings, queue_log lines, audit entries.

They are frozen dataclasses, safe to pass between threads, and each has a natural key that makes
writing it twice harmless: a contact by its call id, a recording by its recording id, a
queue_log line and an audit entry by an id given when they are created. `encode`/`decode` turn
them into JSON-able dicts and back for the outage buffer's spill file.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import typing
import uuid
from typing import Any, ClassVar


class RecordDecodeError(ValueError):
    """A spilled record could not be read back (unknown kind, missing or bad field)."""


def new_id() -> str:
    return uuid.uuid4().hex


@dataclasses.dataclass(frozen=True)
class ContactRecord:
    """Everything known about one call; later snapshots of the same call replace earlier ones."""

    kind: ClassVar[str] = "contact"

    call_id: str
    linkedid: str
    uniqueid: str
    arrived_at: dt.datetime
    caller_number: str | None = None
    customer_id: int | None = None
    tier: str | None = None
    skill: str | None = None
    ivr_path: str | None = None
    offered_at: dt.datetime | None = None
    answered_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    abandoned: bool = False
    wait_seconds: float | None = None
    talk_seconds: float | None = None
    agent_number: str | None = None
    disposition: str | None = None
    recording_id: str | None = None


@dataclasses.dataclass(frozen=True)
class RecordingRecord:
    kind: ClassVar[str] = "recording"

    recording_id: str
    file_path: str
    call_id: str
    started_at: dt.datetime
    agent_number: str | None = None
    customer_id: int | None = None
    duration_seconds: float | None = None


@dataclasses.dataclass(frozen=True)
class QueueLogLine:
    """One line of Asterisk's queue_log: see `cti.storage.queue_log` for events and format."""

    kind: ClassVar[str] = "queue_log"

    time: dt.datetime
    callid: str
    queuename: str
    agent: str
    event: str
    data: tuple[str, ...] = ()
    line_id: str | None = dataclasses.field(default_factory=new_id)


@dataclasses.dataclass(frozen=True)
class AuditRecord:
    """`actor` did `action` (`recording.play`, `customer.view`, ...) on a subject, at `at`."""

    kind: ClassVar[str] = "audit"

    actor: str
    action: str
    subject_type: str
    subject_id: str
    at: dt.datetime
    detail: str | None = None
    entry_id: str = dataclasses.field(default_factory=new_id)


Record = ContactRecord | RecordingRecord | QueueLogLine | AuditRecord
RECORD_TYPES: dict[str, type] = {
    cls.kind: cls for cls in (ContactRecord, RecordingRecord, QueueLogLine, AuditRecord)
}
#: savers of the kinds capabilities add: ``saver(session, records)``, idempotent (a batch may
#: be written again after a crash), in the order given
CAPABILITY_SAVERS: dict[type, Any] = {}


def register_kind(cls: type, saver) -> None:
    """Let the outbox carry a capability's record ``cls`` (a dataclass with a ``kind`` class
    attribute, datetimes, text, numbers, lists): spilled, replayed after a restart or a
    database outage, and written by ``saver``. Call it when the capability's module is
    imported, before the outbox reads its spill file."""
    if RECORD_TYPES.get(cls.kind, cls) is not cls:
        raise ValueError(f"record kind {cls.kind!r} is taken")
    RECORD_TYPES[cls.kind] = cls
    CAPABILITY_SAVERS[cls] = saver


def encode(record: Record) -> dict[str, Any]:
    """A JSON-able dict: `kind` plus the fields, datetimes as ISO 8601 with their offset."""
    out: dict[str, Any] = {"kind": record.kind}
    for field in dataclasses.fields(record):
        value = getattr(record, field.name)
        if isinstance(value, dt.datetime):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        out[field.name] = value
    return out


def decode(data: Any) -> Record:
    """The record `encode` produced; `RecordDecodeError` for anything else."""
    if not isinstance(data, dict) or data.get("kind") not in RECORD_TYPES:
        raise RecordDecodeError(f"not a spilled record: {str(data)[:80]!r}")
    cls = RECORD_TYPES[data["kind"]]
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    try:
        for field in dataclasses.fields(cls):
            if field.name not in data:
                continue
            value = data[field.name]
            hint = str(hints[field.name])
            if value is not None and "datetime" in hint:
                value = dt.datetime.fromisoformat(value)
            elif value is not None and "tuple" in hint:
                value = tuple(str(item) for item in value)
            values[field.name] = value
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise RecordDecodeError(f"bad {data['kind']} record: {exc}") from exc
