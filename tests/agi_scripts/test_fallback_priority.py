"""The standalone fallback AGI script, run as Asterisk runs it: env on stdin, commands on stdout."""
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from cti.storage import migrations
from cti.storage.repositories.customers import add_customer

SCRIPT = Path(__file__).resolve().parents[2] / "agi_scripts" / "ctid-fallback-priority.py"


@pytest.fixture
def database(tmp_path):
    url = f"sqlite:///{tmp_path}/ctid.sqlite"
    engine = create_engine(url)
    migrations.upgrade(engine)
    with Session(engine) as session, session.begin():
        add_customer(session, "VIP", ["13800000001"], tier="diamond")
    engine.dispose()
    return url


def run(url, callerid, replies):
    env = f"agi_request: ctid-fallback-priority.py\nagi_channel: PJSIP/trunk-1\nagi_callerid: {callerid}\n\n"
    proc = subprocess.run([sys.executable, str(SCRIPT)], input=env + "".join(replies),
                          capture_output=True, text=True, timeout=30,
                          env={"CTID_DATABASE_URL": url, "PATH": "/usr/bin:/bin"})
    return proc.returncode, proc.stdout.splitlines()


def test_tier_from_database_sets_queue_prio(database):
    code, commands = run(database, "13800000001",
                         ["200 result=0\n", "200 result=1\n", "200 result=1\n"])
    assert code == 0
    assert commands[0] == 'GET VARIABLE "CTI_TIER"'
    assert commands[1] == 'SET VARIABLE "QUEUE_PRIO" "4"'


def test_tier_already_on_the_channel_wins(database):
    code, commands = run(database, "13800000001",
                         ["200 result=1 (platinum)\n", "200 result=1\n", "200 result=1\n"])
    assert commands[1] == 'SET VARIABLE "QUEUE_PRIO" "5"'


def test_unknown_caller_is_standard(database):
    code, commands = run(database, "13999999999",
                         ["200 result=0\n", "200 result=1\n", "200 result=1\n"])
    assert commands[1] == 'SET VARIABLE "QUEUE_PRIO" "1"'


def test_database_down_never_fails_the_caller(tmp_path):
    code, commands = run(f"sqlite:///{tmp_path}/missing/dir/x.sqlite", "13800000001",
                         ["200 result=0\n", "200 result=1\n"])
    assert code == 0
    assert not any("QUEUE_PRIO" in c for c in commands)
    assert commands[-1].startswith("VERBOSE")
