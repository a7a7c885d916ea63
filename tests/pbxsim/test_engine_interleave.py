"""The order AMI listeners see events of different channels in: seeded, varied, per-channel kept.

Asterisk guarantees the order of one channel's events (one thread publishes them) and of one
bridge's; not the order between channels. The simulator draws an interleaving from its seed
within exactly those guarantees, so ctid's tests meet the variety a real PBX shows.
"""
from __future__ import annotations

import random

from twisted.internet.task import Clock

from cti.pbxsim.dialplan import Dialplan
from cti.pbxsim.engine.callers import place_call
from cti.pbxsim.engine.interleave import Interleaver, lanes_of
from cti.pbxsim.engine.pbx import PBX
from cti.pbxsim.engine.phones import PhoneScript, Phones
from cti.protocol.ami_message import Message


def ev(name: str, **headers: str) -> Message:
    return Message.of({"Event": name, **headers})


def lane_order(events: list[Message], lane: str) -> list[Message]:
    return [m for m in events if lane in lanes_of(m)]


def _run(seed: int, latency: float = 0.01) -> tuple[list[Message], list[Message]]:
    clock, out = Clock(), []
    interleaver = Interleaver(out.append, clock, random.Random(seed), latency)
    sent = []
    for i in range(5):
        for msg in (ev("Newexten", Channel="A", Priority=str(i)),
                    ev("Newexten", Channel="B", Priority=str(i))):
            sent.append(msg)
            interleaver.offer(msg)
        if i == 2:                                  # an event naming both keeps both orders
            both = ev("DialBegin", Channel="A", DestChannel="B")
            sent.append(both)
            interleaver.offer(both)
        clock.advance(0.002)
    clock.advance(1)
    return sent, out


def test_each_channel_keeps_its_order_and_nothing_is_lost_or_doubled() -> None:
    for seed in range(30):
        sent, out = _run(seed)
        assert sorted(map(id, out)) == sorted(map(id, sent))
        for lane in ("A", "B"):
            assert lane_order(out, lane) == lane_order(sent, lane), seed


def test_channels_interleave_differently_under_different_seeds_and_alike_under_one() -> None:
    orders = {tuple((m["Channel"], m.get("Priority")) for m in _run(seed)[1]) for seed in range(30)}
    assert len(orders) > 10
    assert [m.headers for m in _run(5)[1]] == [m.headers for m in _run(5)[1]]


def test_no_latency_delivers_at_once_in_the_engine_order() -> None:
    clock, out = Clock(), []
    interleaver = Interleaver(out.append, clock, random.Random(1), 0)
    msgs = [ev("Newchannel", Channel="A"), ev("Newchannel", Channel="B"), ev("FullyBooted")]
    for msg in msgs:
        interleaver.offer(msg)
    assert out == msgs


def test_bridge_and_local_pair_lanes() -> None:
    assert lanes_of(ev("BridgeEnter", Channel="PJSIP/6001-00000001", BridgeUniqueid="b1")) == \
        ["PJSIP/6001-00000001", "bridge:b1"]
    assert lanes_of(ev("LocalBridge", LocalOneChannel="Local/1@c-00000001;1",
                       LocalTwoChannel="Local/1@c-00000001;2")) == ["Local/1@c-00000001"] * 2
    assert lanes_of(ev("VarSet", Variable="G")) == [""]


DIALPLAN = """
[in]
exten => s,1,Answer()
 same => n,Dial(PJSIP/6001,10)
 same => n,Hangup()
"""


def agent_ended_call(seed: int, latency: float):
    clock = Clock()
    clock.advance(1_795_360_000)
    phones = Phones.of({"6001": PhoneScript(ring_delay=0.5, talk_time=2.0)})
    pbx = PBX(Dialplan.from_text(DIALPLAN), reactor=clock, phones=phones, seed=seed,
              event_latency=latency)
    events: list[Message] = []
    pbx.subscribe(events.append)
    handle = place_call(pbx, "13800000001", "in", "s")
    for _ in range(100):
        clock.advance(0.05)
    assert handle.channel.hung_up
    return handle.name, events


def test_the_callers_hangup_sometimes_comes_before_the_agents() -> None:
    """What a real Asterisk showed: when the agent hangs up, the caller's Hangup may reach AMI
    first. Each channel's own stream is still exactly the engine's."""
    caller, causal = agent_ended_call(0, latency=0)         # the engine's one causal order
    firsts = set()
    for seed in range(20):
        name, events = agent_ended_call(seed, latency=0.005)
        firsts.add(next(m["Channel"] == name for m in events if m.name == "Hangup"))
        channels = {m["Channel"] for m in causal if m.get("Channel")}
        for channel in channels:
            mine = [m.name for m in events if m.get("Channel") == channel]
            assert mine == [m.name for m in causal if m.get("Channel") == channel], (seed, channel)
        assert len(events) == len(causal)
    assert firsts == {True, False}


def test_the_hangup_requests_are_on_the_channel_that_asked() -> None:
    """The agent's phone hung up: ``HangupRequest`` on the agent's channel (its driver queued
    the hangup); the caller's channel gets only the ``SoftHangupRequest`` of its dialplan
    ending. A caller who hangs up gets the ``HangupRequest`` on its own channel."""
    caller, events = agent_ended_call(0, latency=0)
    requests = [(m.name, m["Channel"] == caller) for m in events if "HangupRequest" in m.name]
    assert requests == [("HangupRequest", False), ("SoftHangupRequest", True)]

    clock = Clock()
    phones = Phones.of({"6001": PhoneScript(ring_delay=0.5, talk_time=None)})
    pbx = PBX(Dialplan.from_text(DIALPLAN), reactor=clock, phones=phones, seed=1, event_latency=0)
    events = []
    pbx.subscribe(events.append)
    handle = place_call(pbx, "13800000001", "in", "s", talk=1.0)
    for _ in range(60):
        clock.advance(0.05)
    assert handle.hung_up_talking and handle.channel.hung_up
    requests = [(m.name, m["Channel"] == handle.name) for m in events if "HangupRequest" in m.name]
    assert requests[0] == ("HangupRequest", True)
    assert ("HangupRequest", False) not in requests
