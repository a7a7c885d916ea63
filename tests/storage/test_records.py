"""Plain records survive the spill file's JSON; passwords are hashed; numbers are masked."""
import datetime as dt
import json

import pytest

from cti.storage.passwords import hash_password, verify_password
from cti.storage.queue_log import build
from cti.storage.records import (
    AuditRecord, ContactRecord, RecordDecodeError, RecordingRecord, decode, encode,
)

T = dt.datetime(2026, 11, 22, 10, 0, 0, 123456, tzinfo=dt.timezone.utc)
PARIS = dt.timezone(dt.timedelta(hours=1))

RECORDS = [
    ContactRecord("call-1", "1795.1", "1795.1", T, caller_number="+33612345678",
                  customer_id=7, tier="gold", ivr_path="1>3", answered_at=T.astimezone(PARIS),
                  wait_seconds=4.5, abandoned=False, agent_number="6001"),
    RecordingRecord("acd-1795.1", "/var/spool/asterisk/monitor/acd-1795.1.wav", "call-1", T,
                    duration_seconds=31.2),
    build("CONNECT", time=T, callid="1795.1", queuename="support", agent="6001",
          holdtime=4, bridged_uniqueid="1795.3", ringtime=1),
    AuditRecord("supervisor1", "recording.play", "recording", "acd-1795.1", T, detail="QA"),
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.kind)
def test_records_round_trip_through_json(record):
    assert decode(json.loads(json.dumps(encode(record)))) == record


@pytest.mark.parametrize("data", [
    None, [], "text", {"kind": "nope"}, {"kind": "contact"},
    {"kind": "recording", "recording_id": "r", "file_path": "f", "call_id": "c",
     "started_at": "not a date"},
])
def test_decode_refuses_anything_else(data):
    with pytest.raises(RecordDecodeError):
        decode(data)


def test_password_hash_is_salted_and_verifies():
    first, second = hash_password("s3cret"), hash_password("s3cret")
    assert first != second and "s3cret" not in first
    assert verify_password("s3cret", first) and verify_password("s3cret", second)
    assert not verify_password("wrong", first)
    assert not verify_password("s3cret", "garbage")
    assert not verify_password("s3cret", "pbkdf2$1$2$3$4$5")
    with pytest.raises(ValueError):
        hash_password("")
