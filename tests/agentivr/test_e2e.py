"""End to end through the PBX simulator running our dialplan and a real ctid, on SQLite and
PostgreSQL: feature-code log-in (a wrong PIN, then the right one) and pause from an agent's
softphone; an agent sending the caller into a flow and getting them back ahead of a waiting
caller, with the result on the desktop; the survey after the agent hangs up (score on the
contact) and none when the caller hangs up first.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
import pytest_twisted
from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol
from sqlalchemy import create_engine, text
from twisted.internet import defer, reactor, threads

from cti import demo
from cti.agentivr import store
from cti.cli.main import main as ctictl
from cti.domain.agent_state import AgentState
from cti.domain.call_state import CallState
from cti.domain.principal import Principal
from cti.pbxsim.engine.callers import place_call
from cti.pbxsim.prompts import shipped_sounds
from cti.storage.unit_of_work import Database
from tests.e2e.harness import World, sleep

AGENT, SEAT = "1002", "6002"          # a general agent (1001 is the VIP seat of a 3-agent demo)
PIN = "2468"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ctid.sqlite'}"
    cluster = request.getfixturevalue("postgres_cluster")
    name = f"agentivr_{tmp_path.name.lower().replace('-', '_')[:40]}"
    admin = create_engine(cluster.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return cluster.url_for(name)


def make_world(tmp_path, database, *, pin: bool = True, **config) -> World:
    world = World(tmp_path, database, agents=3, no_answer_seats=())
    world.pbx.sounds.update(shipped_sounds())    # prompts at their spoken length
    for key, value in config.items():
        section, name = key.split(".", 1)
        target = world.config[section]
        *path, last = name.split(".")
        for part in path:
            target = target[part]
        target[last] = value
    if pin:
        db = Database(database, reactor)
        db.run_blocking(store.set_pin, AGENT, PIN)
        db.engine.dispose()
    return world


def api_url(daemon) -> str:
    return f"http://127.0.0.1:{daemon.config['api']['port']}"


def post(daemon, path: str, body: dict, token: str):
    """A request to ctid's API from another thread, as a desktop or ctictl would send it."""
    def send():
        request = urllib.request.Request(api_url(daemon) + path, method="POST",
                                         data=json.dumps(body).encode(),
                                         headers={"Authorization": f"Bearer {token}",
                                                  "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as refused:
            return refused.code, json.loads(refused.read())
    return threads.deferToThread(send)


async def until(predicate, seconds: float = 10.0, what: str = "condition"):
    deadline = reactor.seconds() + seconds
    while not predicate():
        if reactor.seconds() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await sleep(0.05)


def contact_row(daemon, call_id: str):
    def work(session):
        row = session.execute(text("SELECT disposition, survey_score, agent_number, talk_seconds"
                                   " FROM contacts WHERE call_id = :c"), {"c": call_id}).first()
        return tuple(row) if row else None
    return daemon.db.run(work)


# -- feature codes -------------------------------------------------------------------------------
@pytest_twisted.ensureDeferred
async def test_feature_codes_log_in_with_a_pin_then_pause_with_a_reason_number(tmp_path, database):
    world = make_world(tmp_path, database, pin=False)
    try:
        daemon = await world.start_ctid()
        agent = daemon.agents.get(AGENT)
        assert agent.state is AgentState.LOGGED_OUT
        # the PIN set with ctictl, through ctid's API (hashed there, never echoed)
        pin_file = tmp_path / "pin"
        pin_file.write_text(PIN + "\n")
        code = await threads.deferToThread(ctictl, [
            "--url", api_url(daemon), "--token", daemon.admin_token,
            "agent", "pin", AGENT, "--pin-file", str(pin_file)])
        assert code == 0
        # a wrong PIN: nothing changes, the phone is told so
        wrong = place_call(world.pbx, SEAT, "cti-agent-features", f"*71{AGENT}", trunk=SEAT,
                           dtmf="1357#" + "#")           # a wrong PIN, then nothing
        await wrong.ended
        assert wrong.channel.variables.get("CTI_FEATURE_RESULT") == "pin-wrong"
        assert agent.state is AgentState.LOGGED_OUT
        # the right PIN from the agent's own seat: logged in and ready at once
        right = place_call(world.pbx, SEAT, "cti-agent-features", f"*71{AGENT}", trunk=SEAT,
                           dtmf=PIN + "#")
        await right.ended
        assert right.channel.variables.get("CTI_FEATURE_RESULT") == "logged-in"
        assert agent.state is AgentState.READY
        # *732: the second reason of the centre's list
        second = daemon.agent_ivr.features._reasons.all()[1].code
        pause = place_call(world.pbx, SEAT, "cti-agent-features", "*732", trunk=SEAT)
        await pause.ended
        assert agent.state is AgentState.NOT_READY and agent.reason == second
        assert pause.channel.variables.get("CTI_FEATURE_RESULT") == f"paused:{second}"
        unpause = place_call(world.pbx, SEAT, "cti-agent-features", "*74", trunk=SEAT)
        await unpause.ended
        assert agent.state is AgentState.READY
        # the right PIN from another agent's seat logs nobody in
        await (place_call(world.pbx, "6003", "cti-agent-features", "*72", trunk="6003")).ended
        other = place_call(world.pbx, "6003", "cti-agent-features", f"*71{AGENT}",
                           trunk="6003", dtmf=PIN + "#")
        await other.ended
        assert other.channel.variables.get("CTI_FEATURE_RESULT") == "wrong-phone"
        await daemon.outbox.drained()
        qlog = (tmp_path / "queue_log").read_text()
        assert f"|{AGENT}|AGENTLOGIN|" in qlog and f"|{AGENT}|PAUSE|{second}" in qlog
    finally:
        await world.close()


# -- agent -> flow -> same agent ---------------------------------------------------------------
class Recorder(WebSocketClientProtocol):
    def onOpen(self):
        self.sendMessage(json.dumps({"v": 1, "type": "auth", "id": "a",
                                     "data": {"token": self.factory.token}}).encode())

    def onMessage(self, payload, isBinary):
        frame = json.loads(payload)
        self.factory.frames.append(frame)
        if frame["type"] == "ack" and not self.factory.ready.called:
            self.factory.ready.callback(self)


async def second_desktop(daemon, agent_id: str):
    factory = WebSocketClientFactory(f"ws://127.0.0.1:{daemon.config['web']['port']}/push")
    factory.protocol = Recorder
    factory.frames, factory.ready = [], defer.Deferred()
    factory.token = daemon.tokens.issue(Principal(f"agent{agent_id}", "agent", agent_id=agent_id))
    reactor.connectTCP("127.0.0.1", daemon.config["web"]["port"], factory)
    conn = await factory.ready
    return conn, factory.frames


@pytest_twisted.ensureDeferred
async def test_agent_sends_the_caller_into_a_flow_and_gets_them_back_before_a_waiting_caller(
        tmp_path, database):
    world = make_world(tmp_path, database, **{"agentivr.hold_seconds": 20.0})
    world.phones.scripts[SEAT].talk_time = None          # the agent stays until we end it
    try:
        daemon = await world.start_ctid()
        daemon.agents.login(AGENT)
        desk, frames = await second_desktop(daemon, AGENT)
        # a known line (its PIN is the demo's): "0" for an agent, later its PIN in the flow
        number = world.numbers["standard"][0]
        first = place_call(world.pbx, number, "cti-inbound", "10010",
                           dtmf="0" + demo.DEMO_PIN + "#")
        world.calls.append(first)
        await until(lambda: first.connected_at is not None, what="the first caller answered")
        await until(lambda: getattr(daemon.tracker.by_channel(first.name), "state", None)
                    is CallState.CONNECTED, what="ctid sees the answer")   # AMI comes later
        call = daemon.tracker.by_channel(first.name)
        answered_at = call.answered_at
        redirects_before = sum(1 for _, name, _ in world.actions if name == "Redirect")
        token = daemon.tokens.issue(Principal(f"agent{AGENT}", "agent", agent_id=AGENT))
        other = daemon.tokens.issue(Principal("agent1003", "agent", agent_id="1003"))
        status, refused = await post(daemon, f"/api/calls/{call.call_id}/ivr",
                                     {"flow": "verify-pin"}, other)
        assert status == 403 and refused["error"]["code"] == "forbidden"
        status, result = await post(daemon, f"/api/calls/{call.call_id}/ivr",
                                    {"flow": "verify-pin"}, token)
        assert status == 200, result
        assert result["state"] == "away" and result["agent_id"] == AGENT
        status, again = await post(daemon, f"/api/calls/{call.call_id}/ivr",
                                   {"flow": "verify-pin"}, token)
        assert status == 409                                 # never a second Redirect
        await until(lambda: call.state is not CallState.CONNECTED, what="the caller away")
        # a second caller arrives while the first is in the flow: the held agent is not theirs
        second = place_call(world.pbx, "13900000002", "cti-inbound", "10010", dtmf="0")
        world.calls.append(second)
        await until(lambda: any(f["type"] == "call" and f["data"].get("event") == "ivr-result"
                                for f in frames), what="the flow's result on the desktop")
        await until(lambda: call.state is CallState.CONNECTED, what="the caller back")
        assert daemon.agents.get(AGENT).call_id == call.call_id
        result_frame = next(f for f in frames if f["type"] == "call")
        assert result_frame["data"]["results"] == {"pin": "verified", "verify-pin": "done"}
        assert "PIN verified" in result_frame["data"]["summary"]
        assert second.connected_at is None                   # still waiting
        waiting = daemon.tracker.by_channel(second.name)
        assert waiting is not None and waiting.state is CallState.QUEUED
        redirects = [h for _, name, h in world.actions if name == "Redirect"]
        assert len(redirects) - redirects_before == 1        # into the flow, once; back by dialplan
        assert redirects[-1]["Context"] == "cti-flow"
        assert call.answered_at == answered_at
        # the agent ends the call; the waiting caller is theirs next
        world.phones.scripts[SEAT].talk_time = 0.3
        world.pbx.request_hangup(_agent_leg(world, SEAT), 16)
        await until(lambda: second.connected_at is not None, what="the second caller answered")
        await daemon.outbox.drained()
        row = await contact_row(daemon, call.call_id)
        assert row[0] == "answered" and row[2] == AGENT
        desk.sendClose()
    finally:
        await world.close()


def _agent_leg(world, seat: str) -> str:
    legs = [c for name, c in world.pbx._channels.items()
            if name.startswith(f"PJSIP/{seat}-") and not c.hung_up]
    assert legs, f"no live leg of {seat}"
    return legs[-1]


# -- the survey -----------------------------------------------------------------------------------
@pytest_twisted.ensureDeferred
async def test_the_survey_after_the_agent_hangs_up_and_none_when_the_caller_does(tmp_path,
                                                                                database):
    world = make_world(tmp_path, database, **{"agentivr.survey.enabled": True})
    world.phones.scripts[SEAT].talk_time = 0.6
    try:
        daemon = await world.start_ctid()
        daemon.agents.login(AGENT)
        # the agent hangs up first: the caller keys 4 in the survey
        rated = place_call(world.pbx, "13900000011", "cti-inbound", "10010", dtmf="04")
        world.calls.append(rated)
        await until(lambda: rated.connected_at is not None, what="answered")
        call_id = f"cti-{rated.uniqueid}"
        await until(lambda: daemon.agents.get(AGENT).state is AgentState.AFTER_CALL_WORK,
                    what="after-call work as the agent leaves")
        assert not rated.channel.hung_up                    # the caller is in the survey
        await rated.ended
        assert rated.channel.variables.get("CTI_SURVEY_SCORE") == "4"
        await until(lambda: daemon.agents.get(AGENT).state is AgentState.READY, what="ready")
        # the caller hangs up while talking: not surveyed
        world.phones.scripts[SEAT].talk_time = None
        hasty = place_call(world.pbx, "13900000012", "cti-inbound", "10010", dtmf="05",
                           talk=0.3)
        world.calls.append(hasty)
        await hasty.ended
        hasty_id = f"cti-{hasty.uniqueid}"
        await daemon.outbox.drained()
        await until(lambda: daemon.agent_ivr.survey.scores.get(call_id) == 4, what="score")
        for _ in range(40):
            row = await contact_row(daemon, call_id)
            if row and row[1] is not None:
                break
            await sleep(0.1)
        assert row[0] == "answered" and row[1] == 4
        await until(lambda: daemon.tracker.get(hasty_id) is None, what="the hasty call ended")
        await daemon.outbox.drained()
        hasty_row = await contact_row(daemon, hasty_id)
        assert hasty_row is not None and hasty_row[1] is None
        assert "CTI_SURVEY_SCORE" not in hasty.channel.variables
        qlog = (tmp_path / "queue_log").read_text()
        assert "COMPLETEAGENT" in qlog and "COMPLETECALLER" in qlog
        # the answered-call marker was written on the survey path too
        assert world.pbx.database.get(("cti_answered", call_id), "").startswith(f"{AGENT}:")
    finally:
        await world.close()
