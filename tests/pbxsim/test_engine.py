"""The engine's facade and applications, on small dialplans and a task.Clock."""
from __future__ import annotations

import pytest
from twisted.internet.task import Clock

from cti.pbxsim.dialplan import Dialplan
from cti.pbxsim.engine import PBX, NoSuchChannel
from cti.pbxsim.engine.phones import Phones, PhoneScript

DIALPLAN = """
[globals]
GREETING = hello

[agents]
exten => _1XXX,1,Wait(1)
 same => n,Answer()
 same => n,Wait(5)
 same => n,Hangup()
exten => _3XXX,1,Ringing()
 same => n,Wait(60)
exten => _4XXX,1,Busy(10)

[callers]
exten => 100,1,Answer()
 same => n,Wait(60)
 same => n,Hangup()

[test]
exten => s,1,NoOp(start ${GREETING})
 same => n,Set(X=${CALLERID(num)}-${EXTEN})
 same => n,MixMonitor(rec-${UNIQUEID}.wav,b)
 same => n,MixMonitor(rec-${UNIQUEID}.wav,b)
 same => n,Dial(${TARGET},3)
 same => n,NoOp(DIALSTATUS=${DIALSTATUS})
 same => n,Hangup()
exten => g,1,Dial(Local/1001@agents,10,g)
 same => n,UserEvent(AfterDial,Status: ${DIALSTATUS})
 same => n,Hangup()
exten => nog,1,Dial(Local/1001@agents,10)
 same => n,UserEvent(NeverHere)
exten => moh,1,MusicOnHold(default,30)
 same => n,UserEvent(MohDone)
 same => n,Hangup()
exten => park,1,UserEvent(Parked)
 same => n,Wait(100)
exten => bad,1,NoSuchApp(x)
 same => n,UserEvent(NeverHere)
exten => pj,1,Dial(PJSIP/6001,5)
 same => n,UserEvent(AfterPjsip,Status: ${DIALSTATUS})
exten => h,1,UserEvent(HExten,Cause: ${HANGUPCAUSE})
"""


class World:
    def __init__(self, **kwargs):
        self.clock = Clock()
        self.clock.advance(1_795_360_000)
        # the engine's causal order, at once: these tests read the events right after each
        # step (the interleaving AMI sees is tested in test_engine_interleave.py)
        kwargs.setdefault("event_latency", 0)
        self.pbx = PBX(Dialplan.from_text(DIALPLAN), reactor=self.clock, seed=1, **kwargs)
        self.events = []
        self.pbx.subscribe(self.events.append)

    def run(self, seconds: float) -> None:
        for _ in range(int(seconds * 10)):
            self.clock.advance(0.1)

    def names(self, channel_prefix: str | None = None) -> list[str]:
        return [m.name for m in self.events
                if channel_prefix is None or (m.get("Channel") or "").startswith(channel_prefix)]

    def user_events(self) -> list[tuple[str, str | None]]:
        return [(m["UserEvent"], m.get("Status") or m.get("Cause")) for m in self.events
                if m.name == "UserEvent"]

    def call(self, exten: str, **variables) -> str:
        results = []
        self.pbx.originate("Local/100@callers", context="test", exten=exten, priority=1,
                           callerid='"Tester" <5550001>', variables=[f"{k}={v}" for k, v in variables.items()]
                           ).addCallback(results.append)
        self.run(0.1)
        assert results and results[0].success
        return results[0].channel


def test_originate_gives_local_pair_with_linkedid_of_the_first_half():
    world = World(channel_seq={"Local": 10}, uniqueid_seq=40)
    name = world.call("park")
    assert name == "Local/100@callers-0000000a;1"
    first, second = [m for m in world.events if m.name == "Newchannel"]
    assert first["Uniqueid"] == "1795360000.40" and first["Linkedid"] == "1795360000.40"
    assert second["Channel"].endswith(";2") and second["Linkedid"] == "1795360000.40"
    assert (first["ChannelStateDesc"], second["ChannelStateDesc"]) == ("Down", "Ring")
    response = next(m for m in world.events if m.name == "OriginateResponse")
    assert (response["Response"], response["Reason"], response["CallerIDNum"]) == ("Success", "4", "5550001")


def test_substitution_variables_functions_and_globals():
    world = World()
    name = world.call("park")
    chan = world.pbx.find_channel(name)
    assert world.pbx.getvar(chan, "CALLERID(all)") == '"Tester" <5550001>'
    assert world.pbx.getvar(None, "GREETING") == "hello"
    assert world.pbx.getvar(chan, "NOT_SET") is None
    world.pbx.setvar(name, "FOO", "bar")
    assert world.pbx.getvar(name, "FOO") == "bar"
    with pytest.raises(NoSuchChannel):
        world.pbx.getvar("Local/nope-00000000;1", "FOO")


def test_dial_answered_without_g_hangs_the_caller_up_after_the_callee():
    world = World()
    world.call("nog")
    world.run(10)
    assert "NeverHere" not in [u for u, _ in world.user_events()]
    ends = [m["DialStatus"] for m in world.events if m.name == "DialEnd" and m.get("Channel")]
    assert ends == ["ANSWER"]
    assert world.pbx.channels() == []
    assert ("HExten", None) not in world.user_events()          # [test] h runs, with a cause
    assert ("HExten", "16") in world.user_events()


def test_dial_with_g_goes_on_after_the_callee_hangs_up():
    world = World()
    world.call("g")
    world.run(10)
    assert ("AfterDial", "ANSWER") in world.user_events()
    kinds = world.names()
    assert kinds.index("BridgeCreate") < kinds.index("BridgeDestroy")
    assert world.pbx.channels() == []


@pytest.mark.parametrize("target,status", [("Local/3001@agents", "NOANSWER"), ("Local/4001@agents", "BUSY")])
def test_dial_no_answer_and_busy_set_dialstatus_and_continue(target, status):
    world = World()
    world.call("s", TARGET=target)
    world.run(5)
    noop = [m["AppData"] for m in world.events if m.name == "Newexten" and m["Application"] == "NoOp"]
    assert f"DIALSTATUS={status}" in noop
    cdrs = [m for m in world.events if m.name == "Cdr" and m["LastApplication"] == "Dial"]
    assert cdrs and cdrs[0]["Disposition"] == {"NOANSWER": "NO ANSWER", "BUSY": "BUSY"}[status]


def test_mixmonitor_twice_gives_two_starts_full_path_and_no_stop_on_hangup():
    world = World()
    name = world.call("s", TARGET="Local/4001@agents")
    world.run(5)
    starts = [m for m in world.events if m.name == "MixMonitorStart"]
    assert len(starts) == 2 and not [m for m in world.events if m.name == "MixMonitorStop"]
    files = [m["Value"] for m in world.events if m.name == "VarSet" and m["Variable"] == "MIXMONITOR_FILENAME"]
    uid = starts[0]["Uniqueid"]
    assert files == [f"/var/spool/asterisk/monitor/rec-{uid}.wav"] * 2
    assert name.endswith(";1")


def test_stop_mixmonitor_action_only_when_running():
    world = World()
    name = world.call("park")
    assert world.pbx.stop_mixmonitor(name) is False
    world.pbx.mixmonitor(name, "x.wav")
    assert world.pbx.stop_mixmonitor(name) is True
    assert world.names()[-1] == "MixMonitorStop"


def test_redirect_from_music_on_hold_stops_it_and_reports_priority_one():
    world = World()
    name = world.call("moh")
    world.run(1)
    world.pbx.redirect(name, "test", "park", 1)
    world.run(0.1)
    own = [(m.name, m.get("Exten"), m.get("Priority"), m.get("Application"))
           for m in world.events if m.get("Channel") == name]
    stop = own.index(("MusicOnHoldStop", "moh", "1", None))
    assert own[stop + 1:stop + 3] == [("Newexten", "park", "1", "UserEvent"), ("UserEvent", "park", "1", None)]
    assert "MohDone" not in [u for u, _ in world.user_events()]


def test_redirect_out_of_a_bridge_reports_the_old_application_before_bridge_leave():
    world = World()
    name = world.call("g")
    world.run(1.5)                                   # agent answered after 1 s
    world.pbx.redirect(name, "test", "park", 1)
    world.run(0.1)
    own = [m for m in world.events if m.get("Channel") == name]
    index = next(i for i, m in enumerate(own) if m.name == "Newexten" and m["Exten"] == "park")
    assert (own[index]["Application"], own[index]["Priority"]) == ("Dial", "1")
    assert own[index + 1].name == "VarSet" and own[index + 1]["Variable"] == "BRIDGEPEER"
    assert any(m.name == "BridgeLeave" for m in own[index:])
    later = [m for m in own[index + 1:] if m.name == "Newexten"]      # priority 1 runs silently
    assert (later[0]["Priority"], later[0]["Application"]) == ("2", "Wait")
    assert ("Parked", None) in world.user_events()


def test_ami_hangup_runs_h_and_publishes_soft_hangup_once():
    world = World()
    name = world.call("park")
    world.pbx.hangup(name, 16)
    world.run(0.1)
    own = [m.name for m in world.events if m.get("Channel") == name]
    assert own.count("SoftHangupRequest") == 1
    assert own[-1] == "Hangup" and ("HExten", "16") in world.user_events()
    with pytest.raises(NoSuchChannel):
        world.pbx.hangup(name)


def test_unknown_application_hangs_up_without_newexten():
    world = World()
    name = world.call("bad")
    world.run(0.1)
    assert not [m for m in world.events if m.get("Application") == "NoSuchApp"]
    assert world.pbx.find_channel(name) is None
    assert "NeverHere" not in [u for u, _ in world.user_events()]


@pytest.mark.parametrize("target,reason", [("Local/4001@agents", "5"), ("Local/3001@agents", "3")])
def test_originate_failures_report_reason_and_unknown_ids(target, reason):
    world = World()
    results = []
    world.pbx.originate(target, context="test", exten="park", priority=1, timeout_ms=2000,
                        action_id="a1").addCallback(results.append)
    world.run(3)
    response = next(m for m in world.events if m.name == "OriginateResponse")
    assert (response["ActionID"], response["Response"], response["Reason"]) == ("a1", "Failure", reason)
    assert response["Uniqueid"] == "<unknown>" and results[0].success is False
    assert world.pbx.channels() == []


def test_pjsip_phone_rings_answers_and_hangs_up_by_script():
    phones = Phones.of({"6001": PhoneScript(ring_delay=1, talk_time=2)})
    world = World(phones=phones)
    world.call("pj")
    world.run(5)
    pj = [m for m in world.events if (m.get("Channel") or "").startswith("PJSIP/6001-")]
    assert [m.name for m in pj][:3] == ["Newchannel", "VarSet", "Newexten"]
    assert (pj[0]["Context"], pj[0]["Exten"]) == ("agents", "s")
    states = [m["ChannelStateDesc"] for m in pj if m.name == "Newstate"]
    assert states == ["Ringing", "Up"]
    assert ("AfterPjsip", "ANSWER") not in world.user_events()       # no g: caller hung up
    assert world.pbx.channels() == []


def test_unregistered_phone_is_chanunavail():
    phones = Phones.of({"6001": PhoneScript(registered=False)})
    world = World(phones=phones)
    world.call("pj")
    world.run(1)
    assert ("AfterPjsip", "CHANUNAVAIL") in world.user_events()


def test_command_output():
    world = World()
    ok, lines = world.pbx.command("core show version")
    assert ok and lines[0].startswith("Asterisk 22.10.1")
    ok, lines = world.pbx.command("no such cli command")
    assert not ok and lines == ["No such command 'no such cli command' (type 'core show help no such' for other possible commands)"]


def test_dial_options_with_arguments():
    from cti.pbxsim.engine.apps.dial import _has_option, _option_argument
    assert _option_argument("tU(cti-record^cti-1.2)g", "U") == "cti-record^cti-1.2"
    assert _option_argument("t", "U") is None
    assert _has_option("tU(cti-record^gold)", "g") is False     # a letter inside an argument
    assert _has_option("U(sub)g", "g") is True
