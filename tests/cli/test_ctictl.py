"""ctictl against a real ctid over HTTP: tables, JSON, agent actions, refusals, roles.

ctid runs in this process on the asyncio reactor (its AMI link has nothing to talk to, which is
fine: the API does not need it); ctictl runs in a thread, as it blocks on urllib.
"""
import json
import urllib.request

import pytest
import pytest_twisted
from twisted.internet import reactor, threads

from cti import app, config as cfg
from cti.cli.main import main as ctictl
from cti.services.auth import Principal
from cti.storage.repositories.agents import add_agent, add_user
from tests.e2e.harness import free_port


@pytest_twisted.async_yield_fixture
async def daemon(tmp_path):
    config = cfg.load(environ={}, overrides=[
        f"database.url=sqlite:///{tmp_path}/ctid.sqlite", f"database.spill_file={tmp_path}/outbox.jsonl",
        f"queue_log.file={tmp_path}/queue_log", f"ami.port={free_port()}", "ami.secret=x",
        "fastagi.port=0", "web.port=0", f"api.port={free_port()}",
        "acd.not_ready_reasons={lunch: {zh: 午餐, en: Lunch}, meeting: {zh: 会议, en: Meeting}}"])
    db = app.open_database(config, reactor)

    def seed(session):
        add_agent(session, "1001", "Alice", "PJSIP/6001", "pw", team="red")
        add_agent(session, "1002", "Bob", "PJSIP/6002", "pw", team="blue")
        add_user(session, "alice", "secret-pw", "agent", agent_number="1001")
        add_agent(session, "1003", "Carol", "PJSIP/6003", "pw", team="green")
        add_user(session, "sue", "sup-pw", "supervisor", teams=("red", "green"))   # no agent
    db.run_blocking(seed)
    db.engine.dispose()
    d = app.build(config, reactor)
    d.service.startService()
    yield d
    await d.service.stopService()


async def run(daemon, capsys, *argv, token=None):
    args = ["--url", f"http://127.0.0.1:{daemon.config['api']['port']}",
            "--token", token or daemon.admin_token, *argv]
    code = await threads.deferToThread(ctictl, args)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest_twisted.ensureDeferred
async def test_tables_and_json(daemon, capsys):
    code, out, _ = (await run(daemon, capsys, "agents"))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["AGENT_ID", "NAME", "STATE"]
    assert any(line.startswith("1001") and "logged-out" in line for line in lines)
    code, out, _ = (await run(daemon, capsys, "agents", "--json"))
    assert {a["agent_id"] for a in json.loads(out)} == {"1001", "1002", "1003"}
    code, out, _ = (await run(daemon, capsys, "queue"))
    assert (code, out.strip()) == (0, "(none)")
    code, out, _ = (await run(daemon, capsys, "status", "--json"))
    status = json.loads(out)
    assert status["agents"] == {"logged-out": 3} and status["waiting"] == 0


@pytest_twisted.ensureDeferred
async def test_agent_actions_and_refusals(daemon, capsys):
    assert (await run(daemon, capsys, "agent", "login", "1001"))[:2] == (0, "agent 1001: ready\n")
    code, out, _ = (await run(daemon, capsys, "agent", "pause", "1001", "--reason", "lunch"))
    assert (code, out) == (0, "agent 1001: not-ready (lunch)\n")
    assert daemon.agents.get("1001").reason == "lunch"
    code, _, err = (await run(daemon, capsys, "agent", "pause", "1002"))
    assert code == 1 and "illegal-state" in err                  # 1002 is logged out
    assert (await run(daemon, capsys, "agent", "unpause", "1001"))[0] == 0
    code, out, _ = (await run(daemon, capsys, "agent", "pause", "1001"))  # no --reason: the
    assert (code, out) == (0, "agent 1001: not-ready (lunch)\n")       # centre's first code
    code, _, err = (await run(daemon, capsys, "agent", "pause", "9999"))
    assert code == 1 and "unknown-agent" in err


@pytest_twisted.ensureDeferred
async def test_bad_token_is_refused(daemon, capsys):
    code, _, err = (await run(daemon, capsys, "agents", token="forged"))
    assert code == 1 and "unauthenticated" in err


@pytest_twisted.ensureDeferred
async def test_an_agent_sees_and_changes_only_itself(daemon, capsys):
    token = daemon.tokens.issue(Principal("alice", "agent", agent_id="1001"))
    code, out, _ = (await run(daemon, capsys, "agents", "--json", token=token))
    assert [a["agent_id"] for a in json.loads(out)] == ["1001"]
    code, _, err = (await run(daemon, capsys, "agent", "login", "1002", token=token))
    assert code == 1 and "forbidden" in err
    assert (await run(daemon, capsys, "agent", "login", "1001", token=token))[0] == 0


@pytest_twisted.ensureDeferred
async def test_login_checks_the_password_off_the_reactor(daemon):
    url = f"http://127.0.0.1:{daemon.config['api']['port']}/api/login"

    def post(body):
        req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    status, body = await threads.deferToThread(post, {"user": "alice", "password": "secret-pw"})
    assert status == 200 and body["role"] == "agent" and body["agent_id"] == "1001"
    assert daemon.tokens.authenticate(body["token"]).agent_id == "1001"
    # A supervisor with no agent of their own sees the teams they supervise, and only those.
    status, body = await threads.deferToThread(post, {"user": "sue", "password": "sup-pw"})
    assert status == 200 and body["role"] == "supervisor"
    assert daemon.tokens.authenticate(body["token"]).teams == frozenset({"red", "green"})
    seen = await threads.deferToThread(lambda: json.loads(urllib.request.urlopen(
        urllib.request.Request(url.replace("/login", "/agents"),
                               headers={"authorization": f"Bearer {body['token']}"}),
        timeout=5).read()))
    assert sorted(a["agent_id"] for a in seen) == ["1001", "1003"]          # red, green; not blue
    status, body = await threads.deferToThread(post, {"user": "alice", "password": "nope"})
    assert status == 401 and body["error"]["code"] == "bad-credentials"
    status, body = await threads.deferToThread(post, ["not", "an", "object"])
    assert status == 400


def test_unreachable_ctid_exits_3(capsys):
    code = ctictl(["--url", f"http://127.0.0.1:{free_port()}", "--token", "t", "status"])
    assert code == 3 and "not reachable" in capsys.readouterr().err


def test_tokens_never_look_like_options():
    # `ctictl --token -xyz...` is an argparse error; a url-safe token starts with "-" 1 in 64.
    from cti.services.auth import TokenStore, new_token
    store = TokenStore(lambda: 0.0)
    tokens = [store.issue(Principal("root", "admin")) for _ in range(300)]
    tokens += [new_token(24) for _ in range(300)]
    assert all(t.isalnum() for t in tokens)
    assert len(set(tokens)) == len(tokens) and min(map(len, tokens)) >= 48
