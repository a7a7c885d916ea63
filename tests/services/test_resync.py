"""Resynchronisation with the PBX: the cases where events were missed or ctid restarted."""
import pytest
from twisted.internet.task import Clock

from cti.domain.agent_state import AgentState
from cti.domain.call_state import CallEvent, CallState
from cti.domain.routing import make_router
from cti.protocol.ami_message import Message
from cti.services.acd import ACDService
from cti.services.agents import Agent, AgentService
from cti.services.calls import Call, CallTracker
from cti.services.journal import to_entry
from cti.services.resync import ChannelView, Resync
from twisted.internet import defer


class Journal:
    def __init__(self, entries=()):
        self.entries = {e["call_id"]: e for e in entries}

    def take_recovered(self):
        out, self.entries = self.entries, {}
        return out


class Presence:
    def __init__(self, state):
        self.state = state

    def load(self):
        return dict(self.state)


class Connector:
    def __init__(self):
        self.moved = []

    def ready(self):
        return True

    def connect(self, call, agent):
        self.moved.append((call.call_id, agent.agent_id))
        return defer.succeed(None)


def world(journal=(), presence=None):
    clock = Clock()
    clock.advance(1000)
    tracker = CallTracker(clock.seconds)
    agents = AgentService([Agent("1001", "A", "PJSIP/6001"), Agent("1002", "B", "PJSIP/6002")], clock)
    connector = Connector()
    acd = ACDService(make_router("service-level", {}, clock.seconds), tracker, agents, connector)
    tracker.subscribe(agents)
    tracker.subscribe(acd)
    agents.subscribe(acd)
    resync = Resync(tracker, agents, acd, Presence(presence or {}), clock, Journal(journal))
    return clock, tracker, agents, acd, connector, resync


def waiting_view(name, call_id, arrival):
    return ChannelView(name, "cti-wait", "MusicOnHold", False, "u-" + call_id, "u-" + call_id,
                       "13800000001", {"CTI_CALL_ID": call_id, "CTI_ARRIVAL": str(arrival),
                                       "CTI_TIER": "gold", "CTI_SKILL": "general"})


def test_ivr_call_whose_ctiwait_was_lost_is_queued_by_the_resync():
    clock, tracker, agents, acd, connector, resync = world(presence={"1001": {"state": "ready"}})
    resync.reconcile({})
    call = tracker.register(Call("c1", "PJSIP/trunk-1", "u1", "u1", "138", arrival=990.0))
    resync.reconcile({"PJSIP/trunk-1": waiting_view("PJSIP/trunk-1", "c1", 990.0)})
    assert call.state is CallState.OFFERED and connector.moved == [("c1", "1001")]


def test_a_journalled_call_does_not_hide_a_live_call_on_a_reused_channel_name():
    old = Call("old", "PJSIP/trunk-00000001", "u0", "u0", "139", arrival=900.0)
    old.machine.fire(CallEvent.ENQUEUE)
    clock, tracker, agents, acd, connector, resync = world(journal=[to_entry(old)])
    live = waiting_view("PJSIP/trunk-00000001", "new", 995.0)
    resync.reconcile({live.name: live})
    call = tracker.by_channel("PJSIP/trunk-00000001")
    assert call is not None and call.call_id == "new"
    tracker.handle(Message.of({"Event": "Hangup", "Channel": live.name}))
    assert tracker.get("new") is None                       # the live call's hangup was seen


def test_a_late_first_resync_does_not_overwrite_agents_already_live():
    clock, tracker, agents, acd, connector, resync = world(
        presence={"1001": {"state": "not-ready", "reason": "lunch"}})
    agents.login("1001")
    agents.reserve("1001", "c9")
    resync.reconcile({})
    assert agents.get("1001").state is AgentState.RESERVED


def test_waiting_callers_keep_their_arrival_and_presence_comes_back():
    clock, tracker, agents, acd, connector, resync = world(
        presence={"1001": {"state": "ready"}, "1002": {"state": "not-ready", "reason": "lunch"}})
    view = waiting_view("PJSIP/trunk-7", "c7", 940.0)
    resync.reconcile({view.name: view})
    call = tracker.get("c7")
    assert call.arrival == 940.0 and call.state is CallState.OFFERED
    assert agents.get("1002").reason == "lunch"


def test_callers_in_the_fallback_queue_are_left_to_app_queue():
    clock, tracker, agents, acd, connector, resync = world(presence={"1001": {"state": "ready"}})
    view = waiting_view("PJSIP/trunk-8", "c8", 950.0)
    view.context = "cti-fallback"
    resync.reconcile({view.name: view})
    assert tracker.get("c8").state is CallState.FALLBACK and connector.moved == []
