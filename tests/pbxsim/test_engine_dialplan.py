"""ctid's own dialplan (``dialplan/extensions_cti.conf``) executed by the engine."""
from __future__ import annotations

from pathlib import Path

from twisted.internet import defer
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from cti.pbxsim.dialplan import Dialplan
from cti.pbxsim.engine import PBX

ROOT = Path(__file__).resolve().parents[2]
AGENTS = """
[agents]
exten => _2XXX,1,Wait(1)
 same => n,Answer()
 same => n,Wait(8)
 same => n,Hangup()
exten => _3XXX,1,Ringing()
 same => n,Wait(60)
"""


class CtidDialplan:
    """ctid's contexts plus simulated agents; FastAGI answered by a server that sets the
    variables ctid would and returns at once (or refuses the connection)."""

    def __init__(self, ctid_up: bool = True, cut_inbound: int = 0):
        self.cut_inbound = cut_inbound      # inbound sessions to cut before their last SET
        self.clock = Clock()
        text = (ROOT / "dialplan" / "extensions_cti.conf").read_text() + AGENTS
        self.pbx = PBX(Dialplan.from_text(text), reactor=self.clock, seed=11,
                       agi_connector=self.connect,
                       queues={"cti-fallback": {"members": ["Local/2001@agents"], "timeout": 15}})
        self.ctid_up = ctid_up
        self.scripts = []
        self.events = []
        self.pbx.subscribe(self.events.append)

    def connect(self, host, port, proto):
        if not self.ctid_up:
            return defer.fail(ConnectionRefusedError())
        proto.makeConnection(StringTransport())
        self.scripts.append(proto.session.script)
        if proto.session.script == "inbound":
            proto.dataReceived(b'SET VARIABLE CTI_SKILL "billing"\n')
            if self.cut_inbound:            # ctid stopped mid-route: the connection just closes
                self.cut_inbound -= 1
            else:
                proto.dataReceived(b'SET VARIABLE CTI_ARRIVAL "1796300000.000"\n')
        self.clock.callLater(0, proto.readConnectionLost)
        return defer.succeed(proto)

    def run(self, seconds):
        for _ in range(int(seconds * 10)):
            self.clock.advance(0.1)

    def newexten(self, name):
        return [(m["Context"], m["Exten"], m["Priority"], m["Application"]) for m in self.events
                if m.name == "Newexten" and m["Channel"] == name]


def test_inbound_call_is_tagged_and_waits_then_rona_keeps_one_recording():
    world = CtidDialplan()
    call = world.pbx.place_call('"Caller" <5551000>', "cti-inbound", "5000")
    world.run(1)
    chan = world.pbx.find_channel(call.name)
    assert chan.variables["CTI_CALL_ID"] == f"cti-{chan.uniqueid}"
    assert chan.variables["CTI_SKILL"] == "billing" and chan.variables["CTI_DNIS"] == "5000"
    assert world.scripts == ["inbound"]
    waits = [m for m in world.events if m.name == "UserEvent" and m["UserEvent"] == "CTIWait"]
    assert waits and waits[0]["CallID"] == chan.variables["CTI_CALL_ID"]

    world.pbx.setvar(call.name, "CTI_TARGET", "Local/3001@agents")
    world.pbx.redirect(call.name, "cti-connect", "s", 1)
    world.run(16)                                         # RONA after 15 s
    assert ("cti-wait", "s", "1", "UserEvent") in world.newexten(call.name)[-4:]
    world.pbx.setvar(call.name, "CTI_TARGET", "Local/2001@agents")
    world.pbx.redirect(call.name, "cti-connect", "s", 1)
    world.run(12)
    assert len([m for m in world.events if m.name == "MixMonitorStart"]) == 1
    statuses = [m["DialStatus"] for m in world.events if m.name == "DialEnd" and m.get("Channel") == call.name]
    assert statuses == ["NOANSWER", "ANSWER"]
    assert world.pbx.channels() == [] and call.ended.called
    # The answered call left its AstDB marker: no CTI_AGENT was set here, and the end (sent at
    # 17 s, answered 1 s later, the agent hung up after 8 s of talk).
    call_id = chan.variables["CTI_CALL_ID"]
    assert world.pbx.database == {("cti_answered", call_id): ":26"}


def test_an_inbound_session_cut_before_its_last_variable_is_tried_again_not_queued():
    """A FastAGI server that closes the connection ends AGI() with AGISTATUS=SUCCESS: only
    CTI_ARRIVAL, the route's last variable, tells a finished route from a cut one."""
    world = CtidDialplan(cut_inbound=1)
    call = world.pbx.place_call('"Caller" <5551000>', "cti-inbound", "5000")
    world.run(4)
    assert world.scripts == ["inbound", "inbound"]               # retried after the music
    waits = [m for m in world.events if m.name == "UserEvent" and m["UserEvent"] == "CTIWait"]
    assert len(waits) == 1
    assert world.pbx.find_channel(call.name).variables["CTI_ARRIVAL"] == "1796300000.000"


def connect_to_agent(world, target, agent="1001"):
    call = world.pbx.place_call('"Caller" <5551000>', "cti-inbound", "5000")
    world.run(1)
    world.pbx.setvar(call.name, "CTI_TARGET", target)
    world.pbx.setvar(call.name, "CTI_AGENT", agent)
    world.pbx.redirect(call.name, "cti-connect", "s", 1)
    return call, world.pbx.find_channel(call.name).variables["CTI_CALL_ID"]


def test_caller_hanging_up_while_talking_leaves_the_answered_marker():
    world = CtidDialplan()
    call, call_id = connect_to_agent(world, "Local/2001@agents")
    world.run(3)                                          # answered after 1 s, talking
    world.pbx.hangup(call.name, 16)
    world.run(1)
    assert world.pbx.database == {("cti_answered", call_id): f"1001:{int(world.clock.seconds())}"}


def test_no_marker_for_a_caller_who_hangs_up_while_it_rings_or_waits():
    world = CtidDialplan()
    ringing, _ = connect_to_agent(world, "Local/3001@agents")
    world.run(2)
    world.pbx.hangup(ringing.name, 16)                    # DIALSTATUS=CANCEL in the h extension
    waiting = world.pbx.place_call('"Caller" <5551001>', "cti-inbound", "5000")
    world.run(2)
    world.pbx.hangup(waiting.name, 16)                    # never reached cti-connect
    world.run(1)
    assert world.pbx.channels() == [] and world.pbx.database == {}


def test_ctid_unreachable_falls_back_to_the_queue():
    world = CtidDialplan(ctid_up=False)
    call = world.pbx.place_call('"Caller" <5551000>', "cti-inbound", "5000")
    world.run(3)
    steps = world.newexten(call.name)
    assert not any(step[0] == "cti-fallback" for step in steps)   # still retrying ctid
    world.run(6)
    steps = world.newexten(call.name)
    assert sum(1 for step in steps if step[:2] == ("cti-inbound", "s") and step[3] == "AGI") == 4
    assert ("cti-fallback", "s", "3", "Queue") in steps
    assert call.connected_at is not None
    world.run(10)
    assert world.pbx.channels() == []


def test_the_recording_starts_when_the_agent_answers_on_the_agents_channel():
    world = CtidDialplan()
    call, call_id = connect_to_agent(world, "Local/2001@agents")
    world.run(3)                                          # answered after 1 s, talking
    world.pbx.flush_events()
    starts = [m for m in world.events if m.name == "MixMonitorStart"]
    assert len(starts) == 1 and starts[0]["Channel"].startswith("Local/2001@agents-")
    leg = starts[0]["Channel"]
    files = [m["Value"] for m in world.events if m.name == "VarSet"
             and m["Variable"] == "MIXMONITOR_FILENAME"]
    assert files == [f"/var/spool/asterisk/monitor/{call_id}.wav"]
    own = [m.name for m in world.events if m.get("Channel") == leg]
    assert own.index("MixMonitorStart") < own.index("BridgeEnter")
    steps = [(m["Context"], m["Application"]) for m in world.events
             if m.name == "Newexten" and m["Channel"] == leg]
    assert ("cti-record", "MixMonitor") in steps and ("cti-record", "Return") in steps
    dial_end = next(m for m in world.events if m.name == "DialEnd" and m["Channel"] == call.name)
    assert dial_end["DialStatus"] == "ANSWER"


def test_no_recording_for_a_caller_who_hangs_up_while_the_agent_rings_or_on_rona():
    world = CtidDialplan()
    ringing, _ = connect_to_agent(world, "Local/3001@agents")
    world.run(16)                                         # RONA: back in cti-wait
    world.pbx.setvar(ringing.name, "CTI_TARGET", "Local/3001@agents")
    world.pbx.redirect(ringing.name, "cti-connect", "s", 1)
    world.run(2)
    world.pbx.hangup(ringing.name, 16)                    # gives up while it rings again
    world.run(1)
    world.pbx.flush_events()
    assert not [m for m in world.events if m.name == "MixMonitorStart"
                or (m.name == "VarSet" and m["Variable"] == "MIXMONITOR_FILENAME")]
    assert world.pbx.channels() == []
