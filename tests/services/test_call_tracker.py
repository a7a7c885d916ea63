"""The call tracker, fed the real AMI stream of a RONA-then-answer call (ami-redirect-flow-rona).

The capture's client played ctid's part (Setvar CTI_TARGET, Redirect); here the test does the
same at the same points of the stream: when the recorded client sent a Redirect, the test tells
the tracker the call was offered. Asterisk's own events then move the call.
"""
import json

import pytest

from cti.domain.call_state import CallEvent, CallState
from cti.protocol.ami import AMIParser
from cti.protocol.ami_message import Message
from cti.services.calls import Call, CallTracker
from tests.conftest import CAPTURES

CALLER = "Local/100@callers-00010610;1"


def conversation(name):
    """(direction, Message) in wire order from a capture's jsonl."""
    parsers = {"rx": AMIParser(expect_banner=True), "tx": AMIParser(expect_banner=False)}
    for line in (CAPTURES / f"{name}.jsonl").read_text().splitlines():
        chunk = json.loads(line)
        for item in parsers[chunk["dir"]].feed(chunk["data"].encode("latin-1")):
            if isinstance(item, Message):
                yield chunk["dir"], item


class Recorder:
    def __init__(self):
        self.changes = []

    def call_changed(self, change):
        self.changes.append((change.kind, change.call.state, change.agent_id, change.detail))


@pytest.fixture
def tracked():
    now = [1000.0]
    tracker = CallTracker(lambda: now[0])
    recorder = Recorder()
    tracker.subscribe(recorder)
    call = tracker.register(Call("cti-1795362997.134179", CALLER, "1795362997.134179",
                                 "1795362997.134179", "5557001", tier="gold", skill="billing"))
    return tracker, recorder, call, now


def wait_event():
    return Message.of({"Event": "UserEvent", "Channel": CALLER, "UserEvent": "CTIWait"})


def test_rona_then_answer_then_agent_hangs_up(tracked):
    tracker, recorder, call, now = tracked
    tracker.handle(wait_event())
    assert call.state is CallState.QUEUED and call.arrival == 1000.0
    targets = []
    for direction, msg in conversation("ami-redirect-flow-rona"):
        if direction == "tx":
            if msg.name == "Setvar" and msg.get("Variable") == "CTI_TARGET":
                targets.append(msg["Value"])
            if msg.name == "Redirect":
                agent = targets[-1].split("/")[1].split("@")[0]
                assert tracker.offered(call.call_id, agent) is call
            continue
        now[0] += 1
        tracker.handle(msg)
    kinds = [(k, s, a) for k, s, a, _ in recorder.changes]
    assert kinds == [
        (CallEvent.ENQUEUE, CallState.QUEUED, None),
        (CallEvent.OFFER, CallState.OFFERED, "3001"),
        (CallEvent.RING, CallState.RINGING, "3001"),
        (CallEvent.NO_ANSWER, CallState.QUEUED, "3001"),
        (CallEvent.OFFER, CallState.OFFERED, "2001"),
        (CallEvent.RING, CallState.RINGING, "2001"),
        (CallEvent.ANSWER, CallState.CONNECTED, "2001"),
        (CallEvent.HANGUP, CallState.ENDED, "2001"),
    ]
    assert recorder.changes[3][3] == "NOANSWER"
    assert call.rona_agents == ["3001"]
    assert call.ended_by == "agent"                   # the agent hung up in the capture
    assert call.arrival == 1000.0                     # RONA kept the original arrival
    assert tracker.get(call.call_id) is None          # ended calls are forgotten


def test_caller_hangs_up_while_waiting_is_an_abandon(tracked):
    tracker, recorder, call, now = tracked
    tracker.handle(wait_event())
    tracker.handle(Message.of({"Event": "Hangup", "Channel": CALLER, "Cause": "16"}))
    assert recorder.changes[-1][:2] == (CallEvent.HANGUP, CallState.ABANDONED)


def test_events_of_unknown_channels_and_unread_events_are_ignored(tracked):
    tracker, recorder, call, now = tracked
    for msg in (
        Message.of({"Event": "Hangup", "Channel": "PJSIP/9999-00000001"}),
        Message.of({"Event": "DialEnd", "Channel": CALLER, "DialStatus": "ANSWER"}),  # not offered
        Message.of({"Event": "VarSet", "Channel": CALLER}),
        Message.of({"Response": "Success"}),
    ):
        tracker.handle(msg)
    assert recorder.changes == []
    assert call.state is CallState.IVR


def test_failed_redirect_puts_call_back_in_line(tracked):
    tracker, recorder, call, now = tracked
    tracker.handle(wait_event())
    tracker.offered(call.call_id, "1001")
    tracker.offer_failed(call.call_id, "No such channel")
    assert call.state is CallState.QUEUED and call.agent_id is None
    assert recorder.changes[-1] == (CallEvent.NO_ANSWER, CallState.QUEUED, "1001", "No such channel")


def test_an_observer_that_fails_does_not_stop_the_others(tracked):
    tracker, recorder, call, now = tracked

    class Broken:
        def call_changed(self, change):
            raise RuntimeError("boom")

    tracker._observers.insert(0, Broken())
    tracker.handle(wait_event())
    assert recorder.changes and call.state is CallState.QUEUED
