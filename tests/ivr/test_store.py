"""Journeys and voice messages written and read back, and containment per flow and node, on
SQLite and PostgreSQL; the API routes' guards (agents refused, reload admin-only)."""
import datetime as dt

import pytest
import pytest_twisted
from twisted.internet import defer

from cti.domain.principal import Principal
from cti.ivr import http
from cti.ivr.actions import VoiceMessage
from cti.ivr.runner import FlowResult
from cti.ivr.service import IVRRecords
from cti.services.control import ControlError
from cti.storage.records import decode, encode
from cti.storage.repositories.history import write_records
from tests.ivr.fakes import STANDARD, VIP, call_for

NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.timezone.utc).timestamp()
DAY = 86400.0


class Outbox:
    """What the daemon's outbox does with a record, in one step: through the spill file's
    encoding (as after a restart or an outage) into the database by the registered saver."""

    def __init__(self, database):
        self.database, self.batches, self.pending = database, [], []

    def submit(self, record):
        batch = [decode(encode(record))]
        self.batches.append(batch)
        self.pending.append(self.database.run(write_records, batch))

    def drained(self):
        pending, self.pending = self.pending, []
        return defer.gatherResults(pending)


def records_on(database):
    outbox = Outbox(database)
    records = IVRRecords(database.run, lambda: NOW, outbox.submit)
    records.outbox = outbox
    return records


def journey(records, profile, outcome, steps, *, flow="standard", at=NOW, skill=None):
    result = FlowResult(outcome, skill, {}, steps, flow, steps[-1]["node"] if steps else None)
    records.journey(call_for(profile), profile, result, at, at + 30)
    return records.outbox.drained()


BILL = [{"node": "main", "kind": "menu", "key": "1"},
        {"node": "bill", "kind": "action", "action": "bill-inquiry", "outcome": "done"}]
TO_AGENT = [{"node": "main", "kind": "menu", "key": "0", "event": "agent-key"}]
HUNG_UP = [{"node": "main", "kind": "menu", "event": "timeout"},
           {"node": "main", "event": "hangup"}]


@pytest_twisted.inlineCallbacks
def test_containment_per_flow_and_node(database):
    records = records_on(database)
    yield journey(records, STANDARD, "done", BILL)
    yield journey(records, STANDARD, "hangup", BILL + [{"node": "after-bill", "event": "hangup"}])
    yield journey(records, STANDARD, "agent", TO_AGENT, skill="general")
    yield journey(records, STANDARD, "hangup", HUNG_UP)
    yield journey(records, VIP, "agent", [{"node": "shortcut", "kind": "menu", "key": "1"}],
                  flow="vip", skill="vip")
    yield journey(records, STANDARD, "done", BILL, at=NOW - 3 * DAY)      # before --since
    report = yield records.containment("2d")
    flows = {row["flow"]: row for row in report["flows"]}
    assert flows["standard"] == {"flow": "standard", "calls": 4, "contained": 2, "to_agent": 1,
                                 "hung_up": 1, "rate": 0.5}
    assert flows["vip"]["calls"] == 1 and flows["vip"]["contained"] == 0
    nodes = {(r["flow"], r["node"]): (r["calls"], r["contained"]) for r in report["nodes"]}
    assert nodes[("standard", "main")] == (4, 2) and nodes[("standard", "bill")] == (2, 2)
    assert nodes[("standard", "after-bill")] == (1, 1)
    everything = yield records.containment(None)
    assert {r["flow"]: r["calls"] for r in everything["flows"]} == {"standard": 5, "vip": 1}


@pytest_twisted.inlineCallbacks
def test_a_journey_keeps_its_steps_last_node_and_path(database):
    records = records_on(database)
    yield journey(records, STANDARD, "hangup", HUNG_UP)
    [row] = yield records.journeys("cti-1800000000.1")
    assert (row["flow"], row["outcome"], row["last_node"], row["contained"]) == \
        ("standard", "hangup", "main", False)
    assert row["path"] == "standard:t>hangup@main" and row["steps"] == HUNG_UP
    assert row["customer_id"] == "42" and row["tier"] == "standard"


@pytest_twisted.inlineCallbacks
def test_voice_messages_are_listed_newest_first_with_the_caller(database):
    records = records_on(database)
    for i, at in enumerate((NOW - 5 * DAY, NOW - 60, NOW - 3600)):
        records.voice_message(VoiceMessage(
            f"cti-{i}", f"1380000000{i}", str(i), f"客户{i}", f"/spool/cti-{i}", "wav", 12.5, at))
    yield records.outbox.drained()
    listed = yield records.voice_messages("1d")
    assert [m["call_id"] for m in listed] == ["cti-1", "cti-2"]
    assert listed[0]["caller_number"] == "13800000001" and listed[0]["customer_name"] == "客户1"
    assert listed[0]["duration_seconds"] == 12.5 and listed[0]["file"] == "/spool/cti-1"
    assert len((yield records.voice_messages(None, 2))) == 2


@pytest_twisted.inlineCallbacks
def test_a_batch_written_again_after_a_crash_adds_no_second_journey_or_message(database):
    records = records_on(database)
    yield journey(records, STANDARD, "done", BILL)
    records.voice_message(VoiceMessage("cti-7", "13800000007", None, None, "/s/cti-7", "wav",
                                       4.0, NOW))
    yield records.outbox.drained()
    for batch in records.outbox.batches:                 # replayed from the spill file
        yield database.run(write_records, [decode(encode(r)) for r in batch])
    assert len((yield records.journeys("cti-1800000000.1"))) == 1
    assert [m["call_id"] for m in (yield records.voice_messages(None))] == ["cti-7"]


class Book:
    def __init__(self):
        self.reloads = 0

    def reload(self):
        self.reloads += 1
        return {"flows": {}, "tiers": {}}

    def summary(self):
        return {"flows": {}, "tiers": {}}


def handlers(records=None, book=None):
    return {(r.method, r.pattern): r.handler for r in http.routes(book or Book(), records)}


def test_agents_are_refused_voice_messages_and_only_admins_reload():
    routes = handlers(records=object())
    agent = Principal("a", "agent", agent_id="1001")
    for key in (("GET", "ivr/voice-messages"), ("GET", "ivr/containment"),
                ("GET", "ivr/journeys/{call_id}"), ("POST", "ivr/reload")):
        with pytest.raises(ControlError) as refused:
            routes[key](agent, {"call_id": "x"}, {})
        assert refused.value.kind == "forbidden"
    with pytest.raises(ControlError) as refused:
        routes[("POST", "ivr/reload")](Principal("s", "supervisor"), {}, {})
    assert refused.value.kind == "forbidden"


@pytest_twisted.inlineCallbacks
def test_a_supervisor_lists_voice_messages_and_a_bad_since_is_a_clear_refusal(database):
    records = records_on(database)
    records.voice_message(VoiceMessage("cti-9", "13800000009", None, None, "/s/cti-9",
                                       "wav", 3.0, NOW))
    yield records.outbox.drained()
    routes = handlers(records=records)
    boss = Principal("s", "supervisor", teams=frozenset({"demo"}))
    listed = yield routes[("GET", "ivr/voice-messages")](boss, {}, {"since": "7d"})
    assert [m["call_id"] for m in listed] == ["cti-9"]
    with pytest.raises(ControlError) as refused:
        routes[("GET", "ivr/voice-messages")](boss, {}, {"since": "last tuesday"})
    assert refused.value.kind == "invalid" and "12h or 7d" in str(refused.value)
    with pytest.raises(ControlError):
        routes[("GET", "ivr/voice-messages")](boss, {}, {"limit": "0"})


def test_a_bad_reload_is_refused_with_the_file_and_line():
    from cti.ivr.model import FlowError, FlowErrors

    class BadBook(Book):
        def reload(self):
            raise FlowErrors([FlowError("/etc/ctid/flows/standard.yaml", 12, "node 'x' ...")])
    routes = handlers(book=BadBook())
    with pytest.raises(ControlError) as refused:
        routes[("POST", "ivr/reload")](Principal("root", "admin"), {}, {})
    assert refused.value.kind == "invalid"
    assert "/etc/ctid/flows/standard.yaml:12:" in str(refused.value)
