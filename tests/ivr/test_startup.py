"""ctid refuses to start on a bad flow or IVR setting: one line naming the fault, exit code 2."""
import subprocess
import sys
from pathlib import Path

import pytest

from cti import config as cfg

REPO = Path(__file__).resolve().parents[2]


def start(tmp_path, *settings):
    args = [f"database.url=sqlite:///{tmp_path / 'ctid.sqlite3'}",
            f"database.spill_file={tmp_path / 'var' / 'outbox.jsonl'}",
            f"queue_log.file={tmp_path / 'queue_log'}",
            "api.port=0", "web.port=0", "fastagi.port=0", *settings]
    code = ("import sys; from cti.main import main; "
            f"sys.exit(main([a for s in {args!r} for a in ('--set', s)]))")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, timeout=60)


def test_a_bad_flow_stops_ctid_with_its_file_and_line(tmp_path):
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "standard.yaml").write_text(
        "start: main\nnodes:\n  main:\n    kind: menu\n    prompt: cti/menu/main\n"
        "    keys: {\"1\": nowhere}\n    default: agent\n  agent: {kind: transfer}\n",
        encoding="utf-8")
    done = start(tmp_path, f"ivr.flows_dir={flows}")
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("ctid:")]
    assert len(errors) == 1 and f"{flows / 'standard.yaml'}:6:" in errors[0]
    assert "'nowhere', which is no node" in errors[0]


@pytest.mark.parametrize("setting, words", [
    ("ivr.agent_key=55", "'ivr.agent_key' must be one phone key"),
    ("ivr.timezone=Mars/Olympus", "'ivr.timezone' must be a time zone"),
    ("ivr.voice_format=mp3", "'ivr.voice_format' must be one of"),
    ("ivr.menu={'1': billing}", "menus are IVR flows now"),
])
def test_bad_ivr_settings_are_one_clear_line(setting, words):
    with pytest.raises(cfg.ConfigError, match=words.replace("(", r"\(")):
        cfg.load(environ={}, overrides=[setting])


def test_a_tier_sent_to_a_missing_flow_stops_ctid(tmp_path):
    done = start(tmp_path, "ivr.flows={gold: golden}")
    assert done.returncode == 2 and "'golden', which is not loaded" in done.stderr
