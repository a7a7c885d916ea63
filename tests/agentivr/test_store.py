"""PINs and survey scores on SQLite and PostgreSQL."""
import datetime as dt

import pytest
from sqlalchemy.orm import Session

from cti.agentivr import store
from cti.storage.db import NotFound
from cti.storage.models import Agent
from cti.storage.records import ContactRecord
from cti.storage.repositories.agents import add_agent
from cti.storage.repositories.history import save_contacts



def test_a_pin_is_stored_hashed_and_checked(engine):  # noqa: F811
    with Session(engine) as session, session.begin():
        add_agent(session, "1001", "A", "PJSIP/6001", "pw")
        add_agent(session, "1002", "B", "PJSIP/6002", "pw")
        store.set_pin(session, "1001", "2468")
    with Session(engine) as session:
        stored = session.query(Agent.pin_hash).filter(Agent.number == "1001").scalar()
        assert stored.startswith("scrypt$") and "2468" not in stored
        assert store.check_pin(session, "1001", "2468")
        assert not store.check_pin(session, "1001", "2469")
        assert not store.check_pin(session, "1002", "2468")      # no PIN set
        assert not store.check_pin(session, "9999", "2468")      # no such agent
        with pytest.raises(NotFound):
            store.set_pin(session, "9999", "2468")


def test_an_inactive_agent_cannot_use_their_pin(engine):  # noqa: F811
    with Session(engine) as session, session.begin():
        add_agent(session, "1001", "A", "PJSIP/6001", "pw")
        store.set_pin(session, "1001", "2468")
        session.query(Agent).filter(Agent.number == "1001").update({"active": False})
    with Session(engine) as session:
        assert not store.check_pin(session, "1001", "2468")


def test_the_score_goes_on_the_contact_and_a_later_snapshot_keeps_it(engine):  # noqa: F811
    now = dt.datetime(2026, 12, 3, 8, 0, tzinfo=dt.timezone.utc)
    contact = ContactRecord(call_id="cti-1", linkedid="1", uniqueid="1", arrived_at=now,
                            disposition="answered")
    with Session(engine) as session, session.begin():
        assert store.save_survey_score(session, "cti-1", 4) is False   # not written yet
        save_contacts(session, [contact])
        assert store.save_survey_score(session, "cti-1", 4) is True
        save_contacts(session, [contact])                              # written again
    with Session(engine) as session:
        assert store.survey_score_of(session, "cti-1") == 4
