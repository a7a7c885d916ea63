"""Dial's option F, as app_dial does it: when the *caller* hangs up, the answered *callee*
starts its own dialplan at the given place (or the caller's next priority) instead of being
hung up; without F, or with a place that does not exist, the callee is hung up."""
from twisted.internet.task import Clock

from cti.pbxsim.dialplan import Dialplan
from cti.pbxsim.engine import PBX
from cti.pbxsim.engine.callers import place_call
from cti.pbxsim.engine.phones import Phones, PhoneScript

DIALPLAN = """
[in]
exten => f,1,Dial(PJSIP/6001,10,F(after^s^1))
 same => n,UserEvent(CallerAfterDial)
exten => fnext,1,Dial(PJSIP/6001,10,F)
 same => n,UserEvent(NextPriority,Who: ${CHANNEL})
exten => plain,1,Dial(PJSIP/6001,10)
 same => n,UserEvent(CallerAfterDial)
exten => nowhere,1,Dial(PJSIP/6001,10,F(after^s^label-that-is-not))

[after]
exten => s,1,UserEvent(CalleeGoesOn,Who: ${CHANNEL})
 same => n,Hangup()
"""


def run(exten: str):
    clock = Clock()
    clock.advance(1_795_360_000)
    phones = Phones.of({"6001": PhoneScript(ring_delay=0.5, talk_time=None)})
    pbx = PBX(Dialplan.from_text(DIALPLAN), reactor=clock, seed=1, phones=phones, event_latency=0)
    events = []
    pbx.subscribe(events.append)
    handle = place_call(pbx, "13800000001", "in", exten, talk=2.0)
    for _ in range(100):
        clock.advance(0.1)
    return pbx, events, handle


def user_events(events):
    return [(m["UserEvent"], (m.get("Who") or "")[:11]) for m in events if m.name == "UserEvent"]


def test_f_with_a_place_runs_the_callee_there_after_the_caller_hangs_up():
    pbx, events, handle = run("f")
    assert handle.hung_up_talking
    assert user_events(events) == [("CalleeGoesOn", "PJSIP/6001-")]
    assert pbx.channels() == []                        # the callee hung up there, in the end


def test_f_alone_runs_the_callee_at_the_callers_next_priority():
    pbx, events, handle = run("fnext")
    assert user_events(events) == [("NextPriority", "PJSIP/6001-")]


def test_without_f_or_with_no_such_place_the_callee_is_hung_up():
    for exten in ("plain", "nowhere"):
        pbx, events, handle = run(exten)
        assert user_events(events) == [], exten
        assert pbx.channels() == [], exten
