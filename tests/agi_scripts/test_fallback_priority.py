"""The standalone fallback AGI script, run as Asterisk runs it: env on stdin, commands on stdout.

Asterisk starts it with Asterisk's environment, not the operator's: the script finds the
database from ctid's configuration file, and says loudly when it cannot.
"""
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from cti.storage import migrations
from cti.customers.store import add_customer

SCRIPT = Path(__file__).resolve().parents[2] / "agi_scripts" / "ctid-fallback-priority.py"
OK = "200 result=1\n"
UNSET = "200 result=0\n"


@pytest.fixture
def database(tmp_path):
    url = f"sqlite:///{tmp_path}/ctid.sqlite"
    engine = create_engine(url)
    migrations.upgrade(engine)
    with Session(engine) as session, session.begin():
        add_customer(session, "VIP", ["13800000001"], tier="diamond")
    engine.dispose()
    return url


@pytest.fixture
def config_file(tmp_path, database):
    path = tmp_path / "etc" / "ctid.yaml"
    path.parent.mkdir()
    path.write_text(f"ami:\n  host: 10.0.0.5\ndatabase:\n  url: {database}\n")
    return path


def run(callerid, replies, *, arg=None, env=None):
    lines = ["agi_request: ctid-fallback-priority.py", "agi_channel: PJSIP/trunk-1",
             f"agi_callerid: {callerid}"] + ([f"agi_arg_1: {arg}"] if arg else [])
    proc = subprocess.run([sys.executable, str(SCRIPT)],
                          input="\n".join(lines) + "\n\n" + "".join(replies),
                          capture_output=True, text=True, timeout=30,
                          env={"PATH": "/usr/bin:/bin", **(env or {})})
    return proc.returncode, proc.stdout.splitlines(), proc.stderr


def test_database_found_from_the_config_file_named_in_the_agi_argument(config_file):
    code, commands, _ = run("13800000001", [UNSET, OK, OK], arg=str(config_file))
    assert code == 0
    assert commands[0] == 'GET VARIABLE "CTI_TIER"'
    assert commands[1] == 'SET VARIABLE "QUEUE_PRIO" "4"'


def test_config_file_from_the_environment_and_its_conf_d(tmp_path, config_file, database):
    main = tmp_path / "other.yaml"
    main.write_text("database:\n  url: sqlite:////nowhere/ctid.sqlite\n")
    (tmp_path / "other.d").mkdir()
    (tmp_path / "other.d" / "10-db.yaml").write_text(f"database:\n  url: {database}\n")
    code, commands, _ = run("13800000001", [UNSET, OK, OK], env={"CTID_CONFIG": str(main)})
    assert commands[1] == 'SET VARIABLE "QUEUE_PRIO" "4"'


def test_tier_already_on_the_channel_wins(config_file):
    code, commands, _ = run("13800000001", ["200 result=1 (platinum)\n", OK, OK],
                            arg=str(config_file))
    assert commands[1] == 'SET VARIABLE "QUEUE_PRIO" "5"'


def test_unknown_caller_is_standard(config_file):
    code, commands, _ = run("13999999999", [UNSET, OK, OK], arg=str(config_file))
    assert commands[1] == 'SET VARIABLE "QUEUE_PRIO" "1"'


def assert_loud(commands, stderr, words):
    log = [c for c in commands if c.startswith("EXEC Log")]
    assert len(log) == 1 and log[0].startswith('EXEC Log "WARNING,ctid fallback:')
    assert any(c.startswith('VERBOSE "ctid fallback:') and c.endswith(" 1") for c in commands)
    assert "ctid fallback:" in stderr
    for word in words:
        assert word in log[0] and word in stderr


def test_no_settings_in_asterisks_environment_is_loud_and_still_queues_sanely(tmp_path):
    missing = tmp_path / "missing.yaml"
    code, commands, stderr = run("13800000001", [UNSET, OK, OK, OK, OK], arg=str(missing))
    assert code == 0
    assert_loud(commands, stderr, [str(missing)])
    assert 'SET VARIABLE "QUEUE_PRIO" "1"' in commands


def test_no_settings_but_a_tier_on_the_channel_says_what_it_did(tmp_path):
    """The warning tells the operator the caller kept the tier ctid gave it (ranked by the
    built-in table), not that it was queued without one."""
    missing = tmp_path / "missing.yaml"
    code, commands, stderr = run("13800000001", ["200 result=1 (gold)\n", OK, OK, OK, OK],
                                 arg=str(missing))
    assert code == 0
    assert_loud(commands, stderr, ["queued as tier gold"])
    assert "without its customer tier" not in stderr
    assert 'SET VARIABLE "QUEUE_PRIO" "3"' in commands


def test_relative_sqlite_url_is_refused_loudly(tmp_path):
    conf = tmp_path / "ctid.yaml"
    conf.write_text("database:\n  url: sqlite:///var/ctid.sqlite\n")
    code, commands, stderr = run("13800000001", [UNSET, OK, OK, OK, OK], arg=str(conf))
    assert_loud(commands, stderr, ["relative"])
    assert 'SET VARIABLE "QUEUE_PRIO" "1"' in commands


def test_database_down_never_fails_the_caller(tmp_path):
    conf = tmp_path / "ctid.yaml"
    conf.write_text(f"database:\n  url: sqlite:///{tmp_path}/missing/dir/x.sqlite\n")
    code, commands, stderr = run("13800000001", [UNSET, OK, OK, OK, OK], arg=str(conf))
    assert code == 0
    assert_loud(commands, stderr, ["does not exist"])
    assert 'SET VARIABLE "QUEUE_PRIO" "1"' in commands


def test_tiers_configured_for_ctid_give_the_priorities(tmp_path, database):
    # acd.routing.tiers, most important first; a tier's QUEUE_PRIO is its rank (cti.domain.tiers)
    conf = tmp_path / "ctid.yaml"
    conf.write_text(f"database:\n  url: {database}\nacd:\n  routing:\n    tiers:\n"
                    "      - {name: vip, vip: true, rank: 9}\n"
                    "      - {name: diamond, vip: true}\n"
                    "      - {name: normal}\n")
    code, commands, _ = run("13800000001", [UNSET, OK, OK], arg=str(conf))     # diamond in db
    assert commands[1] == 'SET VARIABLE "QUEUE_PRIO" "2"'
    code, commands, _ = run("13900000000", ["200 result=1 (vip)\n", OK, OK], arg=str(conf))
    assert commands[1] == 'SET VARIABLE "QUEUE_PRIO" "9"'
    code, commands, _ = run("13999999999", [UNSET, OK, OK], arg=str(conf))     # not a customer
    assert commands[1] == 'SET VARIABLE "QUEUE_PRIO" "1"'                      # the lowest tier
    (tmp_path / "ctid.d").mkdir()
    (tmp_path / "ctid.d" / "50-tiers.yaml").write_text(
        "acd:\n  routing:\n    tiers: [{name: diamond, rank: 7}, {name: normal, rank: 3}]\n")
    code, commands, _ = run("13999999999", [UNSET, OK, OK], arg=str(conf))
    assert commands[1] == 'SET VARIABLE "QUEUE_PRIO" "3"'                      # conf.d wins


def test_the_database_named_in_asterisks_environment_needs_no_file(tmp_path, database):
    code, commands, stderr = run("13800000001", [UNSET, OK, OK],
                                 arg=str(tmp_path / "missing.yaml"),
                                 env={"CTID_DATABASE__URL": database})
    assert commands[1] == 'SET VARIABLE "QUEUE_PRIO" "4"' and stderr == ""
