"""Simulated callers (patience, DTMF, Poisson arrivals) and the simplified Queue()."""
from __future__ import annotations

import pytest
from twisted.internet.task import Clock

from cti.pbxsim.dialplan import Dialplan
from cti.pbxsim.engine import PBX
from cti.pbxsim.engine.callers import CallerArrivals, Tier

DIALPLAN = """
[agents]
exten => _2XXX,1,Wait(1)
 same => n,Answer()
 same => n,Wait(5)
 same => n,Hangup()
[in]
exten => wait,1,Answer()
 same => n,MusicOnHold(default,100)
exten => menu,1,Answer()
 same => n,Background(beep)
 same => n,Wait(5)
exten => 1,1,UserEvent(Pressed,Digit: 1)
 same => n,Hangup()
exten => q,1,Answer()
 same => n,Queue(support,t,,,60)
 same => n,UserEvent(QueueDone,Status: ${QUEUESTATUS})
"""


def world(**kwargs):
    clock = Clock()
    pbx = PBX(Dialplan.from_text(DIALPLAN), reactor=clock, seed=5, **kwargs)
    events = []
    pbx.subscribe(events.append)
    return clock, pbx, events


def run(clock, seconds):
    for _ in range(int(seconds * 10)):
        clock.advance(0.1)


def test_caller_abandons_after_patience():
    clock, pbx, events = world()
    handle = pbx.place_call('"Jo" <5551234>', "in", "wait", patience=12)
    assert handle.name.startswith("PJSIP/trunk-")
    run(clock, 13)
    assert handle.abandoned and handle.ended.called and handle.ended_at == pytest.approx(12, abs=0.15)
    first = next(m for m in events if m.name == "Newchannel")
    assert (first["Context"], first["Exten"], first["ChannelStateDesc"]) == ("in", "wait", "Ring")
    assert pbx.channels() == []


def test_caller_keys_dtmf_when_asked():
    clock, pbx, events = world()
    pbx.place_call("5551234", "in", "menu", dtmf="1", dtmf_delay=0.2)
    run(clock, 2)
    assert [(m["UserEvent"], m["Digit"]) for m in events if m.name == "UserEvent"] == [("Pressed", "1")]
    assert [m["Direction"] for m in events if m.name == "DTMFEnd"] == ["Received"]


def test_poisson_arrivals_are_reproducible_from_the_seed():
    def arrivals():
        clock, pbx, _ = world()
        gen = CallerArrivals(pbx, [Tier(0.5, ["5550001", "5550002"], "in", "wait", patience_mean=5)])
        gen.start()
        run(clock, 60)
        gen.stop()
        return [(c.placed_at, c.channel.caller.num) for c in gen.calls]
    first, second = arrivals(), arrivals()
    assert first == second and 15 <= len(first) <= 50


def test_queue_bridges_a_waiting_caller_when_the_member_is_free():
    clock, pbx, events = world(queues={"support": {"members": ["Local/2001@agents"], "timeout": 15}})
    first = pbx.place_call("5550001", "in", "q", variables={"QUEUE_PRIO": "0"})
    run(clock, 0.1)
    second = pbx.place_call("5550009", "in", "q", variables={"QUEUE_PRIO": "10"})
    run(clock, 30)
    answered = [m["Channel"] for m in events if m.name == "DialEnd" and m["DialStatus"] == "ANSWER"]
    assert answered == [first.name, second.name]     # the first was already ringing the member
    assert first.connected_at < second.connected_at
    assert ("QueueDone", None) not in [(m["UserEvent"], None) for m in events if m.name == "UserEvent"]


def test_queue_orders_waiting_callers_by_priority():
    clock, pbx, events = world(queues={"support": {"members": ["Local/2001@agents"], "timeout": 15}})
    calls = []
    for number, prio in [("5550001", "1"), ("5550002", "1"), ("5550003", "5")]:
        calls.append(pbx.place_call(number, "in", "q", variables={"QUEUE_PRIO": prio}))
        clock.advance(0)
    run(clock, 0.5)
    order = [entry[2].caller.num for entry in pbx.queue_waiting["support"]]
    assert order == ["5550003", "5550001", "5550002"]   # strict priority, FIFO within one
    run(clock, 40)
    served = sorted(calls, key=lambda h: h.connected_at or 1e9)
    assert [h.channel.caller.num for h in served] == ["5550001", "5550003", "5550002"]
