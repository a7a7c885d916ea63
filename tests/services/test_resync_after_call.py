"""A caller found in the survey (past the agent) by a resync is no caller to serve."""
from cti.domain.call_state import CallEvent, CallState
from cti.protocol.ami_message import Message
from cti.services.calls import Call
from cti.services.journal import to_entry
from cti.services.resync import AnsweredMarker, ChannelView
from tests.services.test_resync import Ended, world


def survey_view(name, call_id):
    return ChannelView(name, "cti-survey", "AGI", False, "u-" + call_id, "u-" + call_id,
                       "13800000001", {"CTI_CALL_ID": call_id, "CTI_ARRIVAL": "900",
                                       "CTI_TIER": "gold", "CTI_SKILL": "general",
                                       "CTI_AGENT": "1002"})


def test_after_a_restart_a_caller_in_the_survey_is_recorded_answered_not_queued_again():
    old = Call("c7", "PJSIP/trunk-7", "u-c7", "u-c7", "139", arrival=900.0)
    for event in (CallEvent.ENQUEUE, CallEvent.OFFER, CallEvent.RING, CallEvent.ANSWER):
        old.machine.fire(event)
    old.agent_id, old.offered_at, old.answered_at = "1002", 950.0, 951.0
    clock, tracker, agents, acd, connector, resync = world(
        journal=[to_entry(old)], presence={"1001": {"state": "ready"}})
    ended = Ended()
    tracker.subscribe(ended)
    resync.reconcile({"PJSIP/trunk-7": survey_view("PJSIP/trunk-7", "c7")},
                     {"c7": AnsweredMarker("1002", 990.0)})
    assert tracker.get("c7") is None and connector.moved == []      # never offered again
    assert ended.calls["c7"][0] is CallState.ENDED and ended.calls["c7"][1] == "1002"


def test_a_known_call_whose_after_call_event_was_lost_ends_as_the_agents():
    clock, tracker, agents, acd, connector, resync = world()
    resync.reconcile({})
    agents.login("1002")
    call = tracker.register(Call("c8", "PJSIP/trunk-8", "u-c8", "u-c8", "139", arrival=990.0))
    tracker.handle(Message.of({"Event": "UserEvent", "UserEvent": "CTIWait",
                               "Channel": call.channel}))
    assert call.agent_id == "1002"                                    # offered at once
    tracker.handle(Message.of({"Event": "DialEnd", "Channel": call.channel,
                               "DialStatus": "ANSWER"}))
    assert call.state is CallState.CONNECTED
    resync.reconcile({"PJSIP/trunk-8": survey_view("PJSIP/trunk-8", "c8")})
    assert call.state is CallState.ENDED and call.ended_by == "agent"
    assert agents.get("1002").state.value == "after-call-work"
