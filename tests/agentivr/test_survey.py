"""The survey route: who is asked, what is stored, and a contact row that comes late."""
import pytest
import pytest_twisted
from twisted.internet import defer
from twisted.internet.task import Clock

from cti.agentivr.model import SurveyPolicy
from cti.agentivr.survey import SCORE, Survey
from cti.services.calls import USEREVENT_AFTER_CALL
from tests.agentivr.fakes import FakeSession
from tests.services.test_call_tracker_order import CALLER, connected_call, ev


class Saves:
    def __init__(self, found=(True,)):
        self.found = list(found)
        self.calls = []

    def __call__(self, call_id, score):
        self.calls.append((call_id, score))
        return defer.succeed(self.found.pop(0) if len(self.found) > 1 else self.found[0])


def ended_by_agent(policy=SurveyPolicy(True), saves=None):
    tracker, call, _ = connected_call()
    clock = Clock()
    saves = saves or Saves()
    survey = Survey(tracker, policy, clock, saves)
    tracker.subscribe(survey)
    tracker.handle(ev("UserEvent", CALLER, UserEvent=USEREVENT_AFTER_CALL))
    return survey, call, clock, saves


@pytest_twisted.ensureDeferred
async def test_a_call_the_agent_ended_is_asked_once_and_scored():
    survey, call, _, saves = ended_by_agent()
    s = FakeSession(call.call_id, uniqueid=call.uniqueid, keys=["5"])
    await survey(s)
    assert s.variables[SCORE] == "5" and saves.calls == [(call.call_id, 5)]
    assert "cti/survey-thanks" in s.played
    again = FakeSession(call.call_id, uniqueid=call.uniqueid, keys=["1"])
    await survey(again)
    assert again.variables[SCORE] == "skipped" and saves.calls == [(call.call_id, 5)]


@pytest_twisted.ensureDeferred
async def test_a_wrong_key_is_asked_again_and_no_key_stores_nothing():
    survey, call, _, saves = ended_by_agent()
    s = FakeSession(call.call_id, uniqueid=call.uniqueid, keys=["9", "3"])
    await survey(s)
    assert s.variables[SCORE] == "3" and "cti/survey-invalid" in s.played
    survey2, call2, _, saves2 = ended_by_agent()
    s2 = FakeSession(call2.call_id, uniqueid=call2.uniqueid, keys=[""])
    await survey2(s2)
    assert s2.variables[SCORE] == "none" and saves2.calls == []


@pytest_twisted.ensureDeferred
async def test_policy_off_for_the_tier_skips():
    survey, call, _, saves = ended_by_agent(SurveyPolicy(True, frozenset({"gold"})))
    s = FakeSession(call.call_id, uniqueid=call.uniqueid, keys=["5"])
    await survey(s)
    assert s.variables[SCORE] == "skipped" and saves.calls == [] and s.played == []


@pytest_twisted.ensureDeferred
async def test_a_session_on_another_channel_scores_nothing():
    survey, call, _, saves = ended_by_agent()
    s = FakeSession(call.call_id, uniqueid="9.9", keys=["1"])
    await survey(s)
    assert s.variables[SCORE] == "skipped" and saves.calls == []


@pytest_twisted.ensureDeferred
async def test_a_caller_who_hung_up_is_not_surveyed():
    tracker, call, _ = connected_call()
    survey = Survey(tracker, SurveyPolicy(True), Clock(), Saves())
    tracker.subscribe(survey)
    tracker.handle(ev("HangupRequest", CALLER))
    tracker.handle(ev("Hangup", CALLER))
    s = FakeSession(call.call_id, uniqueid=call.uniqueid, keys=["5"])
    await survey(s)
    assert s.variables[SCORE] == "skipped"


@pytest_twisted.ensureDeferred
async def test_the_route_waits_for_the_tracker_to_see_the_agent_leave():
    """FastAGI can be quicker than AMI: the caller is in the survey before ctid hears of it."""
    from twisted.internet import reactor
    tracker, call, _ = connected_call()
    saves = Saves()
    survey = Survey(tracker, SurveyPolicy(True), reactor, saves)
    tracker.subscribe(survey)
    reactor.callLater(0.3, tracker.handle, ev("UserEvent", CALLER, UserEvent=USEREVENT_AFTER_CALL))
    s = FakeSession(call.call_id, uniqueid=call.uniqueid, keys=["2"])
    await survey(s)
    assert s.variables[SCORE] == "2" and saves.calls == [(call.call_id, 2)]


@pytest_twisted.ensureDeferred
async def test_a_contact_not_written_yet_is_tried_again():
    saves = Saves(found=(False, False, True))
    survey, call, clock, _ = ended_by_agent(saves=saves)
    await survey(FakeSession(call.call_id, uniqueid=call.uniqueid, keys=["4"]))
    assert len(saves.calls) == 1
    clock.advance(1.0)
    clock.advance(1.0)
    assert saves.calls == [(call.call_id, 4)] * 3
    clock.advance(5.0)
    assert len(saves.calls) == 3                      # stored: no more tries


@pytest_twisted.ensureDeferred
async def test_with_the_survey_off_the_route_answers_at_once():
    tracker, call, _ = connected_call()             # the tracker has not seen the end yet
    survey = Survey(tracker, SurveyPolicy(False), Clock(), Saves())
    s = FakeSession(call.call_id, uniqueid=call.uniqueid, keys=["5"])
    d = defer.ensureDeferred(survey(s))
    assert d.called and s.variables[SCORE] == "skipped"
