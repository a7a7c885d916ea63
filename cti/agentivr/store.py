"""What the agent side of the IVR keeps: agents' phone PINs (hashed) and survey scores.

Both live on core tables (``agents.pin_hash``, ``contacts.survey_score``, migration 0006):
a PIN belongs to the agent row, a score to the contact it rates. Units of work for
:meth:`cti.storage.unit_of_work.Database.run`; plain data in and out.
"""
from __future__ import annotations

import functools

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cti.storage.db import NotFound
from cti.storage.models import Agent, Contact
from cti.storage.passwords import hash_password, verify_password


def set_pin(session: Session, agent_number: str, pin: str) -> None:
    """Store ``pin`` hashed for the agent; :class:`NotFound` if there is no such agent."""
    hashed = hash_password(pin)
    done = session.execute(update(Agent).where(Agent.number == agent_number)
                           .values(pin_hash=hashed))
    if done.rowcount == 0:
        raise NotFound(f"no agent {agent_number}")


def check_pin(session: Session, agent_number: str, pin: str) -> bool:
    """True when the agent exists, is active, has a PIN and ``pin`` is it. The hash is
    checked for unknown agents too (against a fixed dummy), so timing tells nothing."""
    row = session.execute(select(Agent.pin_hash, Agent.active)
                          .where(Agent.number == agent_number)).first()
    stored = row.pin_hash if row is not None and row.active and row.pin_hash else None
    matched = verify_password(pin, stored or _dummy())
    return bool(stored) and matched


def save_survey_score(session: Session, call_id: str, score: int) -> bool:
    """Put the score on the call's contact; False when the contact is not written yet (it
    travels through the outage buffer: the caller asks again shortly)."""
    done = session.execute(update(Contact).where(Contact.call_id == call_id)
                           .values(survey_score=score))
    return done.rowcount > 0


def survey_score_of(session: Session, call_id: str) -> int | None:
    return session.scalar(select(Contact.survey_score).where(Contact.call_id == call_id))


@functools.cache
def _dummy() -> str:
    """A hash no PIN matches, made once: checked in place of a missing one."""
    return hash_password("not-a-pin-0000")
