"""Properties of the ACD under random sequences of facts (hypothesis).

A state machine drives the indexed ``Router`` and the full-scan ``ScanRouter`` with the same
facts and clock: they must make identical offers; after every step no agent holds two calls,
every offer is one the agent can take, and no free agent is left beside a call it could take.

Fairness, checked on every offer: an agent is never given a call while a caller it could take
instead waits who must not be overtaken by it: same skill, same or higher tier rank, earlier
arrival (FIFO within tier and skill; no VIP passed by a later standard caller). The one
exception is the familiar agent's held call, which may pass only callers who arrived less than
``hold_seconds`` before it. Announcements: a caller's position grows only by callers who entered
the line since it was last told (an arrival placed ahead of it, a call back from a failed
offer); a caller told "you are next" is not passed by another caller of its skill at any agent
who could take it, until an agent logs in or the policy adjusts its head starts.

A second property overloads one agent with VIP callers: a standard caller is never passed by a
caller who arrived more than its tier's ``max_wait`` after it (never starved).
"""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition,
                                 rule)
from twisted.internet.task import Clock

from cti.domain.agent_state import AgentState
from cti.domain.routing import Agent, CallStatus, Offer, WaitingCall, make_router
from cti.domain.routing.reference import ScanRouter

TIERS = ["platinum", "diamond", "gold", "silver", "standard"]
SKILLS = ["bill", "tech", "sales"]
AGENTS = [f"a{n}" for n in range(6)]
CALLERS = [None, "139001", "139002"]

agent_profiles = st.builds(
    lambda skills, group: (skills, group),
    st.dictionaries(st.sampled_from(SKILLS), st.sampled_from([2, 5, 5, 8]), min_size=1,
                    max_size=3),
    st.sampled_from(["general", "general", "vip"]))


class RoutingMachine(RuleBasedStateMachine):

    @initialize(policy=st.sampled_from(["fifo", "priority", "service-level"]),
                rings=st.sampled_from([[[0, 1]], [[0, 7], [10, 4], [25, 1]]]),
                take_others=st.booleans(), dedicated=st.booleans(),
                hold=st.sampled_from([0, 5]), profiles=st.lists(agent_profiles, min_size=6,
                                                                max_size=6))
    def start(self, policy, rings, take_others, dedicated, hold, profiles):
        self.clock = Clock()
        self.clock.advance(10_000)
        config = {"rings": rings, "familiar": {"hold_seconds": hold},
                  "vip_dedicated": {"enabled": dedicated, "take_others": take_others,
                                    "overflow_after": 12},
                  "service_level": {"adapt_every": 7}}
        self.fast = make_router(policy, config, self.clock.seconds)
        self.scan = make_router(policy, config, self.clock.seconds, router_class=ScanRouter)
        self.profiles = dict(zip(AGENTS, profiles))
        self.calls = 0
        self.hold = hold
        self.promise_lasts = 7 if policy == "service-level" else float("inf")
        self.step = 0
        self.entered: dict[str, int] = {}     # call -> step at which it last entered the line
        self.told: dict[str, tuple[int, int]] = {}                  # call -> (position, step)
        self.promised: dict[str, tuple[float, int, frozenset]] = {}  # "you are next" (at, step,
        #                                                             agents who could take it)

    def both(self, method, *args):
        in_line = set(self.calls_in(CallStatus.WAITING, CallStatus.HELD))
        if method == "agent_logged_in":
            self.promised.clear()          # a new agent may take calls in another order
        fast = getattr(self.fast, method)(*args)
        scan = getattr(self.scan, method)(*args)
        assert fast == scan, f"{method}{args}: indexed {fast} vs scan {scan}"
        self.step += 1
        for cid in set(self.calls_in(CallStatus.WAITING, CallStatus.HELD)) - in_line:
            self.entered[cid] = self.step
        for offer in fast if isinstance(fast, list) else [fast]:
            if isinstance(offer, Offer):
                self.check_offer(offer)
        return fast

    def check_offer(self, offer):
        now = self.clock.seconds()
        agent = self.fast._agents[offer.agent_id]
        call = self.fast._calls[offer.call_id]
        assert call.call.skill in agent.agent.skills
        if offer.reason == "queue":
            assert self.fast._eligible(agent, call, now)
        for other in self.fast._calls.values():
            if (other.status is not CallStatus.WAITING or other.call.skill != call.call.skill
                    or other.tier.rank < call.tier.rank
                    or not self.fast._eligible(agent, other, now)):
                continue
            earlier = other.call.arrived_at < call.call.arrived_at or (
                other.call.arrived_at == call.call.arrived_at and other.tier.rank > call.tier.rank)
            if earlier and offer.reason == "familiar":
                earlier = other.call.arrived_at <= call.call.arrived_at - self.hold
            assert not earlier, f"{offer} overtakes {other.call}"
        self.promised.pop(offer.call_id, None)
        for cid, (at, step, takers) in list(self.promised.items()):
            if now > at + self.promise_lasts or cid not in self.fast._calls:
                del self.promised[cid]
                continue
            adopted = self.entered.get(offer.call_id, 0) > step and call.call.arrived_at < at
            if offer.agent_id in takers and not adopted:   # adopted: waiting all along, unseen
                assert call.call.skill != self.fast._calls[cid].call.skill, (
                    f"{cid} was told it is next, then {offer} went first")

    def logged_in(self):
        return list(self.fast._agents)

    def calls_in(self, *statuses):
        return sorted(cid for cid, c in self.fast._calls.items() if c.status in statuses)

    @rule(n=st.integers(0, 5), ready=st.booleans())
    def login(self, n, ready):
        agent_id = AGENTS[n]
        if agent_id not in self.fast._agents:
            skills, group = self.profiles[agent_id]
            self.both("agent_logged_in", Agent(agent_id, skills, group), ready)

    @rule(data=st.data(), rarely=st.integers(0, 3))
    def logout(self, data, rarely):
        candidates = [a for a in self.logged_in()
                      if self.fast.agent_state(a) is not AgentState.BUSY]
        if candidates and not rarely:
            self.both("agent_logged_out", data.draw(st.sampled_from(candidates)))

    @rule(batch=st.lists(st.tuples(
        st.sampled_from(TIERS), st.sampled_from(SKILLS[:2]), st.sampled_from(CALLERS),
        st.sampled_from([0, 0, 3, 15, 40, 200])), min_size=1, max_size=4))
    def arrive(self, batch):
        for tier, skill, caller, ago in batch:
            self.calls += 1
            self.both("call_arrived", WaitingCall(f"c{self.calls}", tier, skill,
                                                  self.clock.seconds() - ago, caller))

    @rule(data=st.data())
    def available(self, data):
        candidates = [a for a in self.logged_in() if self.fast.agent_state(a) in (
            AgentState.AFTER_CALL_WORK, AgentState.NOT_READY)]
        if candidates:
            self.both("agent_available", data.draw(st.sampled_from(candidates)))

    @precondition(lambda self: self.calls_in(CallStatus.CONNECTED))
    @rule(data=st.data(), talk=st.integers(1, 300))
    def next_call(self, data, talk):
        """Hang up and come straight back: the freed agent chooses among waiting calls."""
        call_id = data.draw(st.sampled_from(self.calls_in(CallStatus.CONNECTED)))
        agent_id = self.fast._calls[call_id].agent_id
        self.both("call_ended", call_id, talk)
        self.both("agent_available", agent_id)

    @rule(data=st.data())
    def pause(self, data):
        candidates = [a for a in self.logged_in() if self.fast.agent_state(a) in (
            AgentState.READY, AgentState.AFTER_CALL_WORK) and not self.fast._agents[a].call_id]
        if candidates:
            self.both("agent_unavailable", data.draw(st.sampled_from(candidates)), "break")

    @precondition(lambda self: self.calls_in(CallStatus.WAITING, CallStatus.HELD,
                                             CallStatus.OFFERED))
    @rule(data=st.data(), rarely=st.integers(0, 2))
    def abandon(self, data, rarely):
        if rarely:
            return
        call_id = data.draw(st.sampled_from(self.calls_in(
            CallStatus.WAITING, CallStatus.HELD, CallStatus.OFFERED)))
        self.both("call_abandoned", call_id)

    @precondition(lambda self: self.calls_in(CallStatus.OFFERED))
    @rule(data=st.data(), answered=st.booleans())
    def ring_ends(self, data, answered):
        call_id = data.draw(st.sampled_from(self.calls_in(CallStatus.OFFERED)))
        self.both("offer_answered" if answered else "offer_failed", call_id)

    @precondition(lambda self: self.calls_in(CallStatus.CONNECTED))
    @rule(data=st.data(), talk=st.integers(1, 300))
    def hang_up(self, data, talk):
        self.both("call_ended", data.draw(st.sampled_from(self.calls_in(CallStatus.CONNECTED))),
                  talk)

    @rule(seconds=st.sampled_from([0.5, 3, 8, 15, 40]))
    def time_passes(self, seconds):
        self.clock.advance(seconds)
        self.both("tick")

    @rule(data=st.data())
    def announce(self, data):
        waiting = self.calls_in(CallStatus.WAITING, CallStatus.HELD)
        if waiting:
            call_id = data.draw(st.sampled_from(waiting))
            position = self.both("position", call_id)
            assert position >= 1
            if call_id in self.told:
                before, step = self.told[call_id]
                skill = self.fast._calls[call_id].call.skill
                newcomers = sum(1 for cid in waiting if cid != call_id
                                and self.entered.get(cid, 0) > step
                                and self.fast._calls[cid].call.skill == skill)
                assert position <= before + newcomers, (call_id, before, position)
            self.told[call_id] = (position, self.step)
            if self.both("is_next", call_id):
                c = self.fast._calls[call_id]
                self.promised[call_id] = (self.clock.seconds(), self.step, frozenset(
                    a for a, routed in self.fast._agents.items()
                    if self.fast._could_take(routed, c)))
        tier, skill = data.draw(st.sampled_from(TIERS)), data.draw(st.sampled_from(SKILLS))
        assert self.both("estimated_wait", tier, skill) >= 0

    @invariant()
    def one_call_per_agent(self):
        if not hasattr(self, "fast"):
            return
        holders = [c.agent_id for c in self.fast._calls.values()
                   if c.status in (CallStatus.OFFERED, CallStatus.CONNECTED)]
        assert len(holders) == len(set(holders))
        for c in self.fast._calls.values():
            if c.agent_id is not None:
                assert self.fast._agents[c.agent_id].call_id == c.call.id
        for a in self.fast._agents.values():
            assert not (a.free and a.call_id)
            assert a.free == (a.machine.state is AgentState.READY and a.call_id is None)

    @invariant()
    def no_free_agent_beside_a_call_it_can_take(self):
        if not hasattr(self, "fast"):
            return
        now = self.clock.seconds()
        for a in self.fast._agents.values():
            if not a.free:
                continue
            for c in self.fast._calls.values():
                if c.status is CallStatus.HELD:
                    assert c.held_for != a.agent.id
                elif c.status is CallStatus.WAITING:
                    assert not self.fast._eligible(a, c, now), (a.agent.id, c.call.id)

    @invariant()
    def same_state_as_the_scan(self):
        if hasattr(self, "fast"):
            assert self.fast.snapshot() == self.scan.snapshot()


TestRoutingMachine = RoutingMachine.TestCase
TestRoutingMachine.settings = settings(max_examples=80, stateful_step_count=60, deadline=None,
                                       suppress_health_check=[HealthCheck.too_slow])


@settings(max_examples=40, deadline=None)
@given(gaps=st.lists(st.floats(0.5, 20), min_size=20, max_size=60),
       handle=st.floats(20, 90), standard_at=st.integers(0, 10),
       policy_tiers=st.sampled_from(["platinum", "gold", "silver"]),
       head_start=st.floats(0, 400))
def test_a_standard_caller_is_never_starved_by_vip_traffic(gaps, handle, standard_at,
                                                           policy_tiers, head_start):
    """One agent, more VIP callers than it can serve, whatever head start the VIP tiers have
    learned: no call that arrived more than standard's max_wait after the standard caller is
    answered before it, and VIP callers are served in arrival order."""
    clock = Clock()
    router = make_router("service-level", {}, clock.seconds)
    router.policy.load_state({name: head_start for name in TIERS[:4]})
    router.agent_logged_in(Agent("solo", {"bill": 5}))
    arrivals = []
    t = 0.0
    for i, gap in enumerate(gaps):
        t += gap
        tier = "standard" if i == standard_at else policy_tiers
        arrivals.append((t, WaitingCall(f"c{i}", tier, "bill", t)))
    standard = arrivals[standard_at][1]
    max_wait = router.config.tiers["standard"].max_wait
    busy_until, on_call, answered = 0.0, None, []

    def take(offer):
        nonlocal busy_until, on_call
        router.offer_answered(offer.call_id)
        answered.append(offer.call_id)
        on_call, busy_until = offer.call_id, clock.seconds() + handle

    pending = list(arrivals)
    while pending or router.waiting_count or on_call:
        next_arrival = pending[0][0] if pending else float("inf")
        next_free = busy_until if on_call else float("inf")
        clock.advance(max(0.0, min(next_arrival, next_free) - clock.seconds()))
        if on_call and clock.seconds() >= busy_until:
            router.call_ended(on_call, handle)
            on_call = None
            offer = router.agent_available("solo")
            if offer:
                take(offer)
        while pending and pending[0][0] <= clock.seconds():
            offer = router.call_arrived(pending.pop(0)[1])
            if offer:
                take(offer)
    by_id = {c.id: c for _, c in arrivals}
    assert set(answered) == set(by_id)
    before = answered[:answered.index(standard.id)]
    assert all(by_id[cid].arrived_at <= standard.arrived_at + max_wait for cid in before)
    vips = [by_id[cid].arrived_at for cid in answered if cid != standard.id]
    assert vips == sorted(vips)


def drive_lockstep(policy: str, seed: int, steps: int = 1500) -> int:
    """A busy seeded day: both routers get the same facts; returns how many offers matched."""
    import random
    rng = random.Random(seed)
    clock = Clock()
    clock.advance(10_000)
    config = {"rings": [[0, 7], [10, 4], [25, 1]], "familiar": {"hold_seconds": 4},
              "vip_dedicated": {"overflow_after": 12}, "service_level": {"adapt_every": 30}}
    fast = make_router(policy, config, clock.seconds)
    scan = make_router(policy, config, clock.seconds, router_class=ScanRouter)
    matched = 0

    def both(method, *args):
        nonlocal matched
        a, b = getattr(fast, method)(*args), getattr(scan, method)(*args)
        assert a == b, (method, args, a, b)
        matched += bool(a) if not isinstance(a, (int, float)) else 0
        return a

    for n in range(12):
        skills = {s: rng.choice([3, 5, 5, 8]) for s in rng.sample(SKILLS, rng.randint(1, 2))}
        both("agent_logged_in", Agent(f"a{n}", skills, "vip" if n < 3 else "general"))
    for step in range(steps):
        clock.advance(rng.choice([0.2, 1, 3]))
        roll = rng.random()
        if roll < 0.35:
            both("call_arrived", WaitingCall(f"c{step}", rng.choice(TIERS), rng.choice(SKILLS),
                                             clock.seconds() - rng.choice([0, 0, 5, 30]),
                                             rng.choice(CALLERS)))
        elif roll < 0.75:
            connected = [c for c in fast._calls.values() if c.status is CallStatus.CONNECTED]
            offered = [c for c in fast._calls.values() if c.status is CallStatus.OFFERED]
            if offered:
                c = rng.choice(offered)
                both("offer_answered" if rng.random() < 0.9 else "offer_failed", c.call.id)
            elif connected:
                c = rng.choice(connected)
                agent_id = c.agent_id
                both("call_ended", c.call.id, 60)
                both("agent_available", agent_id)
        elif roll < 0.8:
            waiting = [c for c in fast._calls.values() if c.status is CallStatus.WAITING]
            if waiting:
                both("call_abandoned", rng.choice(waiting).call.id)
        elif roll < 0.85:
            not_ready = [a for a in fast._agents if fast.agent_state(a) is AgentState.NOT_READY]
            if not_ready:
                both("agent_available", rng.choice(not_ready))
        else:
            both("tick")
        if step % 100 == 0:
            assert fast.snapshot() == scan.snapshot()
    return matched


def test_indexed_router_decides_like_the_full_scan_on_a_busy_day():
    for policy in ("fifo", "priority", "service-level"):
        for seed in (1, 2):
            assert drive_lockstep(policy, seed) > 300
