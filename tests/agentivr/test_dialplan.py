"""Our dialplan as Asterisk loads it (asterisk_conf/extensions.conf including ctid's file):
the agents' phones reach the feature codes, and the contexts the agent side needs exist with
the applications and options they rely on."""
from pathlib import Path

from cti.pbxsim.dialplan import Dialplan

ROOT = Path(__file__).resolve().parents[2]


def loaded() -> Dialplan:
    return Dialplan.from_files([ROOT / "dialplan" / "extensions_cti.conf"])


def app_of(plan, context, exten, priority=1):
    step = plan.find(context, exten, priority)
    return None if step is None else (step.app, step.data)


def test_the_feature_codes_and_their_variants():
    plan = loaded()
    for exten, feature in (("*71", "login"), ("*711002", "login"), ("*72", "logout"),
                           ("*73", "pause"), ("*732", "pause"), ("*74", "unpause")):
        step = app_of(plan, "cti-agent-features", exten)
        assert step == ("Set", f"CTI_FEATURE={feature}"), exten
    assert app_of(plan, "cti-agent-features", "*711002", 2) == ("Set", "CTI_FEATURE_ARG=${EXTEN:3}")
    assert app_of(plan, "cti-agent-features", "*75") is None
    assert app_of(plan, "cti-agent-feature", "s", 2)[0] == "AGI"


def test_the_connect_survey_and_flow_contexts():
    plan = loaded()
    app, data = app_of(plan, "cti-connect", "s", 2)
    assert app == "Dial" and data.endswith(",gU(cti-record^${CTI_CALL_ID})")
    assert app_of(plan, "cti-record", "s", 1) == ("MixMonitor", "${ARG1}.wav,ab")
    assert app_of(plan, "cti-survey", "s", 1)[0] == "Set"
    assert app_of(plan, "cti-survey", "s", 2) == ("UserEvent", "CTIAfterCall,CallID: ${CTI_CALL_ID}")
    assert app_of(plan, "cti-survey", "s", 3)[1].startswith("agi://${CTI_AGI_HOST}/survey,")
    assert app_of(plan, "cti-flow", "s", 3)[1].startswith("agi://${CTI_AGI_HOST}/agent-flow,")
    assert app_of(plan, "cti-flow", "h", 1)[0] == "Set"


def test_the_agents_phones_reach_the_feature_codes_as_installed(tmp_path):
    # laid out as installed: /etc/asterisk/extensions.conf and ctid/extensions_cti.conf
    (tmp_path / "ctid").mkdir()
    (tmp_path / "extensions.conf").write_text((ROOT / "asterisk_conf" / "extensions.conf").read_text())
    (tmp_path / "ctid" / "extensions_cti.conf").write_text(
        (ROOT / "dialplan" / "extensions_cti.conf").read_text())
    plan = Dialplan.from_files([tmp_path / "extensions.conf"], config_dir=tmp_path)
    assert app_of(plan, "cti-agents", "*73") == ("Set", "CTI_FEATURE=pause")
    assert app_of(plan, "cti-agents", "6002")[0] == "Dial"          # agents still dial agents
