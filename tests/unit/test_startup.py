"""Starting ctid as an operator does: `python -m cti.main` in a directory of its own.

A refused start says why in one line on stderr, exits 2, shows no traceback and creates no
database; a second ctid leaves the first one's token file alone.
"""
import logging
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cti import config as cfg
from cti import main as ctid_main
from tests.e2e.harness import free_port


def settings(**extra):
    values = {"ami.port": free_port(), "ami.secret": "x", "fastagi.port": free_port(),
              "api.port": free_port(), "web.port": free_port(), **extra}
    return [arg for key, value in values.items() for arg in ("--set", f"{key}={value}")]


def ctid(cwd, *argv, timeout=60):
    return subprocess.run([sys.executable, "-m", "cti.main", *argv], cwd=cwd, timeout=timeout,
                          capture_output=True, text=True)


def assert_refused(proc, *words):
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for word in words:
        assert word in lines[0]


@pytest.mark.parametrize("setting, words", [
    ("acd.policy=nonsense", ["acd.policy", "nonsense"]),
    ("acd.routing.tiers=7", ["acd.routing", "tiers"]),
    ("log.level=LOUD", ["log.level", "LOUD"]),
    ("acd.ring_timeout=20", ["acd.ring_timeout", "CTI_RING_TIMEOUT"]),
    ("fastagi.allowed_hosts=no-such-host.invalid", ["fastagi.allowed_hosts", "no-such-host"]),
    ("acd.not_ready_reasons={'Lunch!': {zh: x, en: x}}", ["acd.not_ready_reasons", "Lunch!"]),
    ("api.login_max_failures=0", ["api.login_max_failures"]),
    ("api.request_timeout=0", ["api.request_timeout"]),
    ("acd.unqueued_check_seconds=-1", ["acd.unqueued_check_seconds"]),
    ("database.threads=0", ["database.threads"]),
])
def test_bad_setting_is_one_line_exit_2_and_nothing_created(tmp_path, setting, words):
    proc = ctid(tmp_path, *settings(), "--set", setting, "--duration", "1")
    assert_refused(proc, *words)
    assert not (tmp_path / "var").exists()


def test_bad_setting_with_a_database_already_there_leaves_it_alone(tmp_path):
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "ctid.sqlite").write_bytes(b"")
    proc = ctid(tmp_path, *settings(), "--set", "acd.policy=nonsense", "--duration", "1")
    assert_refused(proc, "acd.policy")
    assert (tmp_path / "var" / "ctid.sqlite").read_bytes() == b""


def test_absolute_sqlite_path_in_a_missing_directory(tmp_path):
    missing = tmp_path / "no" / "such" / "dir"
    proc = ctid(tmp_path, *settings(**{"database.url": f"sqlite:///{missing}/ctid.sqlite"}),
                "--duration", "1")
    assert_refused(proc, str(missing), "does not exist")
    assert not (tmp_path / "no").exists() and not (tmp_path / "var").exists()


def test_a_lock_file_that_cannot_be_opened_is_one_line_and_exit_2(tmp_path):
    # e.g. a data directory or lock file left owned by another user; here a directory stands
    # in the lock file's place (root, which runs these tests, may open any file)
    (tmp_path / "var" / "ctid.lock").mkdir(parents=True)
    proc = ctid(tmp_path, *settings(), "--duration", "1")
    assert_refused(proc, "ctid.lock")
    assert not (tmp_path / "var" / "ctid.sqlite").exists()


def test_a_database_that_cannot_be_reached_is_one_line_without_its_password(tmp_path):
    url = f"postgresql+psycopg2://ctid:s3cret@127.0.0.1:{free_port()}/ctid"
    proc = ctid(tmp_path, *settings(**{"database.url": url}), "--duration", "1")
    assert_refused(proc, "database", "127.0.0.1")
    assert "s3cret" not in proc.stderr


def test_port_in_use(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        proc = ctid(tmp_path, *settings(**{"api.port": port}), "--duration", "1")
    assert_refused(proc, f"127.0.0.1:{port}", "in use")
    assert not (tmp_path / "var").exists()


def wait_for(path: Path, proc, seconds=30.0):
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.1)


def test_second_ctid_exits_2_and_leaves_the_first_ones_token(tmp_path):
    argv = settings()
    first = subprocess.Popen([sys.executable, "-m", "cti.main", *argv, "--duration", "60"],
                             cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True)
    try:
        token_file = tmp_path / "var" / "ctid-api-token"
        wait_for(token_file, first)
        time.sleep(0.5)                          # let it finish writing
        token = token_file.read_text()
        again = ctid(tmp_path, *argv, "--duration", "1")
        assert_refused(again, "in use")
        other_ports = ctid(tmp_path, *settings(), "--duration", "1")   # same data directory
        assert_refused(other_ports, "another ctid", f"pid {first.pid}")
        assert token_file.read_text() == token
        assert first.poll() is None
    finally:
        first.terminate()
        first.wait(30)


def test_data_files_are_private(tmp_path):
    proc = ctid(tmp_path, *settings(), "--duration", "2")
    assert proc.returncode == 0, proc.stderr
    var = tmp_path / "var"
    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    for path in var.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


def test_existing_readable_files_are_tightened_with_a_warning(tmp_path, caplog):
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    os.chmod(var, 0o755)
    journal = var / "ctid-calls.json"
    journal.write_text("{}")
    journal.chmod(0o644)
    database = tmp_path / "db" / "ctid.sqlite"
    database.parent.mkdir()
    database.write_bytes(b"")
    database.chmod(0o644)
    config = cfg.load(environ={}, overrides=[
        f"database.url=sqlite:///{database}", f"database.spill_file={var}/outbox.jsonl",
        f"queue_log.file={var}/queue_log", "fastagi.port=0", "api.port=0", "web.port=0"])
    umask = os.umask(0o022)
    try:
        with caplog.at_level(logging.WARNING, logger="cti.main"):
            lock = ctid_main.prepare(config)
        lock.close()
    finally:
        os.umask(umask)
    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    assert sum("readable by others" in r.getMessage() for r in caplog.records) == 3


def test_a_link_in_the_data_directory_does_not_change_the_file_it_points_at(tmp_path):
    # e.g. an operator's link to a file another program must go on reading
    var = tmp_path / "var"
    var.mkdir()
    elsewhere = tmp_path / "shared" / "report.txt"
    elsewhere.parent.mkdir()
    elsewhere.write_text("for the reporting tool")
    elsewhere.chmod(0o644)
    (var / "report.txt").symlink_to(elsewhere)
    changed = ctid_main.tighten_permissions(var, [])
    assert var / "report.txt" not in changed and elsewhere not in changed
    assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o644


def test_port_taken_between_the_check_and_the_bind(tmp_path):
    """The check cannot hold a port: another process may take it just after. The bind's own
    failure then is still one clear line and exit 2, not a traceback."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        script = ("import sys; from cti import main as m; m.check_ports = lambda listeners: None; "
                  "sys.exit(m.main(sys.argv[1:]))")
        proc = subprocess.run([sys.executable, "-c", script, *settings(**{"api.port": port}),
                               "--duration", "1"], cwd=tmp_path, timeout=60,
                              capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f":{port}" in proc.stderr.strip().splitlines()[-1]
