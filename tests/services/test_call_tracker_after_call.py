"""The agent hangs up first and the caller goes on (``Dial`` option ``g``, then the survey).

The caller's channel outlives the call: the tracker must end the agent's part when the agent
leaves (after-call work, the contact, ``COMPLETEAGENT``), with the talk ending at the agent's
hangup, whatever the interleaving of the two channels' events; and a caller who hangs up
first is still the caller's end.
"""
from __future__ import annotations

from cti.domain.agent_state import AgentState
from cti.domain.call_state import CallState
from cti.services.agents import Agent, AgentService
from cti.services.calls import USEREVENT_AFTER_CALL
from tests.services.test_call_tracker_order import (AGENT_LEG, BRIDGE, CALLER, connected_call,
                                                     ev, interleavings)


def agent_ends_caller_stays():
    """Per-channel streams when the agent hangs up and Dial(...,g) lets the caller go on:
    the caller leaves the bridge alive, cti-connect sends it to cti-survey (CTIAfterCall),
    and it hangs up there later."""
    caller = [ev("BridgeLeave", CALLER, BridgeUniqueid=BRIDGE),
              ev("UserEvent", CALLER, UserEvent=USEREVENT_AFTER_CALL),
              ev("HangupRequest", CALLER, Cause="16"), ev("Hangup", CALLER, Cause="16")]
    agent = [ev("HangupRequest", AGENT_LEG, Cause="16"),
             ev("BridgeLeave", AGENT_LEG, BridgeUniqueid=BRIDGE),
             ev("Hangup", AGENT_LEG, Cause="16")]
    return caller, agent


class Clock:
    """A reactor clock for the agent service (its wrap-up timer)."""

    def __init__(self, now):
        self.now = now
        self.calls = []

    def seconds(self):
        return self.now[0]

    def callLater(self, delay, fn, *args):
        class Timer:
            def active(self):
                return False

            def cancel(self):
                pass
        self.calls.append((delay, fn, args))
        return Timer()


def test_every_order_ends_the_agents_part_once_with_the_talk_ending_when_the_agent_left():
    caller, agent = agent_ends_caller_stays()
    orders = list(interleavings(caller, agent))
    assert len(orders) == 35
    for order in orders:
        tracker, call, qlog = connected_call()
        now = [1000.0]
        tracker._clock = lambda: now[0]
        agents = AgentService([Agent("6001", "A", "PJSIP/6001")], Clock(now))
        agents.restore("6001", AgentState.BUSY, call_id=call.call_id)
        tracker.subscribe(agents)
        agent_gone_at = None
        for msg in order:
            now[0] += 1.0
            if msg.name == "Hangup" and msg["Channel"] == AGENT_LEG:
                agent_gone_at = now[0]
            tracker.handle(msg)
            if msg.name == "UserEvent":
                # the agent's part is over the moment the caller is seen going on
                assert call.state is CallState.ENDED
                assert agents.get("6001").state is AgentState.AFTER_CALL_WORK
        seen = [f"{m.name}:{m['Channel'].split('/')[1][:4]}" for m in order]
        assert call.state is CallState.ENDED and call.ended_by == "agent", seen
        assert qlog.lines.count("COMPLETEAGENT") == 1 and "COMPLETECALLER" not in qlog.lines, seen
        after_call = next(i for i, m in enumerate(order) if m.name == "UserEvent")
        agent_first = order.index(agent[-1]) < after_call
        expected_end = agent_gone_at if agent_first else 1000.0 + after_call + 1
        assert call.ended_at == expected_end, seen
        assert agents.get("6001").calls_handled == 1, seen
        assert tracker.get(call.call_id) is None          # the survey leg is no longer a call


def test_the_callers_later_hangup_in_the_survey_changes_nothing():
    tracker, call, qlog = connected_call()
    caller, agent = agent_ends_caller_stays()
    for msg in agent + caller[:2]:
        tracker.handle(msg)
    lines = list(qlog.lines)
    ended_at = call.ended_at
    for msg in caller[2:]:
        tracker.handle(msg)
    assert qlog.lines == lines and call.ended_at == ended_at


def test_an_after_call_event_for_a_call_not_connected_is_ignored():
    from tests.services.test_call_tracker_order import ringing_call
    _, tracker, call, qlog = ringing_call()
    tracker.handle(ev("UserEvent", CALLER, UserEvent=USEREVENT_AFTER_CALL))
    assert call.state is CallState.RINGING and "COMPLETEAGENT" not in qlog.lines


def test_an_agent_leg_hangup_without_its_request_does_not_date_the_end():
    """The caller hung up (its request may come after the agent leg's Hangup): the agent leg
    is hung up by Dial without a HangupRequest of its own."""
    tracker, call, qlog = connected_call()
    tracker.handle(ev("Hangup", AGENT_LEG, Cause="16"))
    assert call.agent_left_at is None
    tracker.handle(ev("HangupRequest", CALLER, Cause="16"))
    tracker.handle(ev("Hangup", CALLER, Cause="16"))
    assert call.ended_by == "caller" and qlog.lines[-1] == "COMPLETECALLER"
