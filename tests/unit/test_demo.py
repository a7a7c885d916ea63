"""What the demo prints for a new user: links that open, an account that gets calls, a summary
line that stays on its own line within 80 columns."""
import io
import unicodedata
from types import SimpleNamespace

import pytest
from twisted.internet import reactor

from cti import config as cfg
from cti.cli.main import DEFAULT_TOKEN_FILE
from cti.demo import DEMO_OVERRIDES, Demo


def columns(line: str) -> int:
    """Terminal columns: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def demo(tmp_path):
    config = cfg.load(environ={}, overrides=DEMO_OVERRIDES + [
        f"database.url=sqlite:///{tmp_path}/ctid.sqlite",
        f"database.spill_file={tmp_path}/outbox.jsonl",
        f"queue_log.file={tmp_path}/queue_log", "fastagi.port=0", "web.port=0"])
    out = Terminal()
    runner = Demo(config, reactor, out=out)
    yield runner
    runner.daemon.db.engine.dispose()


def test_the_demo_keeps_its_token_where_ctictl_looks_by_default():
    config = cfg.load(environ={}, overrides=DEMO_OVERRIDES)
    data_directory = config["database"]["spill_file"].rsplit("/", 1)[0]
    assert f"{data_directory}/ctid-api-token" == DEFAULT_TOKEN_FILE


def test_suggested_account_is_a_general_agent(demo):
    first = demo.first_agent()
    agent = demo.daemon.agents.get(first)
    assert agent.group == "general"
    banner = "\n".join(demo.banner())
    assert f"agent{first} / demo" in banner


def test_banner_links_only_what_a_browser_opens_and_points_at_ctictl(demo, tmp_path):
    lines = demo.banner()
    port = demo.daemon.config["api"]["port"]
    assert any(line.endswith(f"http://127.0.0.1:{port}/") for line in lines)
    assert not any("/api/status" in line for line in lines)
    assert any("ctictl" in line and line.endswith(" status") for line in lines)
    assert all(columns(line) <= 80 for line in lines if str(tmp_path) not in line)
    assert sum("坐席页面" in line or "运维命令" in line for line in lines) == 2
    assert any(f"--token-file {tmp_path}/ctid-api-token" in line for line in lines)


def test_banner_calls_the_desktop_what_the_page_calls_itself(demo):
    # The page's title is "坐席工作台"; "座席" in the banner would be another word to the user.
    import re
    from cti.demo import ROOT
    title = re.search(r"<title>(.*?)</title>", (ROOT / "cti" / "web" / "agent.html").read_text(
        encoding="utf-8")).group(1)
    chinese = [line for line in demo.banner() if "页面" in line]
    assert chinese and all(line.split("页面")[0][-2:] in title for line in chinese), (title, chinese)


def _ended(outcome):
    return SimpleNamespace(abandoned=outcome == "abandoned", outcome=outcome,
                           ended=SimpleNamespace(called=True))


def test_summary_fits_80_columns_even_when_busy(demo):
    demo.callers.calls = [_ended("abandoned" if i % 10 == 0 else
                                 "self-service" if i % 10 < 4 else "agent")
                          for i in range(9999)]
    line = demo.summary()
    assert len(line) < 80
    assert line.startswith("calls 9999 ivr 3000 wait   0 gone 1000 rdy  0") \
        and line.endswith("ami down"), line
    demo.callers.calls = [_ended("abandoned") for i in range(10 ** 6)]
    assert len(demo.summary()) < 80


def test_banner_after_a_summary_starts_on_a_line_of_its_own(demo):
    demo.print_summary()
    demo.say("ctid demo: hello")
    text = demo.out.getvalue()
    assert "\nctid demo: hello\n" in text
    assert text.startswith("\r")


def test_calls_of_a_previous_demo_run_are_not_recorded_again(tmp_path):
    # The simulated PBX lives in the demo's process: its calls end when the demo stops. The
    # next run must not record them as calls that ended "while ctid was down", with the
    # hours in between counted as talk or wait.
    import json
    from cti.services.journal import CallJournal
    (tmp_path / "ctid-calls.json").write_text(json.dumps([
        {"call_id": "cti-1.7", "channel": "Local/1@callers-1;2", "uniqueid": "1.7",
         "linkedid": "1.7", "caller_number": "13800000001", "state": "connected",
         "agent_id": "1005", "arrival": 1000.0, "created": 1000.0, "answered_at": 1010.0},
        {"call_id": "cti-1.8", "channel": "Local/1@callers-2;2", "uniqueid": "1.8",
         "linkedid": "1.8", "caller_number": "13800000002", "state": "queued",
         "arrival": 1000.0, "created": 1000.0}]))
    config = cfg.load(environ={}, overrides=DEMO_OVERRIDES + [
        f"database.url=sqlite:///{tmp_path}/ctid.sqlite",
        f"database.spill_file={tmp_path}/ctid-outbox.jsonl",
        f"queue_log.file={tmp_path}/queue_log", "fastagi.port=0", "web.port=0"])
    runner = Demo(config, reactor, out=Terminal())
    journal = next(s for s in runner.daemon.service if isinstance(s, CallJournal))
    journal.startService()
    try:
        runner.daemon.resync.reconcile({})          # the first resync: the new PBX is empty
        assert runner.daemon.records.contacts_written == 0
    finally:
        journal.stopService()
        runner.daemon.db.engine.dispose()
