"""Feature codes against the real agent service, with a scripted FastAGI session."""
import pytest
import pytest_twisted
from twisted.internet import defer
from twisted.internet.task import Clock

from cti.agentivr.features import RESULT, FeatureCodes
from cti.agentivr.model import PinThrottle
from cti.domain.agent_state import AgentState
from cti.domain.reasons import ReasonList
from cti.services.agents import Agent, AgentService
from tests.agentivr.fakes import FakeSession

PINS = {"1001": "2468", "1002": "1357"}


@pytest.fixture
def codes():
    clock = Clock()
    agents = AgentService([Agent("1001", "A", "PJSIP/6001"), Agent("1002", "B", "PJSIP/6002")],
                          clock)
    checked = []

    def check_pin(number, pin):
        checked.append(number)
        return defer.succeed(PINS.get(number) == pin)
    throttle = PinThrottle(clock.seconds, max_failures=3, lockout=300)
    reasons = ReasonList.from_mapping({"lunch": {"zh": "用餐", "en": "Lunch"},
                                       "meeting": {"zh": "会议", "en": "Meeting"}})
    return FeatureCodes(agents, reasons, throttle, check_pin), agents, clock, checked


async def run(codes, *args, **kw):
    session = FakeSession(*args, **kw)
    await codes(session)
    return session


@pytest_twisted.ensureDeferred
async def test_log_in_with_number_and_pin_from_the_own_seat(codes):
    features, agents, _, _ = codes
    s = await run(features, "login", "", keys=["1001", "2468"])
    assert s.variables[RESULT] == "logged-in" and "cti/agent-logged-in" in s.played
    assert agents.get("1001").state is AgentState.READY
    again = await run(features, "login", "1001", keys=["2468"])
    assert again.variables[RESULT] == "already-logged-in"


@pytest_twisted.ensureDeferred
async def test_a_right_pin_from_another_seat_logs_nobody_in(codes):
    features, agents, _, _ = codes
    s = await run(features, "login", "1001", keys=["2468"], channel="PJSIP/6002-00000001")
    assert s.variables[RESULT] == "wrong-phone"
    assert agents.get("1001").state is AgentState.LOGGED_OUT


@pytest_twisted.ensureDeferred
async def test_wrong_pins_are_retried_then_lock_phone_log_in(codes):
    features, agents, clock, checked = codes
    s = await run(features, "login", "1001", keys=["1111", "2222", "3333"])
    assert s.variables[RESULT] == "locked" and s.played.count("cti/agent-pin-wrong") == 2
    # even the right PIN is refused while locked, and not even checked
    checked.clear()
    s = await run(features, "login", "1001", keys=["2468"])
    assert s.variables[RESULT] == "locked" and checked == []
    assert agents.get("1001").state is AgentState.LOGGED_OUT
    clock.advance(301)
    s = await run(features, "login", "1001", keys=["2468"])
    assert s.variables[RESULT] == "logged-in"


@pytest_twisted.ensureDeferred
async def test_an_unknown_agent_number_counts_as_a_wrong_pin(codes):
    features, _, _, checked = codes
    s = await run(features, "login", "9999", keys=["2468", ""])
    assert s.variables[RESULT] == "pin-wrong" and checked == []


@pytest_twisted.ensureDeferred
async def test_a_wrong_then_right_pin_in_one_call(codes):
    features, agents, _, _ = codes
    s = await run(features, "login", "1001", keys=["1111", "2468"])
    assert s.variables[RESULT] == "logged-in"


@pytest_twisted.ensureDeferred
async def test_pause_by_number_by_list_and_by_default(codes):
    features, agents, _, _ = codes
    agents.login("1001")
    s = await run(features, "pause", "2")
    assert s.variables[RESULT] == "paused:meeting" and agents.get("1001").reason == "meeting"
    await run(features, "unpause", "")
    assert agents.get("1001").state is AgentState.READY
    s = await run(features, "pause", "", keys=["2"])          # no number: the list is read
    assert "cti/agent-pause-menu" in s.played and "cti/reason-lunch" in s.played
    assert agents.get("1001").reason == "meeting"
    await run(features, "unpause", "")
    s = await run(features, "pause", "")                      # no key at all: the default
    assert agents.get("1001").reason == "lunch"
    s = await run(features, "pause", "7")
    assert s.variables[RESULT] == "bad-reason" and agents.get("1001").reason == "lunch"


@pytest_twisted.ensureDeferred
async def test_the_list_still_takes_a_key_when_its_recordings_are_missing(codes):
    features, agents, _, _ = codes
    agents.login("1001")
    s = await run(features, "pause", "", keys=["1"], missing=("cti/agent-pause-menu",))
    assert agents.get("1001").reason == "lunch" and s.variables[RESULT] == "paused:lunch"


@pytest_twisted.ensureDeferred
async def test_seat_actions_are_for_the_agent_of_the_calling_seat(codes):
    features, agents, _, _ = codes
    agents.login("1002")
    s = await run(features, "logout", "", channel="PJSIP/6002-00000009")
    assert s.variables[RESULT] == "logged-out" and agents.get("1002").state is AgentState.LOGGED_OUT
    s = await run(features, "logout", "", channel="PJSIP/7777-00000009")
    assert s.variables[RESULT] == "unknown-phone"
    s = await run(features, "unpause", "", channel="PJSIP/6002-00000009")
    assert s.variables[RESULT] == "not-now"                   # logged out: nothing to unpause
    s = await run(features, "dance", "")
    assert s.variables[RESULT] == "unknown-action"


@pytest_twisted.ensureDeferred
async def test_an_agent_on_a_call_cannot_log_out_by_code(codes):
    features, agents, _, _ = codes
    agents.login("1001")
    agents.reserve("1001", "c1")
    s = await run(features, "logout", "")
    assert s.variables[RESULT] == "not-now" and agents.get("1001").state is AgentState.RESERVED
