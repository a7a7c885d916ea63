"""queue_log lines written from call changes: as app_queue writes them, or not at all."""
from twisted.internet.task import Clock

from cti.protocol.ami_message import Message
from cti.services.calls import Call, CallTracker
from cti.services.records import CallRecords
from cti.storage.queue_log import QueueLogWriter, parse_line


def setup(tmp_path):
    clock = Clock()
    clock.advance(1000)
    tracker = CallTracker(clock.seconds)
    qlog = QueueLogWriter(tmp_path / "queue_log", None)
    tracker.subscribe(CallRecords(lambda record: None, qlog, lambda call_id: 1, clock.seconds))
    call = tracker.register(Call("c1", "PJSIP/trunk-1", "u1", "u1", "138", arrival=1000.0))
    tracker.enqueue("c1")
    return clock, tracker, qlog, call


def lines(tmp_path, qlog):
    qlog.close()
    return [(l.event, l.agent) for l in map(parse_line, (tmp_path / "queue_log").read_text().splitlines())]


def test_an_offer_withdrawn_before_the_phone_rang_is_no_ringnoanswer(tmp_path):
    clock, tracker, qlog, call = setup(tmp_path)
    tracker.offered("c1", "1001")
    clock.advance(1)
    tracker.settle("c1", "waiting")               # the resync found the caller still waiting
    tracker.offered("c1", "1002")
    clock.advance(6)
    tracker.seen_waiting("c1")                    # the wait route: the offer went stale
    assert lines(tmp_path, qlog) == [("ENTERQUEUE", "NONE")]


def test_a_ring_not_answered_is_one_ringnoanswer_and_a_later_unrung_offer_none(tmp_path):
    clock, tracker, qlog, call = setup(tmp_path)
    tracker.offered("c1", "1001")
    tracker.handle(Message.of({"Event": "DialBegin", "Channel": call.channel,
                               "DestChannel": "PJSIP/6001-1"}))
    clock.advance(15)
    tracker.handle(Message.of({"Event": "DialEnd", "Channel": call.channel,
                               "DestChannel": "PJSIP/6001-1", "DialStatus": "NOANSWER"}))
    clock.advance(1)
    tracker.offered("c1", "1002")
    tracker.settle("c1", "waiting")
    assert lines(tmp_path, qlog) == [("ENTERQUEUE", "NONE"), ("RINGNOANSWER", "1001")]


def test_a_ring_the_resync_finds_over_was_a_ringnoanswer(tmp_path):
    clock, tracker, qlog, call = setup(tmp_path)
    tracker.offered("c1", "1001")
    tracker.handle(Message.of({"Event": "DialBegin", "Channel": call.channel,
                               "DestChannel": "PJSIP/6001-1"}))
    clock.advance(20)
    tracker.settle("c1", "waiting")               # it rang, then came back while AMI was down
    assert lines(tmp_path, qlog) == [("ENTERQUEUE", "NONE"), ("RINGNOANSWER", "1001")]
