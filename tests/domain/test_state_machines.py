"""The agent and call state machines: every table entry works, everything else raises."""
import itertools

import pytest

from cti.domain.agent_state import AgentEvent, AgentMachine, AgentState, TRANSITIONS as AGENT_T
from cti.domain.call_state import CallEvent, CallMachine, CallState, TRANSITIONS as CALL_T
from cti.domain.state_machine import IllegalTransition


@pytest.mark.parametrize("state,event", list(itertools.product(AgentState, AgentEvent)))
def test_agent_table_is_the_whole_truth(state, event):
    machine = AgentMachine(state)
    if (state, event) in AGENT_T:
        assert machine.fire(event) is AGENT_T[(state, event)]
    else:
        with pytest.raises(IllegalTransition) as err:
            machine.fire(event)
        assert machine.state is state
        assert err.value.state is state and err.value.event is event


@pytest.mark.parametrize("state,event", list(itertools.product(CallState, CallEvent)))
def test_call_table_is_the_whole_truth(state, event):
    machine = CallMachine(state)
    if (state, event) in CALL_T:
        assert machine.fire(event) is CALL_T[(state, event)]
    else:
        with pytest.raises(IllegalTransition):
            machine.fire(event)
        assert machine.state is state


def test_agent_day():
    agent = AgentMachine()
    assert not agent.available
    agent.fire(AgentEvent.LOGIN)
    assert agent.available
    for event in (AgentEvent.RESERVE, AgentEvent.RING, AgentEvent.ANSWER, AgentEvent.HANGUP):
        agent.fire(event)
        assert not agent.available
    assert agent.state is AgentState.AFTER_CALL_WORK
    agent.fire(AgentEvent.WRAP_UP_DONE)
    assert agent.available


def test_rona_leaves_agent_not_ready_with_reason():
    agent = AgentMachine(AgentState.READY)
    agent.fire(AgentEvent.RESERVE)
    agent.fire(AgentEvent.RING)
    agent.fire(AgentEvent.NO_ANSWER)
    assert agent.state is AgentState.NOT_READY
    assert agent.reason == "rona"
    agent.fire(AgentEvent.UNPAUSE)
    assert agent.reason is None and agent.available


def test_pause_reason_is_kept_and_replaced():
    agent = AgentMachine(AgentState.READY)
    agent.fire(AgentEvent.PAUSE, reason="lunch")
    assert agent.reason == "lunch"
    agent.fire(AgentEvent.PAUSE, reason="training")
    assert agent.reason == "training"


def test_call_rona_returns_to_queue_and_abandon_is_final():
    call = CallMachine()
    call.fire(CallEvent.ENQUEUE)
    call.fire(CallEvent.OFFER)
    call.fire(CallEvent.RING)
    call.fire(CallEvent.NO_ANSWER)
    assert call.state is CallState.QUEUED and call.waiting
    call.fire(CallEvent.HANGUP)
    assert call.state is CallState.ABANDONED and call.final
    with pytest.raises(IllegalTransition):
        call.fire(CallEvent.OFFER)


def test_hangup_while_connected_is_an_ended_call_not_an_abandon():
    call = CallMachine(CallState.RINGING)
    call.fire(CallEvent.ANSWER)
    assert call.fire(CallEvent.HANGUP) is CallState.ENDED
