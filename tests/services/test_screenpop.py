"""Screen-pop: what the pop carries, who gets it, and one pop per call on an agent's desktop."""
from twisted.internet.task import Clock

from cti.domain.tiers import TierTable
from cti.services.agents import Agent
from cti.services.calls import Call
from cti.services.screenpop import ScreenPop


class Hub:
    def __init__(self):
        self.frames = []

    def send_to_agent(self, agent_id, kind, data, team=None):
        self.frames.append((agent_id, kind, data, team))
        return 1


def setup():
    clock = Clock()
    clock.advance(1000)
    hub = Hub()
    return clock, hub, ScreenPop(hub, TierTable.from_config(), clock.seconds)


def call(n, tier="gold", arrival=990.0):
    return Call(f"c{n}", f"PJSIP/carrier-{n}", f"u{n}", f"u{n}", "13800138000", tier=tier,
                arrival=arrival, customer_name="Li Lei", ivr_path="1>2")


def test_pop_carries_the_call_to_the_agent_and_their_team():
    clock, hub, pop = setup()
    pop.offer_made(call(1), Agent("1001", "A", "PJSIP/6001", team="north"))
    [(agent_id, kind, data, team)] = hub.frames
    assert (agent_id, kind, team) == ("1001", "screen-pop", "north")
    assert data["call_id"] == "c1" and data["caller"] == "13800138000"
    assert data["customer"]["name"] == "Li Lei" and data["tier"] == "gold" and data["vip"]
    assert data["ivr_path"] == "1>2" and data["wait_seconds"] == 10.0
    assert pop.pops_sent == 1 and pop.sent[0].delivered == 1


def test_a_call_offered_again_to_the_same_agent_is_not_popped_twice():
    clock, hub, pop = setup()
    a, b = Agent("1001", "A", "PJSIP/6001"), Agent("1002", "B", "PJSIP/6002")
    pop.offer_made(call(1), a)
    pop.offer_made(call(1), a)                   # its Redirect was lost; back to the same agent
    assert [f[2]["call_id"] for f in hub.frames] == ["c1"]
    pop.offer_made(call(1), b)                   # another agent's desktop does not show it
    pop.offer_made(call(2), a)
    pop.offer_made(call(1), a)                   # a's desktop shows c2 now: c1 pops again
    assert [(f[0], f[2]["call_id"]) for f in hub.frames] == [
        ("1001", "c1"), ("1002", "c1"), ("1001", "c2"), ("1001", "c1")]
    assert pop.pops_sent == 4
