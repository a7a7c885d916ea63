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


class Ended:
    """A tracker observer keeping each call's state, answer and end when it is announced over."""

    def __init__(self):
        self.calls = {}

    def call_changed(self, change):
        if change.kind is CallEvent.HANGUP:
            c = change.call
            self.calls[c.call_id] = (c.state, c.agent_id, c.answered_at, c.ended_at)


def offered_call(clock, tracker, agents, resync):
    """c1 waits, goes to agent 1001 (Redirect sent), rings; then the AMI link drops."""
    resync.reconcile({})                                   # the first resync: 1001 ready
    view = waiting_view("PJSIP/trunk-1", "c1", 990.0)
    resync.reconcile({view.name: view})
    call = tracker.get("c1")
    clock.advance(0.5)
    tracker.handle(Message.of({"Event": "DialBegin", "Channel": call.channel,
                               "DestChannel": "PJSIP/6001-00000001"}))
    assert call.state is CallState.RINGING and call.agent_id == "1001"
    return call


def test_a_call_answered_and_ended_while_the_link_was_down_is_recorded_answered():
    from cti.services.resync import AnsweredMarker
    clock, tracker, agents, acd, connector, resync = world(presence={"1001": {"state": "ready"}})
    ended = Ended()
    tracker.subscribe(ended)
    call = offered_call(clock, tracker, agents, resync)
    rang_at = call.ring_started
    clock.advance(30)
    resync.reconcile({}, {"c1": AnsweredMarker("1001", 1015.0)})    # channel gone, marker left
    assert ended.calls["c1"] == (CallState.ENDED, "1001", rang_at, 1015.0)
    assert agents.get("1001").state is AgentState.AFTER_CALL_WORK


def test_without_a_marker_a_call_gone_while_ringing_was_abandoned():
    from cti.services.resync import AnsweredMarker
    clock, tracker, agents, acd, connector, resync = world(presence={"1001": {"state": "ready"}})
    ended = Ended()
    tracker.subscribe(ended)
    offered_call(clock, tracker, agents, resync)
    clock.advance(30)
    resync.reconcile({}, {"other": AnsweredMarker("1002", 1010.0)})
    state, agent, answered_at, ended_at = ended.calls["c1"]
    assert state is CallState.ABANDONED and answered_at is None and ended_at == clock.seconds()
    assert agents.get("1001").state is AgentState.READY


def test_a_journalled_ringing_call_with_a_marker_was_answered_while_ctid_was_down():
    from cti.services.resync import AnsweredMarker
    old = Call("c5", "PJSIP/trunk-5", "u5", "u5", "139", arrival=900.0)
    for event in (CallEvent.ENQUEUE, CallEvent.OFFER, CallEvent.RING):
        old.machine.fire(event)
    old.agent_id, old.offered_at, old.ring_started = "1002", 950.0, 950.2
    clock, tracker, agents, acd, connector, resync = world(journal=[to_entry(old)])
    ended = Ended()
    tracker.subscribe(ended)
    resync.reconcile({}, {"c5": AnsweredMarker("1002", 953.0)})
    assert ended.calls["c5"] == (CallState.ENDED, "1002", 950.2, 953.0)


class MarkerAMI:
    """Answers Status (no channels) and the AstDB actions as Asterisk does."""

    def __init__(self, markers=None, tree_error=None):
        self.markers, self.tree_error, self.sent = dict(markers or {}), tree_error, []
        self.connected = True
        self.error_class = None

    def send_action(self, action, headers=None):
        from cti.net.ami_errors import AMIActionError
        from cti.protocol.ami_lists import ActionResult
        self.sent.append(action)
        ok = Message.of({"Response": "Success"})
        if action == "DBGetTree":
            if self.error_class:
                return defer.fail(self.error_class("DBGetTree", "ctid-1", 10.0))
            if self.tree_error:
                return defer.fail(AMIActionError(self.tree_error, ok))
            return defer.succeed(ActionResult(ok, [
                Message.of({"Event": "DBGetTreeResponse", "Key": f"/cti_answered/{k}", "Val": v})
                for k, v in self.markers.items()]))
        if action == "DBDelTree":
            if not self.markers:
                return defer.fail(AMIActionError("Database entry not found", ok))
            self.markers.clear()
            return defer.succeed(ok)
        return defer.succeed(ActionResult(ok, []))


def test_the_resync_reads_the_markers_then_clears_them():
    clock, tracker, agents, acd, connector, resync = world(presence={"1001": {"state": "ready"}})
    ami = MarkerAMI({"c1": "1001:1015", "bad": "1001:soon"})
    resync(ami)
    assert ami.sent == ["Status", "DBGetTree", "DBDelTree"] and ami.markers == {}
    quiet = MarkerAMI()
    resync(quiet)
    assert quiet.sent == ["Status", "DBGetTree"]           # nothing to clear
    resync.tidy(quiet)                                     # the timer: "not found" is fine
    assert quiet.sent[-1] == "DBDelTree"
    quiet.connected = False
    resync.tidy(quiet)
    assert quiet.sent.count("DBDelTree") == 1


@pytest.mark.parametrize("error", ["Invalid/unknown command: DBGetTree.", "timeout"])
def test_the_resync_goes_on_when_the_markers_cannot_be_read(error):
    from cti.net.ami_errors import AMITimeout
    clock, tracker, agents, acd, connector, resync = world(presence={"1001": {"state": "ready"}})
    ami = MarkerAMI(tree_error=error)
    if error == "timeout":
        ami.error_class = AMITimeout
    d = resync(ami)
    assert d.called and not isinstance(d.result, Exception) and d.result is None
    assert ami.sent == ["Status", "DBGetTree"] and resync.runs == 1 and not resync.running
    assert agents.get("1001").state is AgentState.READY


def test_a_marker_end_in_whole_seconds_never_lands_before_the_stand_in_answer():
    from cti.services.resync import AnsweredMarker
    clock, tracker, agents, acd, connector, resync = world(presence={"1001": {"state": "ready"}})
    ended = Ended()
    tracker.subscribe(ended)
    call = offered_call(clock, tracker, agents, resync)         # rings at 1000.5
    resync.reconcile({}, {"c1": AnsweredMarker("1001", 1000.0)})   # EPOCH floored the end
    state, agent, answered_at, ended_at = ended.calls["c1"]
    assert state is CallState.ENDED and answered_at == call.ring_started == ended_at


# -- what a real Asterisk prints for an unset variable ---------------------------------------------

def status_result(raw: bytes):
    """The bytes of a Status reply, as a real Asterisk 22 sends them, through ctid's parser."""
    from cti.protocol.ami import AMIParser
    from cti.protocol.ami_lists import EventListCollector
    collector, out = EventListCollector(), []
    for item in AMIParser(expect_banner=False).feed(raw):
        out.extend(collector.feed(item))
    return out[-1]


def status_block(channel, uniqueid, context, app, variables):
    lines = [b"Event: Status", b"Privilege: Call", b"Channel: " + channel.encode(),
             b"ChannelState: 6", b"ChannelStateDesc: Up", b"CallerIDNum: 13800000001",
             b"Context: " + context.encode(), b"Exten: s", b"Priority: 2",
             b"Uniqueid: " + uniqueid.encode(), b"Linkedid: 1795360169.0", b"BridgeID: ",
             b"Application: " + app.encode()]
    lines += [b"Variable: " + v.encode() for v in variables]
    lines += [b"Seconds: 12", b"ActionID: ctid-7"]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def unset(names=("CTI_CALL_ID", "CTI_ARRIVAL", "CTI_CUSTOMER_ID", "CTI_TIER", "CTI_SKILL",
                 "CTI_PRIORITY", "CTI_LANG", "CTI_IVR_PATH", "CTI_AGENT", "CTI_TARGET")):
    return [f"{n}=(null)" for n in names]


def local_pair_status(caller_vars):
    """A caller on a Local pair waiting in cti-wait; the other half carries no CTI_* at all."""
    return (b"Response: Success\r\nActionID: ctid-7\r\nEventList: start\r\n"
            b"Message: Channel status will follow\r\n\r\n"
            + status_block("Local/103@callers-00000000;1", "1795360169.0", "callers", "Dial",
                           unset())
            + status_block("Local/103@callers-00000000;2", "1795360169.1", "cti-wait",
                           "MusicOnHold", caller_vars)
            + b"Event: StatusComplete\r\nActionID: ctid-7\r\nEventList: Complete\r\n"
              b"ListItems: 2\r\nItems: 2\r\n\r\n")


class StatusAMI(MarkerAMI):
    def __init__(self, raw):
        super().__init__()
        self.raw = raw

    def send_action(self, action, headers=None):
        if action == "Status":
            self.sent.append(action)
            return defer.succeed(status_result(self.raw))
        return super().send_action(action, headers)


def test_null_variables_of_the_other_half_of_a_local_pair_make_no_phantom_call():
    clock, tracker, agents, acd, connector, resync = world(presence={"1001": {"state": "ready"}})
    ended = Ended()
    tracker.subscribe(ended)
    caller = ["CTI_CALL_ID=cti-1795360169.1", "CTI_ARRIVAL=990.000", "CTI_CUSTOMER_ID=(null)",
              "CTI_TIER=gold", "CTI_SKILL=general", "CTI_PRIORITY=8", "CTI_LANG=zh",
              "CTI_IVR_PATH=vip", "CTI_AGENT=(null)", "CTI_TARGET=(null)"]
    resync(StatusAMI(local_pair_status(caller)))
    assert [c.call_id for c in tracker.calls()] == ["cti-1795360169.1"]
    call = tracker.get("cti-1795360169.1")
    assert call.customer_id is None and call.tier == "gold"
    assert connector.moved == [("cti-1795360169.1", "1001")]      # the real caller is served
    tracker.handle(Message.of({"Event": "Hangup", "Channel": "Local/103@callers-00000000;1"}))
    assert ended.calls == {}                                       # no bogus abandon


def test_a_caller_whose_tier_and_skill_are_null_waits_in_the_lowest_tier():
    clock, tracker, agents, acd, connector, resync = world()
    caller = ["CTI_CALL_ID=cti-1795360169.1", "CTI_ARRIVAL=990.000"] + unset(
        ("CTI_CUSTOMER_ID", "CTI_TIER", "CTI_SKILL", "CTI_PRIORITY", "CTI_LANG",
         "CTI_IVR_PATH", "CTI_AGENT", "CTI_TARGET"))
    resync(StatusAMI(local_pair_status(caller)))
    call = tracker.get("cti-1795360169.1")
    assert (call.tier, call.skill) == (acd.router.config.tiers.names[-1], "general")
    assert acd.router.call_status(call.call_id).value == "waiting"
    assert acd.position(call.call_id) == 1


@pytest.mark.parametrize("tier,skill", [("titanium", "general"), ("gold", "astrology")])
def test_an_unknown_tier_or_skill_on_a_channel_still_queues_the_caller(tier, skill):
    clock, tracker, agents, acd, connector, resync = world()
    caller = ["CTI_CALL_ID=cti-9", "CTI_ARRIVAL=990.000", f"CTI_TIER={tier}",
              f"CTI_SKILL={skill}"]
    resync(StatusAMI(local_pair_status(caller)))
    assert [c.call_id for c in tracker.calls()] == ["cti-9"]
    assert acd.position("cti-9") == 1                    # the router knows it: no phantom


# -- a snapshot older than ctid's own actions ---------------------------------------------------

class LinkConnector(Connector):
    """Records every Redirect; ``up`` False is an AMI link that is down."""

    def __init__(self):
        super().__init__()
        self.up = True

    def ready(self):
        return self.up


def test_an_offer_made_while_the_resync_loops_is_not_withdrawn_by_its_stale_snapshot():
    clock, tracker, agents, acd, _, resync = world(presence={"1001": {"state": "ready"}})
    connector = LinkConnector()
    acd._connector = connector
    resync.reconcile({})
    a = waiting_view("PJSIP/trunk-1", "a", 999.0)
    a.variables["CTI_TIER"] = "standard"
    resync.reconcile({a.name: a})                   # a is offered to 1001; its Redirect is lost
    assert connector.moved == [("a", "1001")]
    connector.up = False                            # the link drops with the Redirect
    b = tracker.register(Call("b", "PJSIP/trunk-2", "u-b", "u-b", "139", tier="platinum",
                              arrival=clock.seconds() - 15))
    tracker.enqueue("b")                            # a platinum caller waits meanwhile
    clock.advance(2)
    connector.up = True
    b_view = waiting_view("PJSIP/trunk-2", "b", b.arrival)
    b_view.variables["CTI_TIER"] = "platinum"
    resync.reconcile({a.name: a, b_view.name: b_view})
    # a is back in line (its Redirect never arrived), 1001 freed and offered b at once:
    # b's snapshot ("waiting") is older than that offer and must not withdraw it.
    assert connector.moved == [("a", "1001"), ("b", "1001")]
    assert tracker.get("b").state is CallState.OFFERED and tracker.get("b").agent_id == "1001"
    assert tracker.get("a").state is CallState.QUEUED


def test_an_agent_whose_call_ended_while_ctid_was_down_gets_the_rest_of_their_wrap_up():
    from cti.services.resync import AnsweredMarker
    old = Call("c5", "PJSIP/trunk-5", "u5", "u5", "139", arrival=900.0)
    for event in (CallEvent.ENQUEUE, CallEvent.OFFER, CallEvent.RING):
        old.machine.fire(event)
    old.agent_id, old.offered_at, old.ring_started = "1002", 950.0, 950.2
    clock, tracker, agents, acd, connector, resync = world(
        journal=[to_entry(old)], presence={"1002": {"state": "ready"}})
    resync.reconcile({}, {"c5": AnsweredMarker("1002", 996.0)})   # ended 4 s ago; wrap-up 10 s
    agent = agents.get("1002")
    assert agent.state is AgentState.AFTER_CALL_WORK
    clock.advance(5.9)
    assert agent.state is AgentState.AFTER_CALL_WORK
    clock.advance(0.2)
    assert agent.state is AgentState.READY


def test_an_offer_made_while_the_status_reply_is_on_its_way_is_not_withdrawn():
    from cti.protocol.ami_lists import ActionResult
    clock, tracker, agents, acd, connector, resync = world(
        presence={"1001": {"state": "not-ready", "reason": "lunch"}})
    resync.reconcile({})
    b = waiting_view("PJSIP/trunk-2", "b", 995.0)
    resync.reconcile({b.name: b})                      # b waits; nobody is ready
    reply = defer.Deferred()

    class SlowAMI(MarkerAMI):
        def send_action(self, action, headers=None):
            if action == "Status":
                self.sent.append(action)
                return reply
            return super().send_action(action, headers)

    done = resync(SlowAMI())
    agents.unpause("1001")                             # b is offered: one Redirect
    assert connector.moved == [("b", "1001")]
    reply.callback(ActionResult(Message.of({"Response": "Success"}), tuple(
        Message.of({"Event": "Status", "Channel": b.name, "Context": "cti-wait",
                    "Uniqueid": b.uniqueid, "Linkedid": b.linkedid, "BridgeID": "",
                    "Variable": f"CTI_CALL_ID={v}"}) for v in ["b"])))
    assert done.called
    assert connector.moved == [("b", "1001")] and tracker.get("b").state is CallState.OFFERED


# -- a caller who hangs up while the snapshot is on its way ---------------------------------------

class SlowStatusAMI(MarkerAMI):
    """Holds the Status reply until the test releases it (events arrive meanwhile)."""

    def __init__(self):
        super().__init__()
        self.reply = defer.Deferred()

    def send_action(self, action, headers=None):
        if action == "Status":
            self.sent.append(action)
            return self.reply
        return super().send_action(action, headers)

    def release(self, *views):
        from cti.protocol.ami_lists import ActionResult
        self.reply.callback(ActionResult(Message.of({"Response": "Success"}), tuple(
            Message.of([("Event", "Status"), ("Channel", v.name), ("Context", v.context),
                        ("Uniqueid", v.uniqueid), ("Linkedid", v.linkedid), ("BridgeID", ""),
                        ("CallerIDNum", v.caller_number)]
                       + [("Variable", f"{k}={val}") for k, val in v.variables.items()])
            for v in views)))


def hangup(view):
    return Message.of({"Event": "Hangup", "Channel": view.name, "Uniqueid": view.uniqueid,
                       "Cause": "16"})


def test_a_caller_who_hangs_up_while_the_status_reply_is_on_its_way_is_not_brought_back():
    clock, tracker, agents, acd, connector, resync = world(
        presence={"1001": {"state": "not-ready", "reason": "lunch"}})
    ended = Ended()
    tracker.subscribe(ended)
    resync.reconcile({})
    b = waiting_view("PJSIP/trunk-2", "b", 995.0)
    resync.reconcile({b.name: b})                      # b waits; nobody is ready
    ami = SlowStatusAMI()
    done = resync(ami)
    tracker.handle(hangup(b))                          # b hangs up: recorded once, abandoned
    assert ended.calls["b"][0] is CallState.ABANDONED
    ami.release(b)                                     # the snapshot predates the hangup
    assert done.called
    assert tracker.get("b") is None and tracker.calls() == []
    agents.unpause("1001")
    assert connector.moved == []                       # nobody is offered a caller gone


def test_after_a_restart_a_caller_gone_during_the_first_resync_is_not_rebuilt():
    clock, tracker, agents, acd, connector, resync = world(presence={"1001": {"state": "ready"}})
    ended = Ended()
    tracker.subscribe(ended)
    b = waiting_view("PJSIP/trunk-2", "b", 995.0)
    ami = SlowStatusAMI()
    done = resync(ami)                                 # ctid just started: it knows nobody
    message = hangup(b)
    tracker.handle(message)
    resync.channel_gone(message)
    ami.release(b)
    assert done.called
    assert tracker.calls() == [] and connector.moved == []
    assert agents.get("1001").state is AgentState.READY


def test_an_unknown_skill_goes_to_the_centres_default_skill_not_a_built_in_one():
    """A centre whose IVR default is "billing" (its agents take billing): a caller rebuilt
    with a skill nobody has joins billing, where an agent can take it."""
    clock = Clock()
    clock.advance(1000)
    tracker = CallTracker(clock.seconds)
    agents = AgentService([Agent("1001", "A", "PJSIP/6001", skills={"billing": 5})], clock)
    connector = Connector()
    acd = ACDService(make_router("service-level", {}, clock.seconds), tracker, agents, connector,
                     default_skill="billing")
    tracker.subscribe(agents)
    tracker.subscribe(acd)
    agents.subscribe(acd)
    resync = Resync(tracker, agents, acd, Presence({"1001": {"state": "ready"}}), clock,
                    Journal(()))
    caller = ["CTI_CALL_ID=cti-9", "CTI_ARRIVAL=990.000", "CTI_TIER=gold", "CTI_SKILL=astrology"]
    resync(StatusAMI(local_pair_status(caller)))
    assert tracker.get("cti-9").skill == "billing"
    assert connector.moved == [("cti-9", "1001")]
