"""The control panel's agent actions: not-ready reasons come from the configured list."""
import pytest
from twisted.internet.task import Clock

from cti.domain.principal import Principal
from cti.domain.reasons import DEFAULT_REASONS, ReasonList
from cti.services.agents import Agent, AgentService
from cti.services.auth import TokenStore
from cti.services.calls import CallTracker
from cti.services.control import ControlError, ControlPanel

AGENT = Principal("alice", "agent", agent_id="1001")
ADMIN = Principal("root", "admin")


@pytest.fixture
def panel():
    clock = Clock()
    agents = AgentService([Agent("1001", "Alice", "PJSIP/6001")], clock)
    agents.login("1001")
    reasons = ReasonList.from_mapping({"break": {"zh": "休息", "en": "Break"},
                                       "lunch": {"zh": "午餐", "en": "Lunch"}})
    return ControlPanel(agents=agents, tracker=CallTracker(clock.seconds), acd=None,
                        tokens=TokenStore(clock.seconds), clock=clock.seconds, reasons=reasons)


@pytest.mark.parametrize("reason", ["\x1b[2J\x1b[Hgone", "a|b", "lunch\n", "LUNCH", "nap", 7])
def test_a_reason_outside_the_list_is_refused_and_the_agent_stays_ready(panel, reason):
    for ask in (lambda: panel.agent_action(ADMIN, "1001", "pause", {"reason": reason}),
                lambda: panel.desktop_request(AGENT, "state", {"state": "not-ready",
                                                               "reason": reason})):
        with pytest.raises(ControlError) as err:
            ask()
        assert (err.value.kind, err.value.code) == ("invalid", "bad-reason")
        assert "break, lunch" in err.value.message
    assert panel.agents(ADMIN)[0]["state"] == "ready"


def test_a_listed_reason_is_taken_and_no_reason_means_the_first(panel):
    assert panel.agent_action(AGENT, "1001", "pause", {"reason": "lunch"})["reason"] == "lunch"
    panel.desktop_request(AGENT, "state", {"state": "ready"})
    assert panel.desktop_request(AGENT, "state", {"state": "not-ready"}) == {
        "state": "not-ready", "reason": "break"}


def test_a_refused_change_is_a_conflict_not_a_crash(panel):
    panel.agent_action(AGENT, "1001", "logout", {})
    with pytest.raises(ControlError) as err:
        panel.desktop_request(AGENT, "state", {"state": "not-ready", "reason": "lunch"})
    assert err.value.kind == "conflict"


def test_reason_list_defaults_and_labels():
    reasons = ReasonList.from_mapping({})
    assert [r.code for r in reasons.all()] == list(DEFAULT_REASONS)
    assert {"code": "lunch", "zh": "用餐", "en": "Lunch"} in [r.as_dict() for r in reasons.all()]
    assert "rona" not in reasons and "desktop-offline" not in reasons
    with pytest.raises(ValueError):
        ReasonList.from_mapping({"bad|code": {"zh": "x", "en": "x"}})


def test_control_panel_does_not_import_the_http_layer():
    import cti.services.control as control
    source = open(control.__file__, encoding="utf-8").read()
    assert "cti.net" not in source
