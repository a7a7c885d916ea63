"""Repositories on a migrated database, each test run on SQLite and on PostgreSQL."""
import dataclasses
import datetime as dt

import pytest
import pytest_twisted
import sqlalchemy as sa

from cti.storage.db import Conflict, NotFound, ORMObjectLeak, make_session_factory
from cti.storage.models import Agent, QueueLogRow
from cti.storage.queue_log import build
from cti.storage.records import AuditRecord, ContactRecord, RecordingRecord
from cti.customers import store as customers
from cti.storage.repositories import agents, history
from cti.storage.unit_of_work import run_in_session

T = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def run(engine):
    sessions = make_session_factory(engine)
    return lambda work, *args, **kwargs: run_in_session(sessions, work, *args, **kwargs)


def contact(call_id="call-1", **changes):
    base = ContactRecord(call_id, "1795.1", "1795.1", T, caller_number="+33612345678",
                         customer_id=1, tier="gold", skill="billing", ivr_path="1>2")
    return dataclasses.replace(base, **changes)


def test_customer_is_found_by_any_of_its_numbers(run):
    added = run(customers.add_customer, "Ada", ["+33612345678", "+33140000000"], tier="gold",
                language="fr")
    found = run(customers.find_by_number, "+33140000000")
    assert found == added and found.tier == "gold" and found.language == "fr"
    assert run(customers.find_by_number, "+10000000000") is None
    assert run(customers.set_tier, added.id, "vip").tier == "vip"
    assert run(customers.get_customer, added.id).tier == "vip"
    with pytest.raises(Conflict):
        run(customers.add_customer, "Bob", ["+33612345678"])
    with pytest.raises(NotFound):
        run(customers.get_customer, 999)


def test_a_caller_is_identified_in_one_statement(run, engine):
    """Every inbound call looks its caller up: one round trip, all the numbers in order."""
    added = run(customers.add_customer, "Ada", ["+33612345678", "+33140000000", "+861380000"],
                tier="gold", language="fr")
    run(customers.add_customer, "Bob", ["+33100000000"])
    statements = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    found = run(customers.find_by_number, "+861380000")
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert found == added and found.numbers == ("+33612345678", "+33140000000", "+861380000")
    assert len(selects) == 1


def test_agents_skills_and_password_checks(run):
    run(agents.add_agent, "6001", "Alice", "PJSIP/6001", "pw1", group="vip", team="red")
    run(agents.add_agent, "6002", "Bert", "PJSIP/6002", "pw2")
    run(agents.set_skill, "6001", "billing", 7)
    run(agents.set_skill, "6002", "billing", 9)
    info = run(agents.set_skill, "6001", "billing", 8)  # changes, does not duplicate
    run(agents.set_skill, "6001", "french", 3)
    assert info.skills == {"billing": 8}
    assert run(agents.get_agent, "6001").skills == {"billing": 8, "french": 3}
    assert run(agents.agents_with_skill, "billing") == [("6002", 9), ("6001", 8)]
    assert [a.number for a in run(agents.list_agents)] == ["6001", "6002"]
    assert run(agents.get_agent, "6001").group == "vip"
    assert run(agents.check_agent_password, "6001", "pw1")
    assert not run(agents.check_agent_password, "6001", "pw2")
    assert not run(agents.check_agent_password, "9999", "pw1")
    assert run(agents.remove_skill, "6001", "french").skills == {"billing": 8}
    with pytest.raises(ValueError):
        run(agents.set_skill, "6001", "billing", 11)
    with pytest.raises(ValueError):
        run(agents.add_agent, "6003", "C", "PJSIP/6003", "pw", group="gold")
    with pytest.raises(Conflict):
        run(agents.add_agent, "6001", "Again", "PJSIP/6001", "pw")
    with pytest.raises(NotFound):
        run(agents.get_agent, "9999")


def test_the_database_enforces_proficiency_and_group(run):
    run(agents.add_agent, "6001", "Alice", "PJSIP/6001", "pw1")

    def bad_group(session):
        session.execute(sa.update(Agent).values(agent_group="gold"))

    with pytest.raises(Conflict):
        run(bad_group)

    def bad_proficiency(session):
        session.execute(sa.text("INSERT INTO skills (id, name) VALUES (50, 'x')"))
        session.execute(sa.text(
            "INSERT INTO agent_skills (agent_id, skill_id, proficiency) "
            "SELECT id, 50, 11 FROM agents"))

    with pytest.raises(Conflict):
        run(bad_proficiency)


def test_passwords_are_never_stored_plain(run, engine):
    run(agents.add_agent, "6001", "Alice", "PJSIP/6001", "hunter22")
    run(agents.add_user, "alice", "hunter22", "agent", agent_number="6001")
    with engine.connect() as connection:
        stored = connection.execute(sa.text(
            "SELECT password_hash FROM agents UNION ALL SELECT password_hash FROM users"
        )).scalars().all()
    assert len(stored) == 2 and all("hunter22" not in s and s.startswith("scrypt$") for s in stored)


def test_users_authenticate_with_their_role(run):
    run(agents.add_agent, "6001", "Alice", "PJSIP/6001", "pw")
    run(agents.add_user, "alice", "pw-a", "agent", agent_number="6001")
    run(agents.add_user, "sup", "pw-s", "supervisor")
    assert run(agents.authenticate, "alice", "pw-a").agent_number == "6001"
    assert run(agents.authenticate, "sup", "pw-s").role == "supervisor"
    assert run(agents.authenticate, "sup", "pw-a") is None
    run(agents.add_user, "lead", "pw-l", "supervisor", teams=("red", "blue", "red"))
    assert run(agents.authenticate, "lead", "pw-l").teams == ("blue", "red")
    assert run(agents.authenticate, "alice", "pw-a").teams == ()
    with pytest.raises(ValueError):
        run(agents.add_user, "a2", "pw", "agent", teams=("red",))
    assert run(agents.authenticate, "nobody", "pw-a") is None
    with pytest.raises(ValueError):
        run(agents.add_user, "x", "pw", "root")


def test_contact_snapshots_upsert_by_call_id(run):
    history_batch = [
        contact(),
        contact(offered_at=T + dt.timedelta(seconds=5)),
        contact("call-2", arrived_at=T + dt.timedelta(minutes=1)),
    ]
    run(history.write_records, history_batch)
    final = contact(offered_at=T + dt.timedelta(seconds=5),
                    answered_at=T + dt.timedelta(seconds=9), ended_at=T + dt.timedelta(minutes=3),
                    wait_seconds=9.0, talk_seconds=171.0, agent_number="6001",
                    disposition="resolved", recording_id="acd-1795.1")
    run(history.write_records, [final])
    run(history.write_records, [final])  # a replay changes nothing
    assert run(history.get_contact, "call-1") == final
    listed = run(history.list_contacts, T, T + dt.timedelta(hours=1))
    assert [c.call_id for c in listed] == ["call-1", "call-2"]
    assert [c.call_id for c in run(history.list_contacts, T, T + dt.timedelta(hours=1),
                                   agent_number="6001")] == ["call-1"]
    assert run(history.get_contact, "missing") is None


def test_abandoned_contact_keeps_its_wait(run):
    run(history.write_records, [contact(abandoned=True, wait_seconds=42.5,
                                        ended_at=T + dt.timedelta(seconds=42.5))])
    stored = run(history.get_contact, "call-1")
    assert stored.abandoned and stored.wait_seconds == 42.5
    assert stored.ended_at == T + dt.timedelta(seconds=42.5)


def test_recordings_are_found_by_call_agent_and_customer(run):
    first = RecordingRecord("acd-1", "/rec/acd-1.wav", "call-1", T, agent_number="6001",
                            customer_id=1)
    second = RecordingRecord("acd-2", "/rec/acd-2.wav", "call-2", T + dt.timedelta(minutes=5),
                             agent_number="6002", customer_id=1)
    run(history.write_records, [first, second])
    run(history.write_records, [dataclasses.replace(first, duration_seconds=30.5)])
    assert run(history.recordings_for, call_id="call-1")[0].duration_seconds == 30.5
    assert [r.recording_id for r in run(history.recordings_for, customer_id=1)] == ["acd-1", "acd-2"]
    assert [r.recording_id for r in run(history.recordings_for, agent_number="6002")] == ["acd-2"]


def test_queue_log_lines_land_once_with_realtime_columns(run, engine):
    lines = [
        build("ENTERQUEUE", time=T, callid="1795.1", queuename="support", url="",
              callerid="+33612345678", position=1),
        build("CONNECT", time=T, callid="1795.1", queuename="support", agent="6001",
              holdtime=4, bridged_uniqueid="1795.3", ringtime=1),
        build("COMPLETECALLER", time=T, callid="1795.1", queuename="support", agent="6001",
              holdtime=4, talktime=170, origposition=1),
    ]
    run(history.write_records, lines)
    run(history.write_records, lines[1:])  # replayed: ignored by line id
    assert run(history.queue_log_for, callid="1795.1") == lines
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(QueueLogRow.__table__).where(QueueLogRow.event == "CONNECT")
        ).mappings().one()
    assert (row["time"], row["data1"], row["data2"], row["data3"], row["data4"]) == (
        T.replace(tzinfo=None), "4", "1795.3", "1", ""
    )


def test_audit_trail_of_a_recording(run):
    entries = [
        AuditRecord("sup", "recording.play", "recording", "acd-1", T),
        AuditRecord("qa", "recording.download", "recording", "acd-1", T + dt.timedelta(seconds=1)),
        AuditRecord("sup", "customer.view", "customer", "1", T + dt.timedelta(seconds=2)),
    ]
    run(history.write_records, entries + entries[:1])
    trail = run(history.audit_trail, subject_type="recording", subject_id="acd-1")
    assert trail == entries[:2]
    assert run(history.audit_trail, actor="sup") == [entries[0], entries[2]]


def test_mixed_batch_keeps_each_kind(run):
    batch = [contact(), build("QUEUESTART", time=T), contact(disposition="x"),
             AuditRecord("a", "b", "c", "d", T)]
    assert run(history.write_records, batch) == 4
    assert run(history.get_contact, "call-1").disposition == "x"
    with pytest.raises(TypeError):
        run(history.write_records, [object()])


def test_a_batch_of_several_calls_costs_one_statement_per_kind(run, engine):
    """The outbox batches the records of several calls; each kind is one statement however
    the kinds interleave, and the latest snapshot of each contact still wins."""
    batch = []
    for n in range(5):
        batch += [contact(f"call-{n}"), build("QUEUESTART", time=T, callid=f"call-{n}"),
                  contact(f"call-{n}", disposition="answered"),
                  AuditRecord(f"e{n}", "sup", "listen", "recording", T)]
    statements = []
    sa.event.listen(engine, "before_cursor_execute",
                    lambda *args: statements.append(args[2]))
    assert run(history.write_records, batch) == 20
    written = [s for s in statements if s.lstrip().upper().startswith("INSERT")]
    assert len(written) == 3
    assert {run(history.get_contact, f"call-{n}").disposition for n in range(5)} == {"answered"}
    assert len(run(history.queue_log_for, queuename=None)) == 5


def test_a_unit_of_work_rolls_back_on_error_and_refuses_orm_results(run):
    def add_then_fail(session):
        customers.add_customer(session, "Ada", ["+331"])
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        run(add_then_fail)
    assert run(customers.find_by_number, "+331") is None

    def leak(session):
        customers.add_customer(session, "Ada", ["+332"])
        return {"agents": [session.scalars(sa.select(QueueLogRow)).first(),
                           session.get(Agent, 1)], "ok": 1}

    run(agents.add_agent, "6001", "A", "PJSIP/6001", "pw")
    with pytest.raises(ORMObjectLeak):
        run(leak)


@pytest_twisted.ensureDeferred
async def test_database_runs_units_of_work_off_the_reactor_thread(database):
    import threading

    def where(session, value):
        session.execute(sa.text("SELECT 1"))
        return threading.current_thread().name, value

    name, value = await database.run(where, 42)
    assert name != threading.current_thread().name and value == 42
    added = await database.run(customers.add_customer, "Ada", ["+333"])
    assert (await database.run(customers.find_by_number, "+333")) == added
    with pytest.raises(NotFound):
        await database.run(customers.get_customer, 12345)
