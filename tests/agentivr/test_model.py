"""The pure rules: seats, PINs and their lockout, pause keys, survey keys and policy."""
import pytest

from cti.agentivr.model import (Hold, PinLocked, PinThrottle, SurveyPolicy, device_of,
                                pin_problem, reason_for_key, survey_score)
from cti.domain.reasons import ReasonList


@pytest.mark.parametrize("channel,device", [
    ("PJSIP/6001-0000002a", "PJSIP/6001"), ("PJSIP/trunk-00000001", "PJSIP/trunk"),
    ("Local/1001@agents-00000003;1", "Local/1001@agents"), ("PJSIP/6001", "PJSIP/6001"),
    ("", ""), (None, "")])
def test_the_seat_of_a_channel(channel, device):
    assert device_of(channel) == device


def test_pins_are_digits_and_not_one_repeated_digit():
    assert pin_problem("2468") is None and pin_problem("123456789012") is None
    for bad in ("", "123", "12a4", "1234567890123", "0000"):
        assert pin_problem(bad), bad


def test_too_many_wrong_pins_lock_that_agent_only_for_a_while():
    now = [0.0]
    throttle = PinThrottle(lambda: now[0], max_failures=3, lockout=60)
    assert throttle.failed("1001") is False and throttle.failed("1001") is False
    throttle.check("1001")
    assert throttle.failed("1001") is True
    with pytest.raises(PinLocked) as locked:
        throttle.check("1001")
    assert locked.value.wait == 60
    throttle.check("1002")                               # another agent is not locked
    now[0] = 61
    throttle.check("1001")


def test_a_right_pin_resets_the_count():
    throttle = PinThrottle(lambda: 0.0, max_failures=2, lockout=60)
    throttle.failed("1001")
    throttle.succeeded("1001")
    assert throttle.failed("1001") is False


def test_the_throttle_forgets_the_oldest_beyond_its_bound():
    throttle = PinThrottle(lambda: 0.0, max_failures=1, lockout=60, max_tracked=2)
    for agent in ("a", "b", "c"):
        throttle.failed(agent)
    throttle.check("a")                                  # forgotten, so not locked
    with pytest.raises(PinLocked):
        throttle.check("c")


def test_a_reason_by_its_number_in_the_configured_list():
    reasons = ReasonList.from_mapping({"lunch": {}, "meeting": {}}).all()
    assert reason_for_key("1", reasons).code == "lunch"
    assert reason_for_key("2", reasons).code == "meeting"
    assert reason_for_key("3", reasons) is None and reason_for_key("0", reasons) is None
    assert reason_for_key("*", reasons) is None


def test_survey_keys_are_1_to_5():
    assert [survey_score(k) for k in "12345"] == [1, 2, 3, 4, 5]
    assert survey_score("0") is None and survey_score("6") is None
    assert survey_score("") is None and survey_score(None) is None and survey_score("12") is None


def test_the_survey_policy_by_tier_and_skill():
    assert not SurveyPolicy(False).wants("gold", "billing")
    assert SurveyPolicy(True).wants("gold", "billing")
    only_gold = SurveyPolicy(True, frozenset({"gold"}))
    assert only_gold.wants("gold", "x") and not only_gold.wants("standard", "x")
    billing = SurveyPolicy(True, frozenset(), frozenset({"billing"}))
    assert billing.wants("standard", "billing") and not billing.wants("standard", "general")


def test_a_hold_runs_out_at_its_end_or_when_released():
    hold = Hold("c1", "1001", "verify-pin", 0.0, 60.0)
    assert not hold.expired(59.9) and hold.expired(60.0)
    hold.released = True
    assert hold.expired(0.0)
