"""The desktop gate: no desktop, no calls; a desktop connecting makes the agent ready."""
from twisted.internet.task import Clock

from cti.domain.agent_state import AgentState
from cti.domain.call_state import CallEvent
from cti.services.agents import Agent, AgentService
from cti.services.calls import Call, CallChange
from cti.services.desktops import REASON, DesktopGate


def make():
    online = set()
    gate = DesktopGate(lambda agent_id: agent_id in online)
    agents = AgentService([Agent("1001", "A", "PJSIP/6001")], Clock(), wrap_up_seconds=1,
                          hold=gate.hold)
    gate.agents = agents
    return gate, agents, online


def test_login_without_desktop_is_held_then_released_by_connecting():
    gate, agents, online = make()
    agents.login("1001")
    agent = agents.get("1001")
    assert (agent.state, agent.reason) == (AgentState.NOT_READY, REASON)
    online.add("1001")
    gate.presence("1001", True)
    assert agent.state is AgentState.READY


def test_losing_the_desktop_pauses_a_ready_agent_but_not_one_on_a_call():
    gate, agents, online = make()
    online.add("1001")
    agents.login("1001")
    agents.reserve("1001", "c1")
    agents.call_changed(CallChange(CallEvent.ANSWER, Call("c1", "ch", "u", "l", "1"), "1001"))
    online.discard("1001")
    gate.presence("1001", False)
    assert agents.get("1001").state is AgentState.BUSY
    agents.call_changed(CallChange(CallEvent.HANGUP, Call("c1", "ch", "u", "l", "1"), "1001"))
    agents.unpause("1001")                     # wrap-up done by hand: held, no desktop
    assert (agents.get("1001").state, agents.get("1001").reason) == (AgentState.NOT_READY, REASON)


def test_a_break_is_not_undone_by_a_desktop_connecting():
    gate, agents, online = make()
    online.add("1001")
    agents.login("1001")
    agents.pause("1001", "lunch")
    gate.presence("1001", True)
    assert agents.get("1001").reason == "lunch"
