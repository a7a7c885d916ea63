"""The ``wait`` route's announcement: "you are next" is played only when it is true.

The real tracker, agent service, ACD and router; only AMI and the AGI session are faked.
"""
from twisted.internet.task import Clock

from cti.domain.routing import make_router
from cti.protocol.ami_message import Message
from cti.services.acd import ACDService, AMIConnector
from cti.services.agents import Agent, AgentService
from cti.services.agi_routes.wait import make_route
from cti.services.calls import Call, CallTracker

from tests.services.test_acd import FakeAMI, arrive, dial


class Session:
    """Just enough of an AGI session for the route: its channel, its argument and the sounds
    played. The session is the call's own channel (the route ignores claims from another)."""

    def __init__(self, call):
        self.args = [call.call_id]
        self.channel = call.channel
        self.uniqueid = call.uniqueid
        self.played = []

    async def stream_file(self, name):
        self.played.append(name)


def run(coroutine):
    """The route awaits nothing that suspends here: run it to the end in one step."""
    try:
        coroutine.send(None)
    except StopIteration:
        return
    raise AssertionError("the route waited on something the fake session does not provide")


def contact_centre(policy="service-level"):
    clock = Clock()
    clock.advance(1000)
    tracker = CallTracker(clock.seconds)
    agents = AgentService([Agent("1001", "A", "PJSIP/6001"), Agent("1002", "B", "PJSIP/6002")],
                          clock, wrap_up_seconds=5)
    acd = ACDService(make_router(policy, {}, clock.seconds), tracker, agents,
                     AMIConnector(FakeAMI().send_action))
    tracker.subscribe(agents)
    tracker.subscribe(acd)
    agents.subscribe(acd)
    route = make_route(tracker=tracker, acd=acd, clock=clock)
    return clock, tracker, agents, acd, route


def announced(route, call_id, tracker):
    session = Session(tracker.get(call_id))
    run(route(session))
    return session.played


def test_first_in_line_is_not_told_it_is_next_while_a_caller_could_still_pass():
    clock, tracker, agents, acd, route = contact_centre("priority")
    agents.login("1001")
    first = arrive(tracker, clock, 1)
    dial(tracker, first, "ANSWER")                      # the only agent is now on a call
    waiting = arrive(tracker, clock, 2)                 # standard, first in line
    clock.advance(30)
    assert acd.position(waiting.call_id) == 1
    # a platinum caller arriving now would still go first (strict priority): not "next"
    assert announced(route, waiting.call_id, tracker) == []


def test_you_are_next_is_played_once_no_caller_can_pass():
    clock, tracker, agents, acd, route = contact_centre()
    agents.login("1001")
    first = arrive(tracker, clock, 1)
    dial(tracker, first, "ANSWER")
    waiting = arrive(tracker, clock, 2)
    assert announced(route, waiting.call_id, tracker) == []      # a familiar caller could still pass
    clock.advance(6)
    assert announced(route, waiting.call_id, tracker) == ["queue-youarenext"]
    later = arrive(tracker, clock, 3)
    assert announced(route, later.call_id, tracker) == []        # second in line
