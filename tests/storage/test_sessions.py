"""Signed-in sessions on SQLite and PostgreSQL: token hashes only, expiry, inactive users."""
import datetime as dt

import pytest
import sqlalchemy as sa

from cti.services.auth import new_token, token_hash
from cti.storage.db import make_session_factory
from cti.storage.models import User
from cti.storage.repositories import agents
from cti.storage.repositories.sessions import (delete_session, live_sessions, login_record,
                                               save_session)
from cti.storage.unit_of_work import run_in_session

NOW = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.timezone.utc)
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def run(engine):
    sessions = make_session_factory(engine)
    return lambda work, *args, **kwargs: run_in_session(sessions, work, *args, **kwargs)


def test_sessions_keep_hashes_expire_and_follow_their_user(run):
    run(agents.add_agent, "1001", "Alice", "PJSIP/6001", "pw", team="blue")
    run(agents.add_user, "alice", "pw", "agent", agent_number="1001")
    run(agents.add_user, "sue", "pw", "supervisor", teams=("blue", "red"))
    live, old, gone = (token_hash(new_token()) for _ in range(3))
    assert run(save_session, live, "alice", NOW + HOUR, now=NOW)
    assert run(save_session, old, "alice", NOW - HOUR, now=NOW - 2 * HOUR)
    assert run(save_session, gone, "sue", NOW + HOUR, now=NOW)
    assert not run(save_session, token_hash("x"), "nobody", NOW + HOUR)

    kept = run(live_sessions, NOW)
    assert [(k.token_hash, k.user.username, k.user.agent_number) for k in kept] == [
        (live, "alice", "1001"), (gone, "sue", None)]
    assert kept[1].user.teams == ("blue", "red") and kept[0].expires_at == NOW + HOUR
    assert run(lambda s: s.scalar(sa.text("SELECT count(*) FROM user_sessions"))) == 2

    run(delete_session, gone)
    run(lambda s: s.execute(sa.update(User).where(User.username == "alice")
                            .values(active=False)))
    assert run(live_sessions, NOW) == []             # an inactive user's session is not kept


def test_login_record_is_the_hash_and_the_user_without_checking(run):
    run(agents.add_user, "root", "secret", "admin")
    record = run(login_record, "root")
    assert record.user.role == "admin" and record.password_hash.startswith("scrypt$")
    assert run(login_record, "nobody") is None
