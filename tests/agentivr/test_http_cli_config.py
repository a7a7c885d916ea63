"""The PIN route, ``ctictl agent pin`` and the ``agentivr`` settings."""

import pytest
from twisted.internet import defer
from twisted.internet.task import Clock

from cti import config as cfg
from cti.agentivr import cli, http
from cti.agentivr.model import PinLocked, PinThrottle
from cti.cli.main import build_parser
from cti.domain.principal import Principal
from cti.services.agents import Agent, AgentService
from cti.services.control import ControlError
from cti.storage.db import NotFound

ADMIN = Principal("admin", "admin")
AGENT = Principal("agent1001", "agent", agent_id="1001")


def pin_route(stored, throttle=None):
    agents = AgentService([Agent("1001", "A", "PJSIP/6001")], Clock())

    def run_db(work, agent_id, pin):
        if agent_id not in ("1001",):
            return defer.fail(NotFound(agent_id))
        stored[agent_id] = pin
        return defer.succeed(None)
    routes = http.routes(flows=None, agents=agents, run_db=run_db,
                         throttle=throttle or PinThrottle(Clock().seconds))
    return next(r for r in routes if r.pattern == "agents/{agent_id}/pin")


def test_only_an_admin_sets_a_pin_and_a_bad_pin_is_refused():
    stored = {}
    route = pin_route(stored)
    with pytest.raises(ControlError) as exc:
        route.handler(AGENT, {"agent_id": "1001"}, {"pin": "2468"})
    assert exc.value.kind == "forbidden"
    for bad in ({"pin": "12"}, {"pin": 2468}, {}):
        with pytest.raises(ControlError) as exc:
            route.handler(ADMIN, {"agent_id": "1001"}, bad)
        assert exc.value.code == "bad-pin"
    with pytest.raises(ControlError) as exc:
        route.handler(ADMIN, {"agent_id": "9"}, {"pin": "2468"})
    assert exc.value.kind == "not-found"
    assert stored == {}


def test_setting_a_pin_lifts_a_lock():
    clock = Clock()
    throttle = PinThrottle(clock.seconds, max_failures=1)
    throttle.failed("1001")
    with pytest.raises(PinLocked):
        throttle.check("1001")
    stored = {}
    d = pin_route(stored, throttle).handler(ADMIN, {"agent_id": "1001"}, {"pin": "2468"})
    assert d.result == {"agent_id": "1001", "pin_set": True} and stored == {"1001": "2468"}
    throttle.check("1001")


class Client:
    def __init__(self):
        self.calls = []

    def call(self, method, path, body=None):
        self.calls.append((method, path, body))
        return {"agent_id": "1001", "pin_set": True}


def test_ctictl_agent_pin_asks_twice_and_never_prints_it(capsys):
    args = build_parser().parse_args(["agent", "pin", "1001"])
    answers = iter(["2468", "2468"])
    assert cli.read_pin(args, ask=lambda prompt: next(answers)) == "2468"
    differ = iter(["2468", "2469"])
    with pytest.raises(ValueError):
        cli.read_pin(args, ask=lambda prompt: next(differ))


def test_ctictl_agent_pin_from_a_file(tmp_path, capsys):
    pin_file = tmp_path / "pin"
    pin_file.write_text("1357\n")
    args = build_parser().parse_args(["agent", "pin", "1001", "--pin-file", str(pin_file)])
    client = Client()
    assert args.run_with(client, args) == 0
    assert client.calls == [("POST", "/api/agents/1001/pin", {"pin": "1357"})]
    out = capsys.readouterr()
    assert "1357" not in out.out + out.err and "PIN set" in out.out
    empty = tmp_path / "empty"
    empty.write_text("\n")
    args = build_parser().parse_args(["agent", "pin", "1001", "--pin-file", str(empty)])
    assert args.run_with(Client(), args) == 2


@pytest.mark.parametrize("setting,message", [
    ("agentivr.hold_seconds=0", "'agentivr.hold_seconds' must be more than 0"),
    ("agentivr.pin_max_failures=0", "'agentivr.pin_max_failures' must be 1 or more"),
    ("agentivr.survey.tiers=gold,,", None),
    ("agentivr.survey.enabled=maybe", "'agentivr.survey.enabled' must be bool"),
])
def test_bad_settings_are_one_clear_line(setting, message):
    if message is None:                       # empty entries are dropped from a flag's list
        assert cfg.load(environ={}, overrides=[setting])["agentivr"]["survey"]["tiers"] == ["gold"]
        return
    with pytest.raises(cfg.ConfigError) as exc:
        cfg.load(environ={}, overrides=[setting])
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_survey_settings_from_a_file(tmp_path):
    path = tmp_path / "ctid.yaml"
    path.write_text("agentivr:\n  survey: {enabled: true, tiers: [gold, platinum]}\n")
    survey = cfg.load(path, environ={})["agentivr"]["survey"]
    assert survey == {"enabled": True, "tiers": ["gold", "platinum"], "skills": []}
    path.write_text("agentivr:\n  survey: {enabled: true, tiers: ['  ']}\n")
    with pytest.raises(cfg.ConfigError) as exc:
        cfg.load(path, environ={})
    assert "'agentivr.survey.tiers' has an empty entry" in str(exc.value)
