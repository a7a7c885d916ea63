"""Agent use cases: checked requests, call progress, RONA, wrap-up timer (task.Clock)."""
import pytest
from twisted.internet.task import Clock

from cti.domain.agent_state import AgentEvent, AgentState
from cti.domain.call_state import CallEvent
from cti.services.agents import Agent, AgentError, AgentService
from cti.services.calls import Call, CallChange


@pytest.fixture
def service():
    clock = Clock()
    svc = AgentService([Agent("1001", "Alice", "PJSIP/6001"), Agent("1002", "Bob", "PJSIP/6002")],
                       clock, wrap_up_seconds=10)
    seen = []

    class Obs:
        def agent_changed(self, agent, event):
            seen.append((agent.agent_id, event, agent.state))

    svc.subscribe(Obs())
    return svc, clock, seen


def change(kind, agent_id, call_id="c1", detail=""):
    return CallChange(kind, Call(call_id, "chan", "u", "l", "13800138000"), agent_id, detail)


def test_login_pause_unpause_logout(service):
    svc, clock, seen = service
    clock.advance(5)
    assert svc.login("1001").state is AgentState.READY
    assert svc.get("1001").idle_since == 5
    with pytest.raises(AgentError) as err:
        svc.login("1001")
    assert err.value.code == "illegal-state"
    svc.pause("1001", "lunch")
    assert (svc.get("1001").state, svc.get("1001").reason) == (AgentState.NOT_READY, "lunch")
    svc.unpause("1001")
    svc.logout("1001")
    assert svc.get("1001").state is AgentState.LOGGED_OUT
    with pytest.raises(AgentError) as err:
        svc.pause("nobody")
    assert err.value.code == "unknown-agent"


def test_full_call_then_wrap_up_ends_by_itself(service):
    svc, clock, seen = service
    svc.login("1001")
    svc.reserve("1001", "c1")
    with pytest.raises(AgentError):
        svc.reserve("1001", "c2")                       # never two calls at once
    for kind in (CallEvent.RING, CallEvent.ANSWER):
        svc.call_changed(change(kind, "1001"))
    assert svc.get("1001").state is AgentState.BUSY
    svc.call_changed(change(CallEvent.HANGUP, "1001"))
    agent = svc.get("1001")
    assert agent.state is AgentState.AFTER_CALL_WORK and agent.call_id is None
    clock.advance(9.9)
    assert agent.state is AgentState.AFTER_CALL_WORK
    clock.advance(0.2)
    assert agent.state is AgentState.READY and agent.calls_handled == 1
    assert agent.idle_since == pytest.approx(10.1)
    assert clock.getDelayedCalls() == []


def test_rona_makes_agent_not_ready(service):
    svc, clock, seen = service
    svc.login("1001")
    svc.reserve("1001", "c1")
    svc.call_changed(change(CallEvent.RING, "1001"))
    svc.call_changed(change(CallEvent.NO_ANSWER, "1001", detail="NOANSWER"))
    agent = svc.get("1001")
    assert (agent.state, agent.reason, agent.call_id) == (AgentState.NOT_READY, "rona", None)


def test_withdrawn_offer_leaves_agent_ready(service):
    svc, clock, seen = service
    svc.login("1001")
    svc.reserve("1001", "c1")
    svc.call_changed(change(CallEvent.NO_ANSWER, "1001", detail="resync"))
    assert svc.get("1001").state is AgentState.READY


def test_caller_abandons_while_ringing_frees_agent(service):
    svc, clock, seen = service
    svc.login("1001")
    svc.reserve("1001", "c1")
    svc.call_changed(change(CallEvent.RING, "1001"))
    svc.call_changed(change(CallEvent.HANGUP, "1001"))
    assert svc.get("1001").state is AgentState.READY


def test_changes_for_another_call_are_ignored(service):
    svc, clock, seen = service
    svc.login("1001")
    svc.reserve("1001", "c1")
    svc.call_changed(change(CallEvent.ANSWER, "1001", call_id="other"))
    assert svc.get("1001").state is AgentState.RESERVED


def test_agent_ends_wrap_up_early_and_pause_cancels_timer(service):
    svc, clock, seen = service
    svc.login("1001")
    svc.reserve("1001", "c1")
    svc.call_changed(change(CallEvent.ANSWER, "1001"))
    svc.call_changed(change(CallEvent.HANGUP, "1001"))
    svc.unpause("1001")
    assert svc.get("1001").state is AgentState.READY
    assert clock.getDelayedCalls() == []
    svc.reserve("1001", "c2")
    svc.call_changed(change(CallEvent.ANSWER, "1001", "c2"))
    svc.call_changed(change(CallEvent.HANGUP, "1001", "c2"))
    svc.pause("1001", "meeting")
    assert clock.getDelayedCalls() == []
    clock.advance(60)
    assert svc.get("1001").state is AgentState.NOT_READY


def test_observers_see_every_move(service):
    svc, clock, seen = service
    svc.login("1002")
    svc.pause("1002", "toilet")
    assert seen == [("1002", AgentEvent.LOGIN, AgentState.READY),
                    ("1002", AgentEvent.PAUSE, AgentState.NOT_READY)]
