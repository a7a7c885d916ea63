"""Who ended a call, whatever the order in which two channels' events arrive.

On Asterisk each channel's events come from its own thread: the order within one channel is
kept, the order between the caller's and the agent's is not (on a real PBX the caller's
``Hangup`` often came before the agent's when the agent hung up). The tracker must give the
same verdict for every interleaving of the two channels' streams, and the queue_log line
(``COMPLETEAGENT`` / ``COMPLETECALLER``) must follow it.

The per-channel streams are Asterisk's (``ami-redirect-flow-rona``: the agent hangs up; the
agent leg gets ``HangupRequest``, the caller only the ``SoftHangupRequest`` of its dialplan
ending; a caller who hangs up gets the ``HangupRequest`` on its own channel).
"""
from __future__ import annotations

import itertools

import pytest

from cti.domain.call_state import CallState
from cti.protocol.ami_message import Message
from cti.services.calls import Call, CallTracker
from cti.services.records import CallRecords

CALLER = "PJSIP/trunk-00000001"
AGENT_LEG = "PJSIP/6001-00000002"
BRIDGE = "bridge-1"


def ev(name: str, channel: str, **extra: str) -> Message:
    return Message.of({"Event": name, "Channel": channel, **extra})


def agent_ends() -> tuple[list[Message], list[Message]]:
    agent = [ev("HangupRequest", AGENT_LEG, Cause="16"), ev("BridgeLeave", AGENT_LEG, BridgeUniqueid=BRIDGE),
             ev("Hangup", AGENT_LEG, Cause="16")]
    caller = [ev("BridgeLeave", CALLER, BridgeUniqueid=BRIDGE), ev("SoftHangupRequest", CALLER, Cause="16"),
              ev("Hangup", CALLER, Cause="16")]
    return caller, agent


def caller_ends() -> tuple[list[Message], list[Message]]:
    caller = [ev("HangupRequest", CALLER, Cause="16"), ev("BridgeLeave", CALLER, BridgeUniqueid=BRIDGE),
              ev("SoftHangupRequest", CALLER, Cause="16"), ev("Hangup", CALLER, Cause="16")]
    agent = [ev("BridgeLeave", AGENT_LEG, BridgeUniqueid=BRIDGE), ev("Hangup", AGENT_LEG, Cause="16")]
    return caller, agent


def interleavings(a: list, b: list):
    """Every merge of ``a`` and ``b`` that keeps the order inside each."""
    n = len(a) + len(b)
    for picks in itertools.combinations(range(n), len(a)):
        ia, ib, out = iter(a), iter(b), []
        for i in range(n):
            out.append(next(ia) if i in picks else next(ib))
        yield out


class QueueLog:
    def __init__(self):
        self.lines = []

    def log(self, event, **fields):
        self.lines.append(event)


def ringing_call():
    """A call queued, offered to agent 6001 and ringing its leg; the clock is ``now[0]``."""
    now = [1000.0]
    tracker = CallTracker(lambda: now[0])
    qlog = QueueLog()
    tracker.subscribe(CallRecords(lambda record: None, qlog, lambda call_id: 1, lambda: now[0]))
    call = tracker.register(Call("cti-1", CALLER, "1.1", "1.1", "13800000001"))
    tracker.handle(ev("UserEvent", CALLER, UserEvent="CTIWait"))
    tracker.offered("cti-1", "6001")
    tracker.handle(ev("DialBegin", CALLER, DestChannel=AGENT_LEG))
    return now, tracker, call, qlog


def connected_call():
    _, tracker, call, qlog = ringing_call()
    tracker.handle(ev("DialEnd", CALLER, DestChannel=AGENT_LEG, DialStatus="ANSWER"))
    assert call.state is CallState.CONNECTED
    return tracker, call, qlog


@pytest.mark.parametrize("scenario,who,line", [(agent_ends, "agent", "COMPLETEAGENT"),
                                               (caller_ends, "caller", "COMPLETECALLER")])
def test_the_same_verdict_in_every_order(scenario, who, line) -> None:
    caller, agent = scenario()
    orders = list(interleavings(caller, agent))
    assert len(orders) >= 10
    for order in orders:
        tracker, call, qlog = connected_call()
        for msg in order:
            tracker.handle(msg)
        seen = [f"{m.name}:{m['Channel'].split('/')[1][:4]}" for m in order]
        assert call.state is CallState.ENDED and call.ended_by == who, seen
        assert qlog.lines[-1] == line, seen


def test_caller_hangup_before_the_agents_when_the_agent_hung_up() -> None:
    """What a real Asterisk delivered for 44 of 1,493 agent-ended calls."""
    tracker, call, qlog = connected_call()
    caller, agent = agent_ends()
    for msg in [agent[0], *caller, *agent[1:]]:
        tracker.handle(msg)
    assert call.ended_by == "agent" and qlog.lines[-1] == "COMPLETEAGENT"


def test_a_hangup_request_on_the_agent_leg_alone_does_not_end_the_call() -> None:
    tracker, call, _ = connected_call()
    tracker.handle(ev("HangupRequest", AGENT_LEG, Cause="16"))
    tracker.handle(ev("Hangup", AGENT_LEG, Cause="16"))
    assert call.state is CallState.CONNECTED


def test_an_answer_lost_with_the_link_is_read_from_the_callers_bridge_events() -> None:
    """The AMI link came back while the caller talked: its DialEnd ANSWER was lost, the first
    events ctid sees are the caller's HangupRequest and BridgeLeave. It was answered."""
    now, tracker, call, qlog = ringing_call()
    now[0] += 5
    caller, _ = caller_ends()
    for msg in caller:
        tracker.handle(msg)
    assert call.state is CallState.ENDED and call.answered_at == 1000.0 and call.ended_by == "caller"
    assert qlog.lines == ["ENTERQUEUE", "CONNECT", "COMPLETECALLER"]
