"""Scripted IVR journeys through a small self-service menu: some callers finish in
self-service, some reach an agent, some hang up mid-menu; arrivals mix journeys by weight."""
from __future__ import annotations

from collections import Counter

from twisted.internet.task import Clock

from cti.pbxsim.dialplan import Dialplan
from cti.pbxsim.engine import PBX
from cti.pbxsim.engine.callers import CallerArrivals, Tier
from cti.pbxsim.engine.journeys import (BargeIn, HangUp, HearPrompt, Journey, Keys, Pause,
                                        Speak, WaitForAgent)
from cti.pbxsim.engine.sounds import DEFAULT_SOUNDS

DIALPLAN = """
[agents]
exten => _2XXX,1,Wait(1)
 same => n,Answer()
 same => n,Wait(600)
[ivr]
exten => s,1,Answer()
 same => n,Background(main-menu)
 same => n,WaitExten(5)
exten => 1,1,Read(ACCT,enter-account,6,,1,5)
 same => n,GotoIf($["${READSTATUS}" = "OK"]?ok)
 same => n,Hangup()
 same => n(ok),Playback(your-balance)
 same => n,SayNumber(128)
 same => n,Playback(goodbye)
 same => n,Hangup()
exten => 3,1,Record(/tmp/complaint-%d.wav,3,60)
 same => n,Playback(goodbye)
 same => n,Hangup()
exten => 0,1,Queue(support,t,,,120)
exten => t,1,Goto(s,1)
exten => i,1,Goto(s,1)
"""
SOUNDS = {**DEFAULT_SOUNDS, "main-menu": 40000, "enter-account": 16000, "your-balance": 12000,
          "goodbye": 8000}

SELF_SERVICE = Journey("bill", [HearPrompt("main-menu"), BargeIn("1", after=1.0),
                                HearPrompt("enter-account", to_end=True), Keys("123456")])
MESSAGE = Journey("message", [HearPrompt("main-menu", to_end=True), Keys("3"), Speak(6.0)])
AGENT = Journey("agent", [BargeIn("0", after=2.0), WaitForAgent(patience=60, talk=20)])
QUITTER = Journey("quitter", [HearPrompt("main-menu"), Pause(2.0), HangUp()])


def world():
    clock = Clock()
    pbx = PBX(Dialplan.from_text(DIALPLAN), reactor=clock, seed=9, sounds=SOUNDS, event_latency=0,
              queues={"support": {"members": ["Local/2001@agents", "Local/2002@agents"], "timeout": 15}})
    events = []
    pbx.subscribe(events.append)
    return clock, pbx, events


def run(clock, seconds):
    for _ in range(int(seconds * 10)):
        clock.advance(0.1)


def test_each_journey_ends_the_way_it_was_scripted():
    clock, pbx, events = world()
    handles = {j.name: pbx.place_call("1380000000%d" % i, "ivr", "s", journey=j)
               for i, j in enumerate([SELF_SERVICE, MESSAGE, AGENT, QUITTER])}
    run(clock, 120)
    assert {name: h.outcome for name, h in handles.items()} == {
        "bill": "self-service", "message": "self-service", "agent": "agent", "quitter": "abandoned"}
    assert handles["bill"].runner.step_index == len(SELF_SERVICE.steps)
    said = [m["Value"] for m in events if m.name == "VarSet" and m["Variable"] == "ACCT"]
    assert said == ["123456"]
    assert list(pbx.recordings) == ["/tmp/complaint-0"]
    assert handles["agent"].hung_up_talking and handles["agent"].ended_at - handles["agent"].connected_at >= 19.9
    assert handles["quitter"].ended_at < 3.0


def test_a_caller_out_of_patience_for_an_agent_abandons():
    clock, pbx, _ = world()
    pbx.queues["support"]["members"] = []
    handle = pbx.place_call("13800000009", "ivr", "s",
                            journey=Journey("impatient", [BargeIn("0", after=0.5), WaitForAgent(patience=10)]))
    run(clock, 30)
    assert handle.outcome == "abandoned" and handle.ended_at < 12.0


def test_arrivals_draw_journeys_by_weight_reproducibly():
    def draw():
        clock, pbx, _ = world()
        mix = [(SELF_SERVICE, 5), (MESSAGE, 1), (AGENT, 3), (QUITTER, 1)]
        arrivals = CallerArrivals(pbx, [Tier(0.2, ["13900000001", "13900000002"], "ivr", "s", journeys=mix)])
        arrivals.start()
        run(clock, 600)
        arrivals.stop()
        run(clock, 200)
        return [c.journey.name for c in arrivals.calls], arrivals.outcomes()
    names, outcomes = draw()
    assert (names, outcomes) == draw()
    counts = Counter(names)
    assert counts["bill"] > counts["quitter"] and counts["agent"] > counts["message"]
    assert set(outcomes) == {"self-service", "agent", "abandoned"}
    assert sum(outcomes.values()) == len(names)


def test_hotline_mix_gives_self_service_agents_and_hang_ups():
    from cti.pbxsim.engine.journeys import hotline_mix

    clock, pbx, _ = world()
    arrivals = CallerArrivals(pbx, [Tier(0.1, ["13900000003"], "ivr", "s", journeys=hotline_mix(vip=False)),
                                    Tier(0.02, ["13900000004"], "ivr", "s", journeys=hotline_mix(vip=True))])
    arrivals.start()
    run(clock, 900)
    arrivals.stop()
    run(clock, 300)
    outcomes = arrivals.outcomes()
    assert outcomes["self-service"] and outcomes["agent"] and outcomes["abandoned"]
    by_journey = {}
    for call in arrivals.calls:
        by_journey.setdefault(call.journey.name, set()).add(call.outcome)
    assert by_journey["hang-up-mid-menu"] == {"abandoned"}
    assert "self-service" in by_journey["bill"]
