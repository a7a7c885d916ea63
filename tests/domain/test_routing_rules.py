"""Each routing rule on its own, driven by a fake clock."""
import math

import pytest
from twisted.internet.task import Clock

from cti.domain.agent_state import AgentState
from cti.domain.routing import (Agent, CallStatus, ConfigError, DuplicateCall, InvalidRequest,
                                UnknownCall, WaitingCall, make_router)

NO_DEDICATED = {"vip_dedicated": {"enabled": False}}


def setup(policy="service-level", config=None):
    clock = Clock()
    clock.advance(1000)
    return clock, make_router(policy, config if config is not None else {}, clock.seconds)


def call(clock, cid, tier="standard", skill="bill", caller=None, ago=0.0):
    return WaitingCall(cid, tier, skill, clock.seconds() - ago, caller)


def busy_agent(router, clock, agent_id="a1", skills=None, group="general"):
    """Log an agent in and put it on a call so that the next calls wait."""
    router.agent_logged_in(Agent(agent_id, skills or {"bill": 5}, group), ready=False)
    return agent_id


def free_up(router, agent_id):
    router.agent_available(agent_id)


# ---------------------------------------------------------------- ordering policies

def test_fifo_takes_the_longest_wait_whatever_the_tier():
    clock, router = setup("fifo")
    busy_agent(router, clock)
    router.call_arrived(call(clock, "std", "standard", ago=30))
    router.call_arrived(call(clock, "plat", "platinum", ago=5))
    offer = router.agent_available("a1")
    assert offer.call_id == "std"


def test_strict_priority_takes_the_highest_tier_without_aging():
    clock, router = setup("priority")
    busy_agent(router, clock)
    router.call_arrived(call(clock, "std", "standard", ago=600))
    router.call_arrived(call(clock, "silver", "silver", ago=1))
    router.call_arrived(call(clock, "gold", "gold", ago=0))
    assert router.agent_available("a1").call_id == "gold"


def test_service_level_serves_one_tier_in_arrival_order_even_once_late():
    """A caller past the 20 s threshold is not passed by a fresher caller of its tier (it used
    to be: a late call kept a tenth of its urgency)."""
    clock, router = setup()
    busy_agent(router, clock)
    router.call_arrived(call(clock, "late", ago=40))     # already past 20 s
    router.call_arrived(call(clock, "close", ago=18))    # 2 s from its threshold
    router.call_arrived(call(clock, "fresh", ago=1))
    order = []
    for _ in range(3):
        offer = router.agent_available("a1")
        order.append(offer.call_id)
        router.offer_answered(offer.call_id)
        router.call_ended(offer.call_id, 1)
    assert order == ["late", "close", "fresh"]


def test_a_vip_past_its_threshold_is_not_passed_by_a_later_standard_caller():
    """The PBX case: a platinum caller who had waited 38 s was overtaken by standard callers."""
    clock, router = setup()
    busy_agent(router, clock)
    router.call_arrived(call(clock, "platinum", "platinum", ago=38))
    router.call_arrived(call(clock, "std-close", "standard", ago=17))
    router.call_arrived(call(clock, "std-fresh", "standard", ago=2))
    assert router.agent_available("a1").call_id == "platinum"


def test_no_caller_is_passed_by_one_who_arrived_more_than_its_max_wait_later():
    clock, router = setup("service-level", {"service_level": {"adapt_every": 10}})
    tiers = router.config.tiers
    for _ in range(400):                 # every VIP tier misses everything: their head starts
        for tier in tiers.vip:           # grow until standard's max_wait stops them
            router.live.record(tier, clock.seconds(), False, abandoned=True)
    for _ in range(200):
        clock.advance(10)
        router.policy.prepare(clock.seconds())
    max_wait = tiers["standard"].max_wait
    assert [router.policy.head_start(t) for t in tiers.vip] == [max_wait] * 4
    busy_agent(router, clock)
    router.call_arrived(call(clock, "old", "standard", ago=max_wait + 1))
    router.call_arrived(call(clock, "vip", "platinum"))
    assert router.agent_available("a1").call_id == "old"


def test_service_level_follows_the_tier_most_at_risk():
    clock, router = setup("service-level", {"service_level": {"adapt_every": 10}})
    tiers = router.config.tiers
    router.policy.prepare(clock.seconds())
    for _ in range(200):                                  # gold keeps missing its target
        router.live.record(tiers["gold"], clock.seconds(), False, abandoned=True)
        router.live.record(tiers["standard"], clock.seconds(), True)
    clock.advance(600)
    router.policy.prepare(clock.seconds())
    head = router.policy.head_start
    assert head(tiers["gold"]) > 5.0 and head(tiers["standard"]) == 0.0
    assert head(tiers["platinum"]) >= head(tiers["diamond"]) >= head(tiers["gold"])
    busy_agent(router, clock)
    router.call_arrived(call(clock, "std", "standard", ago=15))
    router.call_arrived(call(clock, "gold", "gold", ago=10))
    assert router.agent_available("a1").call_id == "gold"


def test_unknown_policy_and_bad_config_are_refused():
    with pytest.raises(ConfigError, match="unknown routing policy"):
        make_router("round-robin", {}, Clock().seconds)
    with pytest.raises(ConfigError):
        make_router("fifo", {"rings": [[5, 3]]}, Clock().seconds)
    with pytest.raises(ConfigError, match="widen"):
        make_router("fifo", {"rings": [[0, 3], [10, 7]]}, Clock().seconds)
    with pytest.raises(ConfigError, match="unknown routing keys"):
        make_router("fifo", {"colour": 1}, Clock().seconds)
    with pytest.raises(ConfigError):
        make_router("fifo", {"tiers": [{"name": "x", "target": 2}]}, Clock().seconds)


@pytest.mark.parametrize("key", ["late_weight", "max_weight", "adapt_rate"])
def test_settings_that_no_longer_do_anything_are_refused(key):
    with pytest.raises(ConfigError, match=key):
        make_router("service-level", {"service_level": {key: 0.1}}, Clock().seconds)
    assert make_router("service-level", {"service_level": {"adapt_step": 2}},
                       Clock().seconds).config.adapt_step == 2.0


# ---------------------------------------------------------------- agent choice

def test_agent_choice_by_proficiency_then_longest_idle():
    clock, router = setup("fifo")
    router.agent_logged_in(Agent("novice", {"bill": 3}))
    clock.advance(1)
    router.agent_logged_in(Agent("expert-late", {"bill": 9}))
    clock.advance(1)
    router.agent_logged_in(Agent("expert-later", {"bill": 9}))
    assert router.call_arrived(call(clock, "c1")).agent_id == "expert-late"
    assert router.call_arrived(call(clock, "c2")).agent_id == "expert-later"
    assert router.call_arrived(call(clock, "c3")).agent_id == "novice"


def test_idle_order_is_global_across_skills():
    clock, router = setup("fifo")
    router.agent_logged_in(Agent("both", {"bill": 5, "tech": 5}))
    clock.advance(5)
    router.agent_logged_in(Agent("bill-only", {"bill": 5}))
    router.call_arrived(call(clock, "t1", skill="tech"))            # "both" takes tech
    router.offer_answered("t1")
    clock.advance(60)
    router.call_ended("t1", 60)
    router.agent_available("both")
    # "both" has been idle since now, "bill-only" for 65 s: bill-only is next for bill
    assert router.call_arrived(call(clock, "b1")).agent_id == "bill-only"


def test_offer_goes_only_to_agents_with_the_skill():
    clock, router = setup("fifo")
    router.agent_logged_in(Agent("tech", {"tech": 10}))
    assert router.call_arrived(call(clock, "b1", skill="bill")) is None
    assert router.position("b1") == 1


# ---------------------------------------------------------------- rings (widening)

def test_rings_widen_to_less_proficient_agents_as_the_call_waits():
    clock, router = setup("fifo", {"rings": [[0, 8], [15, 4], [30, 1]]})
    router.agent_logged_in(Agent("low", {"bill": 2}))
    router.agent_logged_in(Agent("mid", {"bill": 5}))
    assert router.call_arrived(call(clock, "c1")) is None
    clock.advance(14.9)
    assert router.tick() == []
    clock.advance(0.1)
    offers = router.tick()
    assert [(o.call_id, o.agent_id) for o in offers] == [("c1", "mid")]
    assert router.call_arrived(call(clock, "c2")) is None
    clock.advance(30)
    assert [(o.call_id, o.agent_id) for o in router.tick()] == [("c2", "low")]


def test_freed_agent_only_takes_calls_whose_ring_reached_it():
    clock, router = setup("fifo", {"rings": [[0, 8], [20, 1]]})
    busy_agent(router, clock, "low", {"bill": 3})
    router.call_arrived(call(clock, "young", ago=5))
    assert router.agent_available("low") is None
    router.call_arrived(call(clock, "old", ago=25))
    assert router.agent_state("low") is AgentState.RESERVED


# ---------------------------------------------------------------- VIP dedicated agents

def test_dedicated_agent_takes_vip_first_then_others_when_no_vip_waits():
    clock, router = setup("fifo")
    busy_agent(router, clock, "vip1", group="vip")
    router.call_arrived(call(clock, "std", "standard", ago=100))
    router.call_arrived(call(clock, "gold", "gold", ago=1))
    assert router.agent_available("vip1").call_id == "gold"
    router.offer_answered("gold")
    router.call_ended("gold", 30)
    assert router.agent_available("vip1").call_id == "std"


def test_dedicated_agents_can_be_kept_for_vip_only():
    clock, router = setup("fifo", {"vip_dedicated": {"take_others": False}})
    router.agent_logged_in(Agent("vip1", {"bill": 5}, "vip"))
    assert router.call_arrived(call(clock, "std")) is None
    assert router.call_arrived(call(clock, "plat", "platinum")).agent_id == "vip1"


def test_vip_call_overflows_to_general_agents_after_the_set_wait():
    clock, router = setup("fifo", {"vip_dedicated": {"overflow_after": 8}})
    busy_agent(router, clock, "vip1", group="vip")
    router.agent_logged_in(Agent("gen1", {"bill": 5}))
    assert router.call_arrived(call(clock, "plat", "platinum")) is None
    clock.advance(7)
    assert router.tick() == []
    clock.advance(1)
    assert [(o.call_id, o.agent_id) for o in router.tick()] == [("plat", "gen1")]


def test_without_dedicated_agents_logged_in_vip_calls_go_to_anyone():
    clock, router = setup("fifo")
    router.agent_logged_in(Agent("gen1", {"bill": 5}))
    assert router.call_arrived(call(clock, "plat", "platinum")).agent_id == "gen1"


def test_last_dedicated_agent_leaving_opens_waiting_vip_calls():
    clock, router = setup("fifo")
    busy_agent(router, clock, "vip1", group="vip")
    router.agent_logged_in(Agent("gen1", {"bill": 5}))
    router.call_arrived(call(clock, "plat", "platinum"))
    offers = router.agent_logged_out("vip1")
    assert [(o.call_id, o.agent_id) for o in offers] == [("plat", "gen1")]


# ---------------------------------------------------------------- familiar agent

def served_by(router, clock, agent_id, caller):
    router.call_arrived(call(clock, "first", caller=caller))
    router.offer_answered("first")
    clock.advance(120)
    router.call_ended("first", 120)


def test_familiar_agent_gets_the_caller_first_when_free():
    clock, router = setup("fifo", NO_DEDICATED)
    router.agent_logged_in(Agent("alice", {"bill": 5}))
    served_by(router, clock, "alice", "13800000000")
    router.agent_logged_in(Agent("bob", {"bill": 9}))     # better and idle longer now
    router.agent_available("alice")
    offer = router.call_arrived(call(clock, "again", caller="13800000000"))
    assert (offer.agent_id, offer.reason) == ("alice", "familiar")


def test_call_is_held_a_few_seconds_for_a_busy_familiar_agent():
    clock, router = setup("fifo", {"familiar": {"hold_seconds": 5}})
    router.agent_logged_in(Agent("alice", {"bill": 5}))
    served_by(router, clock, "alice", "139")
    router.agent_logged_in(Agent("bob", {"bill": 5}))
    assert router.call_arrived(call(clock, "again", caller="139")) is None
    assert router.call_status("again") is CallStatus.HELD
    clock.advance(3)
    offer = router.agent_available("alice")
    assert (offer.call_id, offer.agent_id, offer.reason) == ("again", "alice", "familiar")


def test_hold_expires_and_the_call_goes_to_anyone():
    clock, router = setup("fifo", {"familiar": {"hold_seconds": 5}})
    router.agent_logged_in(Agent("alice", {"bill": 5}))
    served_by(router, clock, "alice", "139")
    router.agent_logged_in(Agent("bob", {"bill": 5}))
    router.call_arrived(call(clock, "again", caller="139"))
    clock.advance(5)
    assert [(o.call_id, o.agent_id) for o in router.tick()] == [("again", "bob")]


def test_familiar_memory_fades():
    clock, router = setup("fifo", {"familiar": {"remember_seconds": 60}})
    router.agent_logged_in(Agent("alice", {"bill": 5}))
    served_by(router, clock, "alice", "139")
    router.agent_logged_in(Agent("bob", {"bill": 5}))
    clock.advance(61)
    assert router.call_arrived(call(clock, "later", caller="139")).agent_id == "bob"


def test_paused_familiar_agent_releases_held_calls():
    clock, router = setup("fifo", {"familiar": {"hold_seconds": 30}})
    router.agent_logged_in(Agent("alice", {"bill": 5}))
    served_by(router, clock, "alice", "139")
    router.agent_logged_in(Agent("bob", {"bill": 5}))
    router.call_arrived(call(clock, "again", caller="139"))
    offers = router.agent_unavailable("alice", "lunch")
    assert [(o.call_id, o.agent_id) for o in offers] == [("again", "bob")]


# ---------------------------------------------------------------- RONA, abandon, life cycle

def test_rona_puts_the_call_back_at_its_arrival_and_the_agent_not_ready():
    clock, router = setup("fifo")
    busy_agent(router, clock, "a1")
    busy_agent(router, clock, "a2")
    router.call_arrived(call(clock, "first", ago=10))
    router.call_arrived(call(clock, "second", ago=5))
    assert router.agent_available("a1").call_id == "first"
    assert router.position("second") == 1
    clock.advance(15)
    assert router.offer_failed("first") is None
    assert router.agent_state("a1") is AgentState.NOT_READY
    assert router.position("first") == 1 and router.position("second") == 2
    offer = router.agent_available("a2")
    assert (offer.call_id, offer.waited) == ("first", 25.0)


def test_rona_call_goes_straight_to_another_free_agent():
    clock, router = setup("fifo")
    router.agent_logged_in(Agent("a1", {"bill": 9}))
    router.agent_logged_in(Agent("a2", {"bill": 5}))
    assert router.call_arrived(call(clock, "c")).agent_id == "a1"
    assert router.offer_failed("c").agent_id == "a2"


def test_abandon_while_ringing_frees_the_agent_for_the_next_call():
    clock, router = setup("fifo")
    busy_agent(router, clock, "a1")
    router.call_arrived(call(clock, "c1", ago=10))
    router.call_arrived(call(clock, "c2", ago=5))
    router.agent_available("a1")
    offer = router.call_abandoned("c1")
    assert (offer.call_id, offer.agent_id) == ("c2", "a1")
    with pytest.raises(UnknownCall):
        router.position("c1")


def test_agent_is_in_after_call_work_until_available():
    clock, router = setup("fifo")
    router.agent_logged_in(Agent("a1", {"bill": 5}))
    router.call_arrived(call(clock, "c1"))
    router.offer_answered("c1")
    router.call_ended("c1", 100)
    assert router.agent_state("a1") is AgentState.AFTER_CALL_WORK
    assert router.call_arrived(call(clock, "c2")) is None
    assert router.agent_available("a1").call_id == "c2"


def test_no_agent_is_offered_two_calls():
    clock, router = setup("fifo")
    router.agent_logged_in(Agent("a1", {"bill": 5}))
    assert router.call_arrived(call(clock, "c1")) is not None
    assert router.call_arrived(call(clock, "c2")) is None
    with pytest.raises(InvalidRequest):
        router.agent_available("a1")


@pytest.mark.parametrize("action", [
    lambda r: r.offer_answered("c1"),
    lambda r: r.offer_failed("c1"),
    lambda r: r.call_ended("c1", 3),
])
def test_facts_out_of_order_are_refused(action):
    clock, router = setup("fifo")
    router.call_arrived(call(clock, "c1"))
    with pytest.raises(InvalidRequest):
        action(router)
    with pytest.raises(DuplicateCall):
        router.call_arrived(call(clock, "c1"))
    with pytest.raises(InvalidRequest, match="unknown tier"):
        router.call_arrived(call(clock, "c9", tier="bronze"))


# ---------------------------------------------------------------- announcements

def test_position_and_estimated_wait():
    clock, router = setup("priority")
    busy_agent(router, clock, "a1", {"bill": 5})
    busy_agent(router, clock, "a2", {"bill": 5})
    router.call_arrived(call(clock, "s1", "standard", ago=30))
    router.call_arrived(call(clock, "g1", "gold", ago=10))
    router.call_arrived(call(clock, "s2", "standard", ago=5))
    router.call_arrived(call(clock, "t1", "standard", skill="tech"))
    assert [router.position(c) for c in ("g1", "s1", "s2", "t1")] == [1, 2, 3, 1]
    assert router.estimated_wait("standard", "bill") == pytest.approx(4 * 180.0 / 2)
    assert router.estimated_wait("standard", "nobody-has-it") == math.inf
    router.agent_available("a1")                                   # takes g1 after 10 s
    router.offer_answered("g1")
    assert router.estimated_wait("gold", "bill") == pytest.approx(10.0)


def test_service_level_positions_follow_its_order():
    clock, router = setup()
    busy_agent(router, clock)
    router.call_arrived(call(clock, "late", ago=40))
    router.call_arrived(call(clock, "close", ago=18))
    router.call_arrived(call(clock, "fresh", ago=1))
    positions = {c: router.position(c) for c in ("late", "close", "fresh")}
    order = []
    for _ in range(3):
        offer = router.agent_available("a1")
        order.append(offer.call_id)
        router.offer_answered(offer.call_id)
        router.call_ended(offer.call_id, 1)
    assert sorted(positions, key=positions.get) == order


def test_estimated_wait_is_zero_when_an_agent_is_free():
    clock, router = setup()
    router.agent_logged_in(Agent("a1", {"bill": 5}))
    assert router.estimated_wait("gold", "bill") == 0.0


# ---------------------------------------------------------------- restart

def test_snapshot_restores_places_states_and_holds():
    clock, router = setup("service-level", {"familiar": {"hold_seconds": 10}})
    router.agent_logged_in(Agent("alice", {"bill": 5}))
    served_by(router, clock, "alice", "139")
    router.agent_logged_in(Agent("bob", {"bill": 5}, "vip"), ready=False)
    router.call_arrived(call(clock, "held", caller="139"))
    router.call_arrived(call(clock, "c1", ago=12))
    router.call_arrived(call(clock, "c2", "gold", ago=3))
    data = router.snapshot()
    twin = make_router("service-level", {"familiar": {"hold_seconds": 10}}, clock.seconds)
    twin.restore(data)
    assert twin.snapshot() == data
    assert twin.call_status("held") is CallStatus.HELD
    assert twin.agent_state("bob") is AgentState.NOT_READY
    assert twin.agent_available("bob").call_id == "c2"
    assert router.agent_available("bob").call_id == "c2"
    clock.advance(10)
    assert [(o.call_id, o.agent_id) for o in twin.tick()] == []   # alice is in wrap-up
    # the hold ran out; "c1" arrived 12 s before "held", so it goes first
    assert twin.agent_available("alice").call_id == "c1"
    with pytest.raises(InvalidRequest):
        twin.restore(data)
    with pytest.raises(InvalidRequest):
        make_router("fifo", {}, clock.seconds).restore({"version": 99})


def test_a_caller_first_in_line_stays_first_as_it_passes_its_threshold():
    """The demo case: a standard caller at position 1 fell to position 15 after 21 s."""
    clock, router = setup()
    busy_agent(router, clock)
    router.call_arrived(call(clock, "first"))
    told = []
    for n in range(16):
        clock.advance(1.5)
        router.call_arrived(call(clock, f"later{n}"))
        told.append(router.position("first"))
    assert clock.seconds() - router._calls["first"].call.arrived_at > 21
    assert told == [1] * 16
    assert router.agent_available("a1").call_id == "first"


def test_you_are_next_only_when_no_caller_can_still_pass():
    clock, router = setup("priority")
    busy_agent(router, clock)
    router.call_arrived(call(clock, "std", "standard"))
    router.call_arrived(call(clock, "gold", "gold"))
    assert [router.position("gold"), router.position("std")] == [1, 2]
    clock.advance(30)
    assert router.is_next("gold") is False      # a platinum caller arriving now would pass it
    assert router.is_next("std") is False       # "gold" is ahead
    clock, router = setup("fifo")
    busy_agent(router, clock)
    busy_agent(router, clock, "a2", {"bill": 5, "tech": 5})
    router.call_arrived(call(clock, "b1", "standard"))
    assert router.is_next("b1") is False        # a caller held for its agent could still pass
    clock.advance(6)
    assert router.is_next("b1") is True
    assert router.position("b1") == 1
    router.call_arrived(call(clock, "t1", "standard", skill="tech", ago=60))
    assert router.is_next("b1") is True         # another line: a2 may take t1 first
    router.agent_logged_out("a2")
    assert router.is_next("b1") is True
    assert router.agent_available("a1").call_id == "b1"


def test_you_are_next_is_not_told_while_an_agent_cannot_take_the_caller_yet():
    clock, router = setup("fifo", {"rings": [[0, 7], [30, 1]]})
    busy_agent(router, clock, "expert", {"bill": 9})
    busy_agent(router, clock, "novice", {"bill": 3})
    router.call_arrived(call(clock, "c1", ago=10))
    assert router.is_next("c1") is False        # the novice can take it only from 30 s on
    clock.advance(25)
    router.tick()
    assert router.is_next("c1") is True
    assert router.is_next("nobody") is False
