"""A connected caller sent by the agent into a flow and back (人工转自动), through the real
tracker, agent service, ACD and router; only AMI is faked.

The agent stays held (busy) while the caller is away; the caller comes back ringing that same
agent, and the call stays one call (one CONNECT, one contact). A caller who hangs up in the
flow ends an answered call; a hold that runs out lets the agent go and the caller queues with
its first arrival; a return the agent does not answer does the same.
"""
from twisted.internet.task import Clock

import pytest

from cti.domain.agent_state import AgentState
from cti.domain.call_state import CallState
from cti.domain.routing import make_router
from cti.protocol.ami_message import Message
from cti.services.acd import ACDService, AMIConnector
from cti.services.agents import Agent, AgentService
from cti.services.calls import Call, CallTracker
from cti.services.records import CallRecords
from tests.services.test_acd import FakeAMI, arrive

LEG1, LEG2 = "PJSIP/6001-00000001", "PJSIP/6001-00000002"


class QueueLog:
    def __init__(self):
        self.lines = []

    def log(self, event, **fields):
        self.lines.append((event, fields.get("agent")))


def ev(name, channel, **extra):
    return Message.of({"Event": name, "Channel": channel, **extra})


@pytest.fixture
def world():
    clock = Clock()
    clock.advance(1000)
    tracker = CallTracker(clock.seconds)
    agents = AgentService([Agent("1001", "A", "PJSIP/6001"), Agent("1002", "B", "PJSIP/6002")],
                          clock, wrap_up_seconds=5)
    ami = FakeAMI()
    router = make_router("service-level", {}, clock.seconds)
    acd = ACDService(router, tracker, agents, AMIConnector(ami.send_action))
    qlog, contacts = QueueLog(), []
    records = CallRecords(lambda r: contacts.append(r) if r.kind == "contact" else None, qlog,
                          acd.position, clock.seconds)
    for observer in (agents, acd, records):
        tracker.subscribe(observer)
    agents.subscribe(acd)
    agents.login("1001")
    call = arrive(tracker, clock, 1)
    tracker.handle(ev("DialBegin", call.channel, DestChannel=LEG1))
    clock.advance(2)
    tracker.handle(ev("DialEnd", call.channel, DestChannel=LEG1, DialStatus="ANSWER"))
    assert call.state is CallState.CONNECTED and agents.get("1001").state is AgentState.BUSY
    return clock, tracker, agents, router, call, qlog, contacts


def away(tracker, clock, call):
    assert tracker.sent_to_flow(call.call_id, "verify-pin") is call
    # the Redirect takes the caller out of the bridge; Dial hangs the agent's leg up
    for msg in (ev("BridgeLeave", call.channel), ev("BridgeLeave", LEG1), ev("Hangup", LEG1)):
        tracker.handle(msg)
    assert call.state is CallState.AWAY
    clock.advance(20)


def test_back_to_the_same_agent_is_one_call(world):
    clock, tracker, agents, router, call, qlog, contacts = world
    answered = call.answered_at
    away(tracker, clock, call)
    assert agents.get("1001").state is AgentState.BUSY          # held for the caller
    assert router.call_status(call.call_id).value == "connected"
    tracker.handle(ev("DialBegin", call.channel, DestChannel=LEG2))
    assert call.state is CallState.AWAY and call.agent_channel == LEG2 and call.returning
    tracker.handle(ev("DialEnd", call.channel, DestChannel=LEG2, DialStatus="ANSWER"))
    assert call.state is CallState.CONNECTED and call.answered_at == answered
    assert agents.get("1001").state is AgentState.BUSY
    clock.advance(30)
    tracker.handle(ev("HangupRequest", call.channel))
    tracker.handle(ev("Hangup", call.channel))
    events = [e for e, _ in qlog.lines]
    assert events == ["ENTERQUEUE", "CONNECT", "COMPLETECALLER"]
    assert len(contacts) == 1 and contacts[0].disposition == "answered"
    assert contacts[0].talk_seconds == 50.0 and contacts[0].agent_number == "1001"
    assert agents.get("1001").state is AgentState.AFTER_CALL_WORK


def test_a_caller_who_hangs_up_in_the_flow_ends_an_answered_call(world):
    clock, tracker, agents, router, call, qlog, contacts = world
    away(tracker, clock, call)
    tracker.handle(ev("HangupRequest", call.channel))
    tracker.handle(ev("Hangup", call.channel))
    assert call.state is CallState.ENDED
    assert [e for e, _ in qlog.lines][-1] == "COMPLETECALLER"
    assert contacts[-1].disposition == "answered" and not contacts[-1].abandoned
    assert agents.get("1001").state is AgentState.AFTER_CALL_WORK
    with pytest.raises(Exception):
        router.call_status(call.call_id)                          # the router let it go


def test_a_hold_that_runs_out_lets_the_agent_go_and_the_caller_queues_first_in_its_tier(world):
    clock, tracker, agents, router, call, qlog, contacts = world
    agents.login("1002")
    agents.pause("1002", "break")
    later = arrive(tracker, clock, 2)                             # a caller waiting meanwhile
    away(tracker, clock, call)
    tracker.free_agent(call.call_id)
    assert agents.get("1001").state is AgentState.AFTER_CALL_WORK and call.agent_id is None
    assert call.state is CallState.AWAY and contacts == []        # still one live call
    tracker.handle(ev("UserEvent", call.channel, UserEvent="CTIWait"))
    assert call.state is CallState.QUEUED
    assert router.position(call.call_id) == 1 and router.position(later.call_id) == 2
    assert [e for e, _ in qlog.lines].count("ENTERQUEUE") == 2    # one per caller


def test_back_in_wait_without_the_hold_released_lets_the_agent_go_first(world):
    """The flow's AGI failed (ctid unreachable a moment): the dialplan sends the caller to
    cti-wait; the agent held for them must not stay busy for nobody."""
    clock, tracker, agents, router, call, qlog, contacts = world
    away(tracker, clock, call)
    tracker.handle(ev("UserEvent", call.channel, UserEvent="CTIWait"))
    assert call.state is CallState.QUEUED
    assert agents.get("1001").state is AgentState.AFTER_CALL_WORK
    assert router.call_status(call.call_id).value != "connected"


def test_a_return_the_agent_does_not_answer_lets_the_agent_go_and_the_caller_queues(world):
    clock, tracker, agents, router, call, qlog, contacts = world
    away(tracker, clock, call)
    tracker.handle(ev("DialBegin", call.channel, DestChannel=LEG2))
    tracker.handle(ev("DialEnd", call.channel, DestChannel=LEG2, DialStatus="NOANSWER"))
    assert call.state is CallState.QUEUED and call.agent_id is None
    assert agents.get("1001").state is AgentState.AFTER_CALL_WORK
    assert router.call_status(call.call_id).value in ("queued", "waiting", "arriving")


def test_a_refused_redirect_leaves_the_caller_with_the_agent(world):
    clock, tracker, agents, router, call, qlog, contacts = world
    tracker.sent_to_flow(call.call_id, "survey")
    tracker.flow_refused(call.call_id, "redirect-failed")
    assert call.state is CallState.CONNECTED and call.flow is None
    assert tracker.sent_to_flow(call.call_id, "survey") is call   # may be asked again


def test_only_a_connected_call_can_be_sent(world):
    clock, tracker, agents, router, call, qlog, contacts = world
    tracker.sent_to_flow(call.call_id, "survey")
    assert tracker.sent_to_flow(call.call_id, "survey") is None   # never a second Redirect
    assert tracker.sent_to_flow("nope", "survey") is None


def test_a_resync_that_finds_the_caller_still_bridged_takes_the_flow_back(world):
    clock, tracker, agents, router, call, qlog, contacts = world
    tracker.sent_to_flow(call.call_id, "survey")
    tracker.settle(call.call_id, "bridged")
    assert call.state is CallState.CONNECTED


def test_a_caller_requeued_after_the_hold_gets_a_connect_for_the_next_agent(world):
    clock, tracker, agents, router, call, qlog, contacts = world
    away(tracker, clock, call)
    tracker.free_agent(call.call_id)
    tracker.handle(ev("UserEvent", call.channel, UserEvent="CTIWait"))
    agents.login("1002")                                 # the router offers them the caller
    assert call.state is CallState.OFFERED and call.agent_id == "1002"
    tracker.handle(ev("DialBegin", call.channel, DestChannel="PJSIP/6002-00000005"))
    tracker.handle(ev("DialEnd", call.channel, DestChannel="PJSIP/6002-00000005",
                      DialStatus="ANSWER"))
    connects = [agent for event, agent in qlog.lines if event == "CONNECT"]
    assert connects == ["1001", "1002"]


def test_a_caller_who_hangs_up_while_the_held_agent_rings_again_ended_an_answered_call(world):
    clock, tracker, agents, router, call, qlog, contacts = world
    away(tracker, clock, call)
    tracker.handle(ev("DialBegin", call.channel, DestChannel=LEG2))
    tracker.handle(ev("HangupRequest", call.channel))
    tracker.handle(ev("DialEnd", call.channel, DestChannel=LEG2, DialStatus="CANCEL"))
    tracker.handle(ev("Hangup", call.channel))
    assert call.state is CallState.ENDED
    assert [e for e, _ in qlog.lines] == ["ENTERQUEUE", "CONNECT", "COMPLETECALLER"]
    assert contacts[-1].disposition == "answered" and not contacts[-1].abandoned
    assert agents.get("1001").state is AgentState.AFTER_CALL_WORK
    with pytest.raises(Exception):
        router.call_status(call.call_id)                          # the router let it go
    agents.unpause("1001")                                        # wrap-up done: free again
    assert router.agent_state("1001").value == "ready"
