"""Simulated callers at scale: per-channel watchers instead of one listener per caller.

A :class:`~cti.pbxsim.engine.callers.CallHandle` follows its own channel through
:meth:`PBX.watch`, so an event costs the same however many callers are alive: placing ten times
as many callers must cost about ten times as much, not a hundred (which it did when every
caller listened to the whole event stream).
"""
from __future__ import annotations

import gc
import time

import pytest
from twisted.internet.task import Clock

from cti.pbxsim.dialplan import Dialplan
from cti.pbxsim.engine import PBX

DIALPLAN = """
[in]
exten => hold,1,Answer()
 same => n,MusicOnHold(default)
exten => agent,1,Dial(Local/2001@agents,10)
 same => n,Hangup()
[agents]
exten => 2001,1,Answer()
 same => n,Wait(5)
 same => n,Hangup()
"""
PATIENT_EVERY = 100          # one caller in a hundred gives up after PATIENCE seconds
PATIENCE = 30.0


def new_pbx():
    clock = Clock()
    return clock, PBX(Dialplan.from_text(DIALPLAN), reactor=clock, seed=3, event_latency=0)


def hold(pbx, clock, count: int) -> list:
    """Place ``count`` callers one after another, each run into MusicOnHold at once."""
    handles = []
    for i in range(count):
        patience = PATIENCE if i % PATIENT_EVERY == 0 else None
        handles.append(pbx.place_call(f"55{i:08d}", "in", "hold", patience=patience))
        clock.advance(0)
    return handles


def setup_seconds(count: int) -> float:
    """CPU seconds to place and hold ``count`` callers on a fresh PBX.

    The collector is off while timing: its full passes are amortised linear but land unevenly
    between sizes, and what is measured here is the simulator's own cost per caller.
    """
    clock, pbx = new_pbx()
    gc.collect()
    gc.disable()
    try:
        start = time.process_time()
        hold(pbx, clock, count)
        return time.process_time() - start
    finally:
        gc.enable()


def advance(clock, seconds: float) -> None:
    for _ in range(round(seconds * 10)):
        clock.advance(0.1)


def test_placing_callers_costs_linear_time():
    small = min(setup_seconds(500) for _ in range(3))
    large = min(setup_seconds(5000) for _ in range(2))
    # linear is x10; one listener per caller on the whole stream was x100 (quadratic)
    assert large / small < 25, f"500 callers {small:.3f}s, 5000 callers {large:.3f}s"


def test_five_thousand_held_callers_keep_their_handles_right():
    clock, pbx = new_pbx()
    events = []
    pbx.subscribe(events.append)
    handles = hold(pbx, clock, 5000)
    assert len(pbx.channels()) == 5000 and len(pbx.watched_channels()) == 5000
    holding = {m["Channel"] for m in events if m.name == "MusicOnHoldStart"}
    assert holding == {h.name for h in handles}

    advance(clock, 1)
    served = [h for i, h in enumerate(handles) if i % PATIENT_EVERY == 1][:10]
    for handle in served:                  # an agent takes these ten off hold
        pbx.redirect(handle.name, "in", "agent", 1)
    advance(clock, 1)
    assert all(h.connected_at == pytest.approx(1.0, abs=0.15) for h in served)
    advance(clock, 6)                      # the agent hangs up after 5 s: so does the caller
    assert all(h.ended_at == pytest.approx(6.0, abs=0.25) and not h.abandoned for h in served)

    advance(clock, PATIENCE - 8 + 0.5)
    patient = handles[::PATIENT_EVERY]
    assert all(h.abandoned and h.ended_at == pytest.approx(PATIENCE) for h in patient)
    assert all(h.connected_at is None for h in patient)

    for handle in handles:
        if not handle.ended.called:
            pbx.hangup(handle.name, 16)
    advance(clock, 0.5)
    assert all(h.ended.called for h in handles)
    special = {h.name for h in served} | {h.name for h in patient}
    rest = [h for h in handles if h.name not in special]
    assert len(rest) == 5000 - 10 - 50
    assert all(h.ended_at == pytest.approx(PATIENCE + 0.5, abs=0.15) and not h.abandoned
               and h.connected_at is None for h in rest)
    assert pbx.channels() == [] and pbx.watched_channels() == []      # no watcher left behind


# -- PBX.watch ---------------------------------------------------------------------------------
def test_a_watcher_sees_only_its_channel_and_stops_after_unwatch():
    clock, pbx = new_pbx()
    first, second = hold(pbx, clock, 2)
    seen, other = [], []
    unwatch = pbx.watch(first.name, seen.append)
    pbx.watch(second.name, other.append)
    pbx.setvar(first.name, "X", "1")
    pbx.setvar(second.name, "Y", "2")
    assert [(m.name, m["Variable"]) for m in seen] == [("VarSet", "X")]
    assert [(m.name, m["Variable"]) for m in other] == [("VarSet", "Y")]
    unwatch()
    unwatch()                                        # a second unwatch is harmless
    pbx.setvar(first.name, "X", "3")
    assert len(seen) == 1


def test_watchers_are_dropped_when_the_channel_is_gone_even_without_unwatch():
    clock, pbx = new_pbx()
    (handle,) = hold(pbx, clock, 1)
    seen = []
    pbx.watch(handle.name, seen.append)
    pbx.hangup(handle.name, 16)
    advance(clock, 0.5)
    assert seen[-1].name == "Hangup" and handle.ended.called
    assert pbx.watched_channels() == []


def test_a_failing_watcher_does_not_stop_the_others_or_the_call(caplog):
    clock, pbx = new_pbx()
    (handle,) = hold(pbx, clock, 1)
    seen = []

    def broken(message):
        raise RuntimeError("watcher bug")
    pbx.watch(handle.name, broken)
    pbx.watch(handle.name, seen.append)
    pbx.hangup(handle.name, 16)
    advance(clock, 0.5)
    assert seen and seen[-1].name == "Hangup"
    assert handle.ended.called and pbx.channels() == []
    assert "event listener failed" in caplog.text
