"""Sending a caller into a flow: who may, what is sent (once), the hold, and the route."""
from dataclasses import dataclass

import pytest
import pytest_twisted
from twisted.internet import defer
from twisted.internet.task import Clock

from cti.agentivr.flows import NEXT, SendToFlow, summary
from cti.domain.call_state import CallState
from cti.domain.principal import Principal
from cti.net.ami_errors import AMIActionError, AMIConnectionLost
from cti.protocol.ami_message import Message
from cti.services.agents import Agent, AgentService
from cti.services.calls import Call, CallTracker
from cti.services.control import ControlError
from tests.agentivr.fakes import FakeSession

AGENT = Principal("agent1001", "agent", agent_id="1001")
OTHER = Principal("agent1002", "agent", agent_id="1002")
BOSS = Principal("boss", "supervisor", teams=frozenset({"red"}))
STRANGER = Principal("boss2", "supervisor", teams=frozenset({"blue"}))


@dataclass
class Result:
    outcome: str
    results: dict


class AMI:
    def __init__(self):
        self.sent = []
        self.error = None

    def __call__(self, action, headers):
        self.sent.append((action, dict(headers)))
        if self.error and action == "Redirect":
            return defer.fail(self.error)
        return defer.succeed(Message.of({"Response": "Success"}))


@pytest.fixture
def flows():
    clock = Clock()
    clock.advance(1000)
    tracker = CallTracker(clock.seconds)
    agents = AgentService([Agent("1001", "A", "PJSIP/6001", team="red"),
                           Agent("1002", "B", "PJSIP/6002", team="red")], clock)
    tracker.subscribe(agents)
    agents.login("1001")
    call = tracker.register(Call("c1", "PJSIP/trunk-1", "u1", "u1", "13800000001"))
    tracker.handle(Message.of({"Event": "UserEvent", "UserEvent": "CTIWait", "Channel": call.channel}))
    agents.reserve("1001", "c1")
    tracker.offered("c1", "1001")
    tracker.handle(Message.of({"Event": "DialEnd", "Channel": call.channel, "DialStatus": "ANSWER"}))
    assert call.state is CallState.CONNECTED
    ami, pushed = AMI(), []
    service = SendToFlow(tracker=tracker, agents=agents, send_action=ami, ami_ready=lambda: True,
                         push=lambda agent, kind, data, team=None: pushed.append((agent, kind, data)) or 1,
                         clock=clock, hold_seconds=30, flows=lambda: {"verify-pin", "survey"})
    service.run_flow = lambda session, flow, call: defer.succeed(Result("done", {"pin": "verified"}))
    tracker.subscribe(service)
    return service, tracker, agents, ami, pushed, clock, call


def request(service, principal, body, call_id="c1"):
    return service.request(principal, call_id, body)


def refused(fn, *args):
    with pytest.raises(ControlError) as exc:
        fn(*args)
    return exc.value.kind, exc.value.code


def test_only_the_agent_on_the_call_or_their_supervisor(flows):
    service, tracker, *_ = flows
    assert refused(request, service, OTHER, {"flow": "verify-pin"}) == ("forbidden", "forbidden")
    assert refused(request, service, STRANGER, {"flow": "verify-pin"}) == ("forbidden", "forbidden")
    assert refused(request, service, AGENT, {"flow": "verify-pin"}, "nope")[0] == "not-found"
    d = request(service, BOSS, {"flow": "verify-pin"})
    assert d.result["state"] == "away" and d.result["agent_id"] == "1001"


def test_a_bad_or_unknown_flow_is_refused_and_nothing_is_sent(flows):
    service, tracker, agents, ami, *_ = flows
    assert refused(request, service, AGENT, {"flow": "Bad Flow"}) == ("invalid", "bad-flow")
    assert refused(request, service, AGENT, {}) == ("invalid", "bad-flow")
    assert refused(request, service, AGENT, {"flow": "nope"}) == ("invalid", "unknown-flow")
    service.run_flow = None
    assert refused(request, service, AGENT, {"flow": "survey"}) == ("invalid", "unknown-flow")
    assert ami.sent == []


def test_one_setvar_and_one_redirect_and_never_a_second(flows):
    service, tracker, agents, ami, pushed, clock, call = flows
    d = request(service, AGENT, {"flow": "verify-pin"})
    assert d.result["hold_until"] == 1030
    assert [a for a, _ in ami.sent] == ["Setvar", "Redirect"]
    assert ami.sent[0][1] == {"Channel": call.channel, "Variable": "CTI_FLOW", "Value": "verify-pin"}
    assert ami.sent[1][1]["Context"] == "cti-flow"
    assert call.state is CallState.AWAY
    assert refused(request, service, AGENT, {"flow": "verify-pin"}) == ("conflict", "not-connected")
    assert len(ami.sent) == 2


def test_the_pbx_link_down_moves_nothing(flows):
    service, tracker, agents, ami, pushed, clock, call = flows
    service._ami_ready = lambda: False
    assert refused(request, service, AGENT, {"flow": "survey"})[1] == "pbx-unreachable"
    assert ami.sent == [] and call.state is CallState.CONNECTED


def test_a_refused_redirect_takes_the_call_back(flows):
    service, tracker, agents, ami, pushed, clock, call = flows
    ami.error = AMIActionError("No such channel", Message.of({"Response": "Error"}))
    d = request(service, AGENT, {"flow": "survey"})
    assert d.result.type is ControlError and d.result.value.code == "not-moved"
    d.addErrback(lambda _: None)
    assert call.state is CallState.CONNECTED and service.holds == {}
    clock.advance(60)
    assert agents.get("1001").state.value == "busy"           # no hold timer left behind


def test_an_uncertain_redirect_is_never_sent_again(flows):
    service, tracker, agents, ami, pushed, clock, call = flows
    ami.error = AMIConnectionLost("link lost")
    d = request(service, AGENT, {"flow": "survey"})
    assert d.result["uncertain"] is True and call.state is CallState.AWAY
    assert [a for a, _ in ami.sent].count("Redirect") == 1


def test_the_hold_runs_out_and_lets_the_agent_go(flows):
    service, tracker, agents, ami, pushed, clock, call = flows
    request(service, AGENT, {"flow": "verify-pin"})
    clock.advance(29)
    assert agents.get("1001").state.value == "busy"
    clock.advance(1)
    assert agents.get("1001").state.value == "after-call-work" and call.agent_id is None
    assert call.state is CallState.AWAY


@pytest_twisted.ensureDeferred
async def test_the_route_runs_the_flow_tells_the_desktop_and_sends_the_caller_back(flows):
    service, tracker, agents, ami, pushed, clock, call = flows
    request(service, AGENT, {"flow": "verify-pin"})
    session = FakeSession("c1", "verify-pin", uniqueid="u1")
    await service(session)
    assert session.variables[NEXT] == "agent"
    assert session.variables["CTI_TARGET"] == "PJSIP/6001" and session.variables["CTI_AGENT"] == "1001"
    assert pushed == [("1001", "call", {
        "event": "ivr-result", "call_id": "c1", "flow": "verify-pin", "outcome": "done",
        "results": {"pin": "verified"}, "summary": "密码已验证 · PIN verified"})]
    clock.advance(100)                                        # the hold timer is gone
    assert agents.get("1001").state.value == "busy"


@pytest_twisted.ensureDeferred
async def test_after_the_hold_ran_out_the_caller_queues(flows):
    service, tracker, agents, ami, pushed, clock, call = flows
    request(service, AGENT, {"flow": "verify-pin"})
    clock.advance(31)
    session = FakeSession("c1", "verify-pin", uniqueid="u1")
    await service(session)
    assert session.variables[NEXT] == "queue" and "cti/back-to-queue" in session.played
    assert pushed and pushed[0][0] == "1001"                   # the agent still learns the result


@pytest_twisted.ensureDeferred
async def test_a_flow_that_ends_the_call_and_one_that_fails(flows):
    service, tracker, agents, ami, pushed, clock, call = flows
    request(service, AGENT, {"flow": "verify-pin"})
    service.run_flow = lambda s, f, c: defer.fail(RuntimeError("boom"))
    session = FakeSession("c1", "verify-pin", uniqueid="u1")
    await service(session)
    assert session.variables[NEXT] == "agent" and pushed[-1][2]["outcome"] == "error"
    tracker.handle(Message.of({"Event": "DialBegin", "Channel": call.channel,
                               "DestChannel": "PJSIP/6001-00000003"}))
    tracker.handle(Message.of({"Event": "DialEnd", "Channel": call.channel,
                               "DestChannel": "PJSIP/6001-00000003", "DialStatus": "ANSWER"}))
    request(service, AGENT, {"flow": "verify-pin"})
    service.run_flow = lambda s, f, c: defer.succeed(Result("hangup", {}))
    ending = FakeSession("c1", "verify-pin", uniqueid="u1")
    await service(ending)
    assert ending.variables[NEXT] == "hangup" and service.holds == {}


@pytest_twisted.ensureDeferred
async def test_a_session_that_matches_no_caller_sent_there_goes_to_the_queue(flows):
    service, tracker, agents, ami, pushed, clock, call = flows
    session = FakeSession("c1", "verify-pin", uniqueid="u1")
    await service(session)                                    # never sent: not away
    assert session.variables[NEXT] == "queue" and pushed == []
    request(service, AGENT, {"flow": "verify-pin"})
    other = FakeSession("c1", "verify-pin", uniqueid="u9")
    await service(other)
    assert other.variables[NEXT] == "queue" and pushed == []


def test_summaries_in_both_languages():
    assert summary("verify-pin", "done", {"pin": "failed"}) == "密码验证未通过 · PIN not verified"
    assert "balance=12" in summary("x", "done", {"balance": "12"})
    assert "hung up" in summary("x", "hangup", {})


def test_a_held_agent_cannot_log_out_until_the_hold_ends(flows):
    from cti.services.agents import AgentError
    service, tracker, agents, ami, pushed, clock, call = flows
    request(service, AGENT, {"flow": "verify-pin"})
    with pytest.raises(AgentError):
        agents.logout("1001")
    clock.advance(30)                                         # the hold runs out
    agents.logout("1001")
    assert agents.get("1001").state.value == "logged-out"
