"""Signed-in sessions (hashes of bearer tokens, never the tokens) and what a sign-in reads.

``login_record`` fetches a user and their password hash without checking the password: the
check is CPU work (scrypt) that runs on a pool of its own, so a flood of sign-ins never holds
the database threads the call path needs.
"""
from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cti.storage.models import Agent, User, UserSession
from cti.storage.repositories.agents import UserInfo, active_user, teams_of


@dataclasses.dataclass(frozen=True)
class LoginRecord:
    user: UserInfo
    password_hash: str


@dataclasses.dataclass(frozen=True)
class SessionInfo:
    token_hash: str
    expires_at: dt.datetime
    user: UserInfo


def login_record(session: Session, username: str) -> LoginRecord | None:
    """The active user called ``username`` with their password hash, or None."""
    found = active_user(session, username)
    return LoginRecord(*found) if found is not None else None


def save_session(session: Session, token_hash: str, username: str,
                 expires_at: dt.datetime, *, now: dt.datetime | None = None) -> bool:
    """Keep a session of ``username``; False if there is no such user (nothing stored)."""
    user_id = session.scalar(select(User.id).where(User.username == username))
    if user_id is None:
        return False
    session.add(UserSession(token_hash=token_hash, user_id=user_id,
                            created_at=now or dt.datetime.now(dt.timezone.utc),
                            expires_at=expires_at))
    return True


def delete_session(session: Session, token_hash: str) -> None:
    session.execute(delete(UserSession).where(UserSession.token_hash == token_hash))


def live_sessions(session: Session, now: dt.datetime) -> list[SessionInfo]:
    """Sessions not yet expired, of users still active; expired rows are deleted."""
    session.execute(delete(UserSession).where(UserSession.expires_at <= now))
    rows = session.execute(
        select(UserSession, User, Agent.number)
        .join(User, UserSession.user_id == User.id)
        .outerjoin(Agent, User.agent_id == Agent.id)
        .where(User.active.is_(True))
        .order_by(UserSession.id)
    ).all()
    return [SessionInfo(s.token_hash, s.expires_at,
                        UserInfo(u.id, u.username, u.role, number, u.active,
                                 teams_of(session, u.id)))
            for s, u, number in rows]
