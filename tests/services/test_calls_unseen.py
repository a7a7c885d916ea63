"""A call of a previous run that ended while ctid was down (journal + AstDB marker): its
queue_log lines are those of any answered call, CONNECT included, and never twice."""
from __future__ import annotations

from cti.domain.call_state import CallState
from cti.services.calls import Call, CallTracker
from cti.services.records import CallRecords


class QueueLog:
    def __init__(self):
        self.lines = []

    def log(self, event, **fields):
        self.lines.append(event)


def closed_unseen(journal_answered_at: float | None) -> list[str]:
    tracker = CallTracker(lambda: 2000.0)
    qlog = QueueLog()
    tracker.subscribe(CallRecords(lambda record: None, qlog, lambda call_id: 1, lambda: 2000.0))
    call = Call("cti-1", "PJSIP/trunk-00000001", "1.1", "1.1", "13800000001", agent_id="1001",
                offered_at=1000.0, ring_started=1000.5, answered_at=journal_answered_at)
    state = CallState.RINGING if journal_answered_at is None else CallState.CONNECTED
    if state is CallState.RINGING:              # the marker says the agent answered meanwhile
        state = CallState.CONNECTED
    ended_at = call.answered_unseen("1001", 1500.0)
    tracker.close_unseen(call, state, ended_at)
    assert call.state is CallState.ENDED
    return qlog.lines


def test_answered_while_down_gets_its_connect_line() -> None:
    assert closed_unseen(journal_answered_at=None) == ["CONNECT", "COMPLETECALLER"]


def test_answered_before_the_stop_is_not_connected_twice() -> None:
    assert closed_unseen(journal_answered_at=1001.0) == ["COMPLETECALLER"]
