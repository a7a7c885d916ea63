"""FastAGI sessions that lie: a ``wait`` session for a caller ctid does not know is believed only
when the PBX bears it out, and a call the ``inbound`` route registered that never reaches the
ACD is dropped once its channel is found not to exist."""
from twisted.internet import defer
from twisted.internet.task import Clock

from cti.domain.call_state import CallEvent, CallState
from cti.domain.routing import make_router
from cti.net.ami_errors import AMIActionError, AMINotConnected, AMITimeout
from cti.protocol.ami_message import Message
from cti.services.acd import ACDService
from cti.services.agents import Agent, AgentService
from cti.services.agi_routes import wait
from cti.services.calls import Call, CallTracker
from cti.services.resync import ChannelLookup, ChannelView, UnqueuedCalls


class Session:
    """A FastAGI session as a client claims it: channel, uniqueid, args, variables."""

    def __init__(self, call_id, channel="PJSIP/trunk-00000007", uniqueid="1795360169.7",
                 variables=None):
        self.args = [call_id]
        self.channel, self.uniqueid = channel, uniqueid
        self.env = {"agi_callerid": "13900000000"}
        self.variables = variables or {"CTI_TIER": "platinum", "CTI_SKILL": "general",
                                       "CTI_ARRIVAL": "400.0", "CTI_CUSTOMER_ID": "77"}
        self.played = []

    async def get_variable(self, name):
        return self.variables.get(name)

    async def stream_file(self, name, escape_digits=""):
        self.played.append(name)


class Observed:
    def __init__(self):
        self.changes = []

    def call_changed(self, change):
        self.changes.append((change.kind, change.call.call_id))


def world():
    clock = Clock()
    clock.advance(1000)
    tracker = CallTracker(clock.seconds)
    agents = AgentService([Agent("1001", "A", "PJSIP/6001")], clock)
    acd = ACDService(make_router("service-level", {}, clock.seconds), tracker, agents,
                     connector=type("C", (), {"ready": lambda self: False})())
    tracker.subscribe(acd)
    observed = Observed()
    tracker.subscribe(observed)
    return clock, tracker, acd, observed


def view(channel="PJSIP/trunk-00000007", uniqueid="1795360169.7", context="cti-wait",
         **variables):
    return ChannelView(channel, context, "AGI", False, uniqueid, uniqueid, "13800000001",
                       {"CTI_CALL_ID": "cti-1795360169.7", "CTI_ARRIVAL": "990.000",
                        "CTI_TIER": "standard", "CTI_SKILL": "general", **variables})


def run(route, session):
    d = defer.ensureDeferred(route(session))
    assert d.called, "the route waited on something that never came"
    return d.result if not isinstance(d.result, Exception) else d.result


def lookup_answering(answer):
    asked = []

    def lookup(channel):
        asked.append(channel)
        if isinstance(answer, Exception):
            return defer.fail(answer)
        return defer.succeed(answer)
    lookup.asked = asked
    return lookup


def test_a_wait_session_for_a_channel_the_pbx_does_not_have_adopts_nobody():
    clock, tracker, acd, observed = world()
    lookup = lookup_answering(None)
    run(wait.make_route(tracker=tracker, acd=acd, clock=clock, lookup=lookup),
        Session("cti-1795360169.7"))
    assert tracker.calls() == [] and observed.changes == []
    assert lookup.asked == ["PJSIP/trunk-00000007"]


def test_a_wait_session_whose_channel_is_someone_else_adopts_nobody():
    clock, tracker, acd, observed = world()
    for answer in (view(uniqueid="1795360169.9"), view(context="cti-inbound"),
                   view(CTI_CALL_ID="cti-other"), view(CTI_CALL_ID="(null)")):
        run(wait.make_route(tracker=tracker, acd=acd, clock=clock,
                            lookup=lookup_answering(answer)), Session("cti-1795360169.7"))
        assert tracker.calls() == []


def test_no_adoption_while_the_pbx_cannot_be_asked():
    clock, tracker, acd, observed = world()
    for error in (AMITimeout("Status", "ctid-9", 2.0), AMINotConnected("down")):
        run(wait.make_route(tracker=tracker, acd=acd, clock=clock,
                            lookup=lookup_answering(error)), Session("cti-1795360169.7"))
    assert tracker.calls() == []


def test_an_adopted_caller_is_built_from_what_the_pbx_says_not_from_the_session():
    clock, tracker, acd, observed = world()
    run(wait.make_route(tracker=tracker, acd=acd, clock=clock, lookup=lookup_answering(view())),
        Session("cti-1795360169.7"))
    call = tracker.get("cti-1795360169.7")
    assert call is not None and call.state is CallState.QUEUED
    assert (call.tier, call.arrival, call.customer_id) == ("standard", 990.0, None)
    assert acd.position(call.call_id) == 1


def test_a_wait_session_claiming_a_known_call_from_another_channel_is_ignored():
    clock, tracker, acd, observed = world()
    call = tracker.register(Call("c1", "PJSIP/trunk-1", "u1", "u1", "138"))
    lookup = lookup_answering(None)
    run(wait.make_route(tracker=tracker, acd=acd, clock=clock, lookup=lookup),
        Session("c1", channel="PJSIP/trunk-1", uniqueid="forged"))
    assert call.state is CallState.IVR and observed.changes == [] and lookup.asked == []


class StatusAMI:
    """Answers ``Status`` for one channel as Asterisk does, or 'No such channel'."""

    def __init__(self, channels, connected=True):
        self.channels, self.connected, self.asked = channels, connected, []

    def send_action(self, action, headers=None, timeout=None):
        from cti.protocol.ami_lists import ActionResult
        self.asked.append((action, dict(headers or {}), timeout))
        if not self.connected:
            return defer.fail(AMINotConnected("AMI not connected"))
        name = headers["Channel"]
        if name not in self.channels:
            return defer.fail(AMIActionError("No such channel",
                                             Message.of({"Response": "Error"})))
        item = Message.of({"Event": "Status", "Channel": name, "Context": "cti-inbound",
                           "Uniqueid": self.channels[name], "Linkedid": self.channels[name],
                           "BridgeID": "", "Application": "AGI"})
        return defer.succeed(ActionResult(Message.of({"Response": "Success"}), (item,)))


def test_calls_that_never_reach_the_acd_are_dropped_once_their_channel_is_gone():
    clock, tracker, acd, observed = world()
    ghost = tracker.register(Call("ghost", "PJSIP/trunk-00000042", "u42", "u42", "13900000000"))
    caller = tracker.register(Call("slow", "PJSIP/trunk-00000043", "u43", "u43", "138"))
    reused = tracker.register(Call("reused", "PJSIP/trunk-00000044", "u44", "u44", "138"))
    ami = StatusAMI({"PJSIP/trunk-00000043": "u43", "PJSIP/trunk-00000044": "u99"})
    sweep = UnqueuedCalls(tracker, ChannelLookup(ami, timeout=2.0), clock, after=30.0)
    clock.advance(10)
    sweep.sweep()
    assert ami.asked == [] and len(tracker.calls()) == 3      # too young to be checked
    clock.advance(25)
    sweep.sweep()
    assert len(tracker.calls()) == 3 and sweep.dropped == 0  # missing once: looked at again
    clock.advance(15)
    sweep.sweep()
    assert [c.call_id for c in tracker.calls()] == ["slow"]  # a long IVR is no ghost
    assert observed.changes == [] and sweep.dropped == 2     # nothing recorded of a ghost
    assert ami.asked[0][2] == 2.0                            # the PBX's answer is awaited briefly
    assert tracker.by_channel("PJSIP/trunk-00000042") is None
    assert caller.state is CallState.IVR and ghost.state is CallState.IVR and reused


def test_nothing_is_dropped_while_the_pbx_cannot_be_asked():
    clock, tracker, acd, observed = world()
    tracker.register(Call("c1", "PJSIP/trunk-1", "u1", "u1", "138"))
    sweep = UnqueuedCalls(tracker, ChannelLookup(StatusAMI({}, connected=False)), clock,
                          after=30.0)
    clock.advance(60)
    sweep.sweep()
    assert [c.call_id for c in tracker.calls()] == ["c1"]


def test_a_call_that_reached_the_queue_is_not_checked():
    clock, tracker, acd, observed = world()
    tracker.register(Call("c1", "PJSIP/trunk-1", "u1", "u1", "138", arrival=1000.0))
    tracker.enqueue("c1")
    ami = StatusAMI({})
    clock.advance(60)
    UnqueuedCalls(tracker, ChannelLookup(ami), clock, after=30.0).sweep()
    assert ami.asked == [] and tracker.get("c1") is not None


def test_a_caller_whose_hangup_arrives_after_the_status_reply_is_recorded():
    # Asterisk answers Status from the session's thread, but publishes Hangup through stasis:
    # "No such channel" can come first. The caller who hung up in the IVR is still recorded.
    clock, tracker, acd, observed = world()
    tracker.register(Call("c1", "PJSIP/trunk-1", "u1", "u1", "138"))
    sweep = UnqueuedCalls(tracker, ChannelLookup(StatusAMI({})), clock, after=30.0)
    clock.advance(40)
    sweep.sweep()                                    # the channel has just gone
    tracker.handle(Message.of({"Event": "Hangup", "Channel": "PJSIP/trunk-1",
                               "Uniqueid": "u1", "Cause": "16"}))
    assert (CallEvent.HANGUP, "c1") in observed.changes
    assert sweep.dropped == 0 and tracker.get("c1") is None


def test_an_unexpected_failure_of_a_check_is_logged_not_swallowed(caplog):
    import logging

    def broken(channel):
        return defer.fail(RuntimeError("parser fell over"))
    clock, tracker, acd, observed = world()
    tracker.register(Call("c1", "PJSIP/trunk-1", "u1", "u1", "138"))
    sweep = UnqueuedCalls(tracker, broken, clock, after=30.0)
    clock.advance(40)
    with caplog.at_level(logging.ERROR, logger="cti.services.resync"):
        d = sweep.sweep()
    assert d.called
    assert "c1" in caplog.text and "parser fell over" in caplog.text
    assert tracker.get("c1") is not None                 # nothing dropped on an error
