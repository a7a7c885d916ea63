"""The IVR's tables and queries: every caller's journey through a flow, and voice messages.

``ivr_journeys``: one row per walk through a flow (a call may walk more than one: an agent can
send a caller into a flow), keyed by the call id, with the steps as JSON, where it ended and
how. ``ivr_voice_messages``: complaints left by voice, indexed to the caller, number, customer
and call, listed newest first for the complaints team. History tables: plain values, no
foreign keys (see :mod:`cti.storage.models`).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from sqlalchemy import JSON, Boolean, Float, Index, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from cti.storage.db import Base, UTCDateTime
from cti.storage.records import new_id, register_kind


class IVRJourney(Base):
    __tablename__ = "ivr_journeys"
    __table_args__ = (Index("ix_ivr_journeys_flow_started_at", "flow", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    journey_id: Mapped[str] = mapped_column(String(32), unique=True)   # written once
    call_id: Mapped[str] = mapped_column(String(64), index=True)
    flow: Mapped[str] = mapped_column(String(64))
    caller_number: Mapped[str | None] = mapped_column(String(32))
    customer_id: Mapped[str | None] = mapped_column(String(64))
    tier: Mapped[str | None] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))         # agent | done | hangup
    skill: Mapped[str | None] = mapped_column(String(40))
    last_node: Mapped[str | None] = mapped_column(String(64))
    self_served: Mapped[bool] = mapped_column(Boolean)
    contained: Mapped[bool] = mapped_column(Boolean)
    path: Mapped[str] = mapped_column(String(255))
    steps: Mapped[list[Any]] = mapped_column(JSON)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    ended_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class IVRVoiceMessage(Base):
    __tablename__ = "ivr_voice_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(32), unique=True)   # written once
    call_id: Mapped[str] = mapped_column(String(64), index=True)
    caller_number: Mapped[str] = mapped_column(String(32), index=True)
    customer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    customer_name: Mapped[str | None] = mapped_column(String(120))
    file: Mapped[str] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(8))
    duration_seconds: Mapped[float] = mapped_column(Float)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


# -- written through the daemon's outbox: spilled to disk first, so a database outage or a
# restart loses no journey and no voice message (a complaint); written once per id ----------
@dataclass(frozen=True)
class JourneyRecord:
    kind: ClassVar[str] = "ivr_journey"
    call_id: str
    flow: str
    caller_number: str | None
    customer_id: str | None
    tier: str | None
    outcome: str
    skill: str | None
    last_node: str | None
    self_served: bool
    contained: bool
    path: str
    steps: list
    started_at: dt.datetime
    ended_at: dt.datetime
    journey_id: str = field(default_factory=new_id)


@dataclass(frozen=True)
class VoiceMessageRecord:
    kind: ClassVar[str] = "ivr_voice_message"
    call_id: str
    caller_number: str
    customer_id: str | None
    customer_name: str | None
    file: str
    format: str
    duration_seconds: float
    recorded_at: dt.datetime
    message_id: str = field(default_factory=new_id)


def save_journeys(session: Session, records: list[JourneyRecord]) -> None:
    _insert_new(session, IVRJourney, IVRJourney.journey_id, "journey_id", records)


def save_voice_messages(session: Session, records: list[VoiceMessageRecord]) -> None:
    _insert_new(session, IVRVoiceMessage, IVRVoiceMessage.message_id, "message_id", records)


def _insert_new(session: Session, table, key_column, key: str, records) -> None:
    """Rows for the records whose id is not in the table yet (a replayed batch adds nothing)."""
    wanted = {getattr(r, key): r for r in records}
    present = set(session.scalars(select(key_column).where(key_column.in_(list(wanted)))))
    session.add_all(table(**asdict(r)) for k, r in wanted.items() if k not in present)


register_kind(JourneyRecord, save_journeys)
register_kind(VoiceMessageRecord, save_voice_messages)


def journeys_of(session: Session, call_id: str) -> list[JourneyRecord]:
    rows = session.scalars(select(IVRJourney).where(IVRJourney.call_id == call_id)
                           .order_by(IVRJourney.started_at, IVRJourney.id))
    return [_journey(r) for r in rows]


def journeys_since(session: Session, since: dt.datetime | None) -> list[dict[str, Any]]:
    """What containment needs of each journey started at or after ``since``."""
    query = select(IVRJourney.flow, IVRJourney.outcome, IVRJourney.self_served, IVRJourney.steps)
    if since is not None:
        query = query.where(IVRJourney.started_at >= since)
    return [{"flow": f, "outcome": o, "self_served": s, "steps": steps}
            for f, o, s, steps in session.execute(query)]


def voice_messages(session: Session, since: dt.datetime | None = None,
                   limit: int = 200) -> list[dict[str, Any]]:
    query = select(IVRVoiceMessage).order_by(IVRVoiceMessage.recorded_at.desc(),
                                             IVRVoiceMessage.id.desc()).limit(limit)
    if since is not None:
        query = query.where(IVRVoiceMessage.recorded_at >= since)
    return [{"id": m.id, "call_id": m.call_id, "caller_number": m.caller_number,
             "customer_id": m.customer_id, "customer_name": m.customer_name, "file": m.file,
             "format": m.format, "duration_seconds": m.duration_seconds,
             "recorded_at": m.recorded_at.isoformat()} for m in session.scalars(query)]


def _journey(r: IVRJourney) -> JourneyRecord:
    return JourneyRecord(r.call_id, r.flow, r.caller_number, r.customer_id, r.tier, r.outcome,
                         r.skill, r.last_node, r.self_served, r.contained, r.path,
                         list(r.steps), r.started_at, r.ended_at, r.journey_id)
