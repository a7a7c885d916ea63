"""ctictl at an operator's terminal: pipes that close, token files that are not there, and
server text that must not drive the terminal."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cti.cli import main as cli

STAFFING = ["staffing", "--calls-per-hour", "1200", "--aht", "180", "--target", "0.8",
            "--within", "20"]


def ctictl(*argv, cwd=None, stdout=subprocess.PIPE, env=None):
    return subprocess.run([sys.executable, "-m", "cti.cli.main", *argv], cwd=cwd, stdout=stdout,
                          stderr=subprocess.PIPE, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def test_a_reader_that_goes_away_is_a_quiet_exit():
    read_end, write_end = os.pipe()
    os.close(read_end)                       # `| head` that has already gone
    try:
        proc = ctictl(*STAFFING, stdout=write_end)
    finally:
        os.close(write_end)
    assert proc.returncode == 0
    assert proc.stderr == ""


def test_a_token_file_given_but_missing_is_an_error(tmp_path):
    proc = ctictl("--url", "http://127.0.0.1:9", "--token-file", str(tmp_path / "nope"), "status")
    assert proc.returncode == 2
    assert f"cannot read the token file {tmp_path / 'nope'}" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_default_token_file_missing_says_where_it_looked(tmp_path):
    env = {k: "" for k in ("CTID_TOKEN", "CTID_TOKEN_FILE")}
    proc = subprocess.run([sys.executable, "-m", "cti.cli.main", "status"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if k not in env})
    assert proc.returncode == 2
    assert "var/ctid-api-token" in proc.stderr and "--token-file" in proc.stderr


def test_an_empty_token_file_is_an_error(tmp_path):
    (tmp_path / "token").write_text("\n")
    proc = ctictl("--token-file", str(tmp_path / "token"), "status")
    assert proc.returncode == 2 and "is empty" in proc.stderr


NASTY = "lunch\x1b[2J\x1b[H\u202eevil\r\n"


@pytest.fixture
def server_says(monkeypatch):
    replies = {}

    def call(self, method, path, body=None):
        reply = replies[path]
        if isinstance(reply, Exception):
            raise reply
        return reply
    monkeypatch.setattr(cli.Client, "call", call)
    return replies


def test_free_text_from_the_server_cannot_drive_the_terminal(server_says, capsys):
    server_says["/api/agents"] = [{"agent_id": "1001", "name": "王\x07芳", "state": "not-ready",
                                   "reason": NASTY}]
    server_says["/api/agents/1001/pause"] = {"agent_id": "1001", "state": "not-ready",
                                             "reason": NASTY}
    server_says["/api/status"] = {"ami": NASTY, "agents": {"ready": 1}}
    for argv in (["agents"], ["agent", "pause", "1001"], ["status"]):
        assert cli.main(["--token", "t", *argv]) == 0
        out = capsys.readouterr().out
        assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
        assert "\r" not in out
        assert "lunch\\x1b[2J\\x1b[H\\u202eevil\\x0d\\x0a" in out
    capsys.readouterr()


def test_json_output_escapes_what_json_itself_leaves_raw(server_says, capsys):
    import json
    # json.dumps(ensure_ascii=False) escapes only C0 controls: an 8-bit CSI (U+009B) or a
    # right-to-left override (U+202E) from a pause reason would reach the terminal raw.
    agents = [{"agent_id": "1001", "name": "王芳", "state": "not-ready",
               "reason": NASTY + "\x9b2J\U000e0041"}]
    server_says["/api/agents"] = agents
    server_says["/api/agents/1001/pause"] = agents[0]
    for argv in (["agents", "--json"], ["agent", "pause", "1001", "--json"]):
        assert cli.main(["--token", "t", *argv]) == 0
        out = capsys.readouterr().out
        assert not any(ch in out for ch in "\x1b\x07\r\x9b\u202e\U000e0041"), repr(out)
        assert "王芳" in out                                   # Chinese stays readable
        back = json.loads(out)
        assert back == (agents if argv[0] == "agents" else agents[0])   # still the same JSON


def test_chinese_names_are_printed_as_they_are(server_says, capsys):
    server_says["/api/agents"] = [{"agent_id": "1001", "name": "王芳", "state": "ready"}]
    assert cli.main(["--token", "t", "agents"]) == 0
    assert "王芳" in capsys.readouterr().out


def test_a_refusal_message_is_escaped_too(server_says, capsys):
    server_says["/api/agents/1001/pause"] = cli.Refused(409, "illegal-state", "no\x1b[2J")
    assert cli.main(["--token", "t", "agent", "pause", "1001"]) == 1
    assert "no\\x1b[2J" in capsys.readouterr().err


ROOT = Path(__file__).resolve().parents[2]


def test_the_checkout_wrapper_finds_its_checkouts_token_from_anywhere(tmp_path):
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    (checkout / ".venv" / "bin").mkdir(parents=True)
    wrapper = checkout / "scripts" / "ctictl"
    wrapper.write_bytes((ROOT / "scripts" / "ctictl").read_bytes())
    wrapper.chmod(0o755)
    (checkout / ".venv" / "bin" / "ctictl").symlink_to(Path(sys.executable).parent / "ctictl")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("CTID_TOKEN", "CTID_TOKEN_FILE")}

    def wrapped(*argv):
        return subprocess.run([str(wrapper), *argv], cwd=elsewhere, capture_output=True,
                              text=True, timeout=60, env=env)

    proc = wrapped("--url", "http://127.0.0.1:9", "status")
    assert proc.returncode == 2
    assert f"token file {checkout}/var/ctid-api-token" in proc.stderr
    (checkout / "var").mkdir()
    (checkout / "var" / "ctid-api-token").write_text("token\n")
    proc = wrapped("--url", "http://127.0.0.1:9", "status")
    assert proc.returncode == 3 and "not reachable" in proc.stderr      # token found: it asked
    proc = wrapped(*STAFFING)
    assert proc.returncode == 0 and "Erlang" in proc.stdout


def test_columns_line_up_on_a_terminal_with_chinese_names():
    import unicodedata

    def columns_at(line):     # the display column where each cell starts (after 2+ spaces)
        out, col, before = [], 0, "  "
        for ch in line:
            if ch != " " and before == "  ":
                out.append(col)
            col += 2 if unicodedata.east_asian_width(ch) in "WF" else 1
            before = (before + ch)[-2:]
        return out

    text = cli.table([{"agent_id": "2001", "name": "王芳", "state": "ready"},
                      {"agent_id": "1001", "name": "Agent 1001", "state": "busy"},
                      {"agent_id": "2002", "name": "欧阳娜娜", "state": "not-ready"}],
                     ["agent_id", "name", "state"])
    header, *rows = text.splitlines()
    assert all(columns_at(row) == columns_at(header) for row in rows), text


@pytest.fixture
def http_server():
    """A stand-in ctid answering every request with 404 and noting the paths asked for."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer
    paths = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            paths.append(self.path)
            body = json.dumps({"error": {"code": "not-found", "message": "no such agent"}})
            self.send_response(404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", paths
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("agent_id", ["10 01", "1001/../../status", "1001?x=1", "10\x0101"])
def test_an_agent_id_is_one_path_segment_whatever_is_typed(http_server, agent_id, capsys):
    url, paths = http_server
    assert cli.main(["--url", url, "--token", "t", "agent", "pause", agent_id]) == 1
    assert "no such agent" in capsys.readouterr().err
    assert len(paths) == 1 and paths[0].startswith("/api/agents/")
    assert paths[0].endswith("/pause") and paths[0].count("/") == 4, paths


def test_a_url_without_a_scheme_is_a_usage_error_not_a_traceback(capsys):
    assert cli.main(["--url", "127.0.0.1:8765", "--token", "t", "status"]) == 2
    err = capsys.readouterr().err
    assert "127.0.0.1:8765" in err and "http://" in err and "Traceback" not in err
