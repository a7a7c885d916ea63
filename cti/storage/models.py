"""The tables ctid keeps: reference data (agents, skills, users) and history
(contacts, recordings, queue_log, audit_log).

History tables hold plain values (numbers, names, ids) rather than foreign keys to the
reference tables: they are written through the outage buffer long after the fact, must never be
refused because an agent or customer row was renamed or removed meanwhile, and must keep their
meaning when it is. Reference tables use real foreign keys.

`queue_log` has exactly the columns of Asterisk's realtime `queue_log` table, so reporting tools
written for Asterisk read it unchanged; `line_id` is ours (the idempotency key) and stays NULL
for rows Asterisk itself would insert.

Change a model, then add a migration in `db/versions/`: a test fails while they disagree.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cti.storage.db import Base, UTCDateTime

AGENT_GROUPS = ("vip", "general")
USER_ROLES = ("agent", "supervisor", "admin")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Agent(Base):
    __tablename__ = "agents"
    __table_args__ = (CheckConstraint(_one_of("agent_group", AGENT_GROUPS), name="agent_group"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    endpoint: Mapped[str] = mapped_column(String(80))
    agent_group: Mapped[str] = mapped_column(String(16), default="general")
    team: Mapped[str | None] = mapped_column(String(40))
    password_hash: Mapped[str] = mapped_column(String(255))
    # the PIN an agent keys on a phone (feature codes), hashed like a password; NULL: none set
    pin_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    skills: Mapped[list[AgentSkill]] = relationship(
        back_populates="agent", cascade="all, delete-orphan"
    )


class Skill(Base):
    __tablename__ = "skills"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)


class AgentSkill(Base):
    __tablename__ = "agent_skills"
    __table_args__ = (CheckConstraint("proficiency BETWEEN 1 AND 10", name="proficiency"),)

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    skill_id: Mapped[int] = mapped_column(
        ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    proficiency: Mapped[int] = mapped_column(Integer)

    agent: Mapped[Agent] = relationship(back_populates="skills")
    skill: Mapped[Skill] = relationship()


class User(Base):
    """Someone who logs in to the desktop, wallboard or API, with one role."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_one_of("role", USER_ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class SupervisedTeam(Base):
    """A team a supervisor watches (their own agent's team counts without a row)."""

    __tablename__ = "supervised_teams"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    team: Mapped[str] = mapped_column(String(40), primary_key=True)


class UserSession(Base):
    """A signed-in session: only a hash of its bearer token is kept, so this table cannot be
    used to sign in; rows past ``expires_at`` are dead and removed when sessions are loaded."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


class Contact(Base):
    """One row per call, keyed by the call id ctid gave it (`CTI_CALL_ID`)."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64), unique=True)
    linkedid: Mapped[str] = mapped_column(String(64), index=True)
    uniqueid: Mapped[str] = mapped_column(String(64))
    caller_number: Mapped[str | None] = mapped_column(String(32), index=True)
    customer_id: Mapped[int | None] = mapped_column(Integer, index=True)
    tier: Mapped[str | None] = mapped_column(String(16))
    skill: Mapped[str | None] = mapped_column(String(40))
    ivr_path: Mapped[str | None] = mapped_column(String(255))
    arrived_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    offered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    abandoned: Mapped[bool] = mapped_column(Boolean, server_default=false())
    wait_seconds: Mapped[float | None] = mapped_column(Float)
    talk_seconds: Mapped[float | None] = mapped_column(Float)
    agent_number: Mapped[str | None] = mapped_column(String(20), index=True)
    disposition: Mapped[str | None] = mapped_column(String(40))
    recording_id: Mapped[str | None] = mapped_column(String(128))
    # the caller's post-call satisfaction score (1-5), keyed after the agent hung up; NULL:
    # not surveyed (the caller hung up first, survey off for the tier/skill, no key pressed)
    survey_score: Mapped[int | None] = mapped_column(Integer)


class Recording(Base):
    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[str] = mapped_column(String(128), unique=True)
    file_path: Mapped[str] = mapped_column(String(255))
    call_id: Mapped[str] = mapped_column(String(64), index=True)
    agent_number: Mapped[str | None] = mapped_column(String(20), index=True)
    customer_id: Mapped[int | None] = mapped_column(Integer, index=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    duration_seconds: Mapped[float | None] = mapped_column(Float)


class QueueLogRow(Base):
    """Asterisk's realtime `queue_log` table; `time` is naive UTC, as Asterisk writes it with
    `queue_log_realtime_use_gmt = yes`."""

    __tablename__ = "queue_log"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    time: Mapped[dt.datetime] = mapped_column(DateTime(), index=True)
    callid: Mapped[str] = mapped_column(String(80), index=True)
    queuename: Mapped[str] = mapped_column(String(256))
    agent: Mapped[str] = mapped_column(String(80))
    event: Mapped[str] = mapped_column(String(32))
    data1: Mapped[str | None] = mapped_column(String(100))
    data2: Mapped[str | None] = mapped_column(String(100))
    data3: Mapped[str | None] = mapped_column(String(100))
    data4: Mapped[str | None] = mapped_column(String(100))
    data5: Mapped[str | None] = mapped_column(String(100))
    line_id: Mapped[str | None] = mapped_column(String(32), unique=True)


class AuditEntry(Base):
    """Who looked at, played or changed which recording or customer, and when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[str] = mapped_column(String(32), unique=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(80), index=True)
    action: Mapped[str] = mapped_column(String(40))
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[str] = mapped_column(String(128))
    detail: Mapped[str | None] = mapped_column(String(255))
