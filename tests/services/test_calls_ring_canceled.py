"""A caller who hangs up while the agent's phone rings: the queue_log and the records.

app_queue (``wait_for_answer``) writes ``RINGCANCELED|<ms rung>`` for each member it was
ringing when the caller hung up, then ``ABANDON``. No recording row: the call was never
answered (and the dialplan starts MixMonitor only on answer, so there is no file either).
"""
from __future__ import annotations

import datetime as dt

from cti.protocol.ami_message import Message
from cti.services.calls import Call, CallTracker
from cti.services.records import CallRecords
from cti.storage.queue_log import QueueLogWriter
from cti.storage.records import ContactRecord, RecordingRecord

CALLER = "PJSIP/trunk-00000001"
AGENT_LEG = "PJSIP/6001-00000002"
T0 = 1_796_000_000.0


def ev(name: str, **headers: str) -> Message:
    return Message.of({"Event": name, "Channel": CALLER, **headers})


def hotline(tmp_path):
    now = [T0]
    tracker = CallTracker(lambda: now[0])
    records: list = []
    path = tmp_path / "queue_log"
    qlog = QueueLogWriter(path, None, now=lambda: dt.datetime.fromtimestamp(now[0], dt.timezone.utc))
    tracker.subscribe(CallRecords(records.append, qlog, lambda call_id: 1, lambda: now[0]))
    tracker.register(Call("cti-1796000000.7", CALLER, "1796000000.7", "1796000000.7", "13800000001",
                          skill="billing"))
    tracker.handle(ev("UserEvent", UserEvent="CTIWait"))
    return tracker, now, records, path


def test_caller_hanging_up_while_it_rings_writes_ringcanceled_then_abandon(tmp_path) -> None:
    tracker, now, records, path = hotline(tmp_path)
    now[0] += 2.0
    tracker.offered("cti-1796000000.7", "1001")
    tracker.handle(ev("DialBegin", DestChannel=AGENT_LEG))
    now[0] += 3.25
    tracker.handle(ev("HangupRequest", Cause="16"))
    tracker.handle(ev("DialEnd", DestChannel=AGENT_LEG, DialStatus="CANCEL"))
    tracker.handle(ev("Hangup", Cause="16"))
    lines = path.read_text().splitlines()
    assert lines[-2] == "1796000005|1796000000.7|billing|1001|RINGCANCELED|3250"
    assert lines[-1].split("|")[4] == "ABANDON"
    assert not [r for r in records if isinstance(r, RecordingRecord)]
    [contact] = [r for r in records if isinstance(r, ContactRecord)]
    assert contact.disposition == "abandoned" and contact.recording_id is None


def test_no_ringcanceled_when_the_caller_hangs_up_before_the_ring_or_after_a_rona(tmp_path) -> None:
    tracker, now, records, path = hotline(tmp_path)
    tracker.offered("cti-1796000000.7", "1001")
    tracker.handle(ev("DialBegin", DestChannel=AGENT_LEG))
    now[0] += 15
    tracker.handle(ev("DialEnd", DestChannel=AGENT_LEG, DialStatus="NOANSWER"))     # RONA
    tracker.offered("cti-1796000000.7", "1002")                                     # not rung yet
    tracker.handle(ev("Hangup", Cause="16"))
    events = [line.split("|")[4] for line in path.read_text().splitlines()]
    assert events == ["ENTERQUEUE", "RINGNOANSWER", "ABANDON"]
