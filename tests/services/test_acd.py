"""The ACD service with the real router, tracker and agent service; only AMI is faked.

Checks the order of effects of an offer (reserve, offered, pop, then exactly one Redirect),
RONA, abandon while ringing, a failed Redirect, and that wrap-up frees the agent for the
next caller.
"""
import pytest
from twisted.internet import defer
from twisted.internet.task import Clock

from cti.domain.agent_state import AgentState
from cti.domain.call_state import CallState
from cti.domain.routing import make_router
from cti.protocol.ami_message import Message
from cti.services.acd import ACDService, AMIConnector
from cti.services.agents import Agent, AgentService
from cti.services.calls import Call, CallTracker


class FakeAMI:
    def __init__(self):
        self.sent = []
        self.fail = None
        self.error = "Permission denied"

    def send_action(self, action, headers):
        self.sent.append((action, dict(headers)))
        if self.fail and action == self.fail:
            return defer.fail(RuntimeError(self.error))
        return defer.succeed(Message.of({"Response": "Success"}))


class Pops:
    def __init__(self, ami):
        self.ami = ami
        self.pops = []

    def offer_made(self, call, agent):
        self.pops.append((call.call_id, agent.agent_id, len(self.ami.sent)))


@pytest.fixture
def acd():
    clock = Clock()
    clock.advance(1000)
    tracker = CallTracker(clock.seconds)
    agents = AgentService([Agent("1001", "A", "PJSIP/6001"), Agent("1002", "B", "PJSIP/6002"),
                           Agent("1003", "V", "PJSIP/6003", group="vip")],
                          clock, wrap_up_seconds=5)
    ami = FakeAMI()
    pops = Pops(ami)
    service = ACDService(make_router("service-level", {}, clock.seconds), tracker, agents,
                         AMIConnector(ami.send_action), listeners=[pops])
    tracker.subscribe(agents)
    tracker.subscribe(service)
    agents.subscribe(service)
    return clock, tracker, agents, ami, pops, service


def arrive(tracker, clock, n, tier="standard"):
    call = tracker.register(Call(f"c{n}", f"PJSIP/carrier-{n}", f"u{n}", f"u{n}", f"1380013800{n}",
                                 tier=tier, arrival=clock.seconds()))
    tracker.handle(Message.of({"Event": "UserEvent", "UserEvent": "CTIWait", "Channel": call.channel}))
    return call


def dial(tracker, call, status=None):
    tracker.handle(Message.of({"Event": "DialBegin", "Channel": call.channel,
                               "DestChannel": "PJSIP/6001-00000001"}))
    if status:
        tracker.handle(Message.of({"Event": "DialEnd", "Channel": call.channel, "DialStatus": status}))


def redirects(ami):
    return [h["Channel"] for a, h in ami.sent if a == "Redirect"]


def test_offer_effects_in_order_and_longest_idle_agent_first(acd):
    clock, tracker, agents, ami, pops, service = acd
    agents.login("1002")
    clock.advance(3)
    agents.login("1001")
    call = arrive(tracker, clock, 1)
    assert call.state is CallState.OFFERED and call.agent_id == "1002"
    assert agents.get("1002").state is AgentState.RESERVED
    assert pops.pops == [("c1", "1002", 0)]                  # the pop went before any AMI action
    assert ami.sent == [
        ("Setvar", {"Channel": call.channel, "Variable": "CTI_TARGET", "Value": "PJSIP/6002"}),
        ("Setvar", {"Channel": call.channel, "Variable": "CTI_AGENT", "Value": "1002"}),
        ("Redirect", {"Channel": call.channel, "Context": "cti-connect", "Exten": "s", "Priority": "1"}),
    ]


def test_answer_hangup_wrap_up_then_next_caller(acd):
    clock, tracker, agents, ami, pops, service = acd
    agents.login("1001")
    c1 = arrive(tracker, clock, 1)
    c2 = arrive(tracker, clock, 2)
    assert c2.state is CallState.QUEUED and service.position("c2") == 1
    dial(tracker, c1, "ANSWER")
    assert agents.get("1001").state is AgentState.BUSY
    clock.advance(30)
    tracker.handle(Message.of({"Event": "Hangup", "Channel": c1.channel}))
    assert agents.get("1001").state is AgentState.AFTER_CALL_WORK
    assert c2.state is CallState.QUEUED
    clock.advance(5)
    assert c2.state is CallState.OFFERED and c2.agent_id == "1001"
    assert redirects(ami) == [c1.channel, c2.channel]


def test_rona_sends_call_to_next_agent_and_leaves_first_not_ready(acd):
    clock, tracker, agents, ami, pops, service = acd
    agents.login("1001")
    clock.advance(1)
    agents.login("1002")
    call = arrive(tracker, clock, 1)
    assert call.agent_id == "1001"
    dial(tracker, call, "NOANSWER")
    assert agents.get("1001").state is AgentState.NOT_READY
    assert agents.get("1001").reason == "rona"
    # Not offered again until the dialplan has the caller back in cti-wait: an earlier
    # Redirect would race the dialplan's own Goto.
    assert call.state is CallState.QUEUED and len(redirects(ami)) == 1
    tracker.handle(Message.of({"Event": "UserEvent", "UserEvent": "CTIWait", "Channel": call.channel}))
    assert call.state is CallState.OFFERED and call.agent_id == "1002"
    assert redirects(ami) == [call.channel, call.channel]


def test_rona_return_not_seen_is_reoffered_after_a_grace_period(acd):
    clock, tracker, agents, ami, pops, service = acd
    agents.login("1001")
    clock.advance(1)
    agents.login("1002")
    call = arrive(tracker, clock, 1)
    dial(tracker, call, "NOANSWER")
    clock.advance(3)
    service.tick()
    assert call.state is CallState.QUEUED
    clock.advance(3)
    service.tick()
    assert call.state is CallState.OFFERED and call.agent_id == "1002"
    assert len(redirects(ami)) == 2


def test_caller_hanging_up_on_the_way_back_is_an_abandon(acd):
    clock, tracker, agents, ami, pops, service = acd
    agents.login("1001")
    call = arrive(tracker, clock, 1)
    dial(tracker, call, "NOANSWER")
    tracker.handle(Message.of({"Event": "Hangup", "Channel": call.channel}))
    assert call.state is CallState.ABANDONED
    agents.unpause("1001")
    assert agents.get("1001").state is AgentState.READY
    assert service.router.agent_state("1001") is AgentState.READY


def test_fallback_takes_the_caller_out_of_ctids_queue(acd):
    clock, tracker, agents, ami, pops, service = acd
    call = arrive(tracker, clock, 1)
    tracker.handle(Message.of({"Event": "UserEvent", "UserEvent": "CTIFallback", "Channel": call.channel}))
    assert call.state is CallState.FALLBACK
    agents.login("1001")
    assert redirects(ami) == []                         # never pulled out of app_queue


def test_abandon_while_ringing_frees_agent_for_waiting_caller(acd):
    clock, tracker, agents, ami, pops, service = acd
    agents.login("1001")
    c1 = arrive(tracker, clock, 1)
    c2 = arrive(tracker, clock, 2)
    dial(tracker, c1)
    tracker.handle(Message.of({"Event": "Hangup", "Channel": c1.channel}))
    assert c2.state is CallState.OFFERED and c2.agent_id == "1001"


def test_refused_redirect_puts_call_back_and_tries_next_agent(acd):
    clock, tracker, agents, ami, pops, service = acd
    ami.fail = "Redirect"
    agents.login("1001")
    call = arrive(tracker, clock, 1)
    assert call.state is CallState.QUEUED
    assert agents.get("1001").state is AgentState.NOT_READY
    assert agents.get("1001").reason == "redirect-failed"     # out, so no tight retry loop
    ami.fail = None
    agents.login("1002")
    assert call.state is CallState.OFFERED and call.agent_id == "1002"
    assert len(redirects(ami)) == 2                       # one per offer, none repeated


def test_redirect_to_a_vanished_caller_settles_as_abandon(acd):
    clock, tracker, agents, ami, pops, service = acd
    ami.fail, ami.error = "Redirect", "No such channel"
    agents.login("1001")
    call = arrive(tracker, clock, 1)
    assert call.state is CallState.ABANDONED
    assert agents.get("1001").state is AgentState.READY
    assert len(redirects(ami)) == 1


def test_uncertain_redirect_is_never_resent(acd):
    from cti.net.ami_errors import AMIConnectionLost
    clock, tracker, agents, ami, pops, service = acd
    agents.login("1001")
    agents.login("1002")
    ami.send_action = lambda a, h: (ami.sent.append((a, dict(h))),
                                    defer.fail(AMIConnectionLost("link lost")))[1]
    service._connector = AMIConnector(ami.send_action)
    call = arrive(tracker, clock, 1)
    assert call.state is CallState.OFFERED          # left for the resync to settle
    assert [a for a, _ in ami.sent].count("Setvar") == 1
    tracker.settle(call.call_id, "waiting")         # resync: the caller never left cti-wait
    assert call.state is CallState.OFFERED and call.agent_id == "1002"   # withdrawn, re-offered
    assert agents.get("1001").state is AgentState.READY


def test_caller_hanging_up_while_ringing_is_not_rona(acd):
    clock, tracker, agents, ami, pops, service = acd
    agents.login("1001")
    call = arrive(tracker, clock, 1)
    dial(tracker, call, "CANCEL")
    tracker.handle(Message.of({"Event": "Hangup", "Channel": call.channel}))
    assert call.state is CallState.ABANDONED
    assert agents.get("1001").state is AgentState.READY
    assert len(redirects(ami)) == 1


def test_vip_agent_takes_the_vip_caller_first(acd):
    clock, tracker, agents, ami, pops, service = acd
    std = arrive(tracker, clock, 1)
    clock.advance(5)
    vip = arrive(tracker, clock, 2, tier="platinum")
    agents.login("1003")
    assert vip.state is CallState.OFFERED and vip.agent_id == "1003"
    assert std.state is CallState.QUEUED


def test_vip_call_overflows_to_general_agents_on_tick(acd):
    clock, tracker, agents, ami, pops, service = acd
    agents.login("1003")
    agents.pause("1003", "meeting")                       # a VIP agent exists, but is away
    agents.login("1001")
    vip = arrive(tracker, clock, 1, tier="platinum")
    assert vip.state is CallState.QUEUED                  # kept for VIP agents at first
    clock.advance(11)
    service.tick()
    assert vip.state is CallState.OFFERED and vip.agent_id == "1001"


class Link:
    """The AMI link's state as the connector sees it."""

    def __init__(self):
        self.up = True

    def __call__(self):
        return self.up


def with_link(service, ami):
    link = Link()
    service._connector = AMIConnector(ami.send_action, ready=link)
    return link


def test_offers_made_while_the_link_is_down_wait_for_it_untouched(acd):
    clock, tracker, agents, ami, pops, service = acd
    link = with_link(service, ami)
    link.up = False
    agents.login("1001")
    call = arrive(tracker, clock, 1)
    # The router chose, but nothing can move the caller: no reservation, no pop, no action.
    assert service.router.offered_to("c1") == "1001"
    assert call.state is CallState.QUEUED and agents.get("1001").state is AgentState.READY
    assert pops.pops == [] and ami.sent == []
    link.up = True
    service.link_ready()
    assert call.state is CallState.OFFERED and call.agent_id == "1001"
    assert len(pops.pops) == 1 and redirects(ami) == [call.channel]
    service.link_ready()                                  # a second resync does not repeat it
    assert len(pops.pops) == 1 and redirects(ami) == [call.channel]


def test_held_offer_overtaken_by_the_resync_is_dropped(acd):
    clock, tracker, agents, ami, pops, service = acd
    link = with_link(service, ami)
    link.up = False
    agents.login("1001")
    agents.login("1002")
    gone = arrive(tracker, clock, 1)
    kept = arrive(tracker, clock, 2)
    assert service.router.offered_to("c1") == "1001" and service.router.offered_to("c2") == "1002"
    link.up = True
    tracker.settle(gone.call_id, "gone")     # the resync: c1 hung up while the link was down
    assert gone.state is CallState.ABANDONED
    service.link_ready()
    assert kept.state is CallState.OFFERED and kept.agent_id == "1002"
    assert redirects(ami) == [kept.channel] and [p[0] for p in pops.pops] == ["c2"]
    assert agents.get("1001").state is AgentState.READY


def test_link_lost_between_setvars_sends_no_redirect_and_no_more_offers(acd):
    from cti.net.ami_errors import AMIConnectionLost
    clock, tracker, agents, ami, pops, service = acd
    link = with_link(service, ami)
    agents.login("1001")
    agents.login("1002")

    def drop_after_first(action, headers):
        ami.sent.append((action, dict(headers)))
        if len(ami.sent) == 1:
            return defer.succeed(Message.of({"Response": "Success"}))
        link.up = False
        return defer.fail(AMIConnectionLost("link lost"))

    service._connector = AMIConnector(drop_after_first, ready=link)
    first = arrive(tracker, clock, 1)
    second = arrive(tracker, clock, 2)                   # offered while the link is down: held
    assert [a for a, _ in ami.sent] == ["Setvar", "Setvar"]
    assert first.state is CallState.OFFERED and second.state is CallState.QUEUED
