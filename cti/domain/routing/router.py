"""The ACD: one ``Router`` per contact centre decides which agent rings for which caller.

Pure domain code. The daemon feeds it facts (a call arrived, an agent is free, the offer was
answered, the caller hung up...) and a clock; each fact that can free an agent or a call
returns the resulting ``Offer`` (or offers). The daemon carries the offer out (reserve, pop,
Redirect) and reports back. ``tick()`` applies what time alone changes: rings widening, VIP
calls overflowing to general agents, familiar-agent holds expiring.

Rules, in the order a decision applies them:

- Familiar agent: a caller who spoke to an agent within ``familiar_memory`` is offered to that
  agent at once if free, else held for that agent ``familiar_hold`` seconds (if logged in and
  not paused); a freed agent takes the calls held for it first.
- Eligibility: the agent has the call's skill at the proficiency the call's current ring asks
  (rings widen with the wait); VIP calls go to dedicated agents (group ``vip``) until
  ``vip_overflow_after``, then to anyone; dedicated agents take other tiers only when no VIP
  call they can take waits (and only if ``dedicated_take_others``).
- Which call: the smallest place in line (see ``policies``), given when the call enters the
  queue and kept while it waits. Which agent: highest proficiency, then longest idle, one
  global order whatever skills the agent has.
- Fairness: a caller is never overtaken by a caller asking the same skill, of the same or a
  lower tier rank, who arrived later, by any agent that could take both. The one exception is
  the familiar agent, bounded: a freed agent takes the call held for it first only if nobody it
  would so overtake arrived more than ``familiar_hold`` seconds before that call.
- RONA: the call goes back to its place, the agent becomes not-ready.

Invariant after every method: no free agent is eligible for a waiting call.
"""
from __future__ import annotations

import heapq
import math
from bisect import bisect_left
from typing import Callable, Iterable

from cti.domain.agent_state import AgentEvent, AgentMachine, AgentState
from cti.domain.routing.config import RoutingConfig
from cti.domain.routing.errors import (DuplicateAgent, DuplicateCall, InvalidRequest,
                                       UnknownAgent, UnknownCall)
from cti.domain.routing.model import GROUP_GENERAL, GROUP_VIP, Agent, Offer, WaitingCall
from cti.domain.routing.policies import Policy
from cti.domain.routing.queues import CallQueue, FreeAgents
from cti.domain.routing.records import CallStatus, RoutedAgent, RoutedCall
from cti.domain.routing.snapshot import restore as restore_snapshot, take_snapshot
from cti.domain.routing.stats import LiveServiceLevel, WaitEstimator
from cti.domain.state_machine import IllegalTransition
from cti.domain.tiers import Tier, UnknownTier

Clock = Callable[[], float]


class Router:
    """One ACD. Build it with ``make_router(policy_name, config, clock)``."""

    def __init__(self, policy: Policy, config: RoutingConfig, clock: Clock,
                 live: LiveServiceLevel, estimator: WaitEstimator | None = None):
        self.policy = policy
        self.config = config
        self.clock = clock
        self.live = live
        self.estimator = estimator or WaitEstimator()
        self._calls: dict[str, RoutedCall] = {}
        self._agents: dict[str, RoutedAgent] = {}
        self._queues: dict[tuple[str, str], CallQueue] = {}
        self._held: dict[str, list[str]] = {}
        self._free = FreeAgents()
        self._timers: list[tuple[float, int, str]] = []
        self._seq = 0
        self._free_seq = 0
        self._dedicated = 0
        self._skill_agents: dict[str, int] = {}
        self._familiar: dict[str, tuple[str, float]] = {}   # insertion-ordered by time

    # ------------------------------------------------------------------ facts: calls
    def call_arrived(self, call: WaitingCall) -> Offer | None:
        if call.id in self._calls:
            raise DuplicateCall(f"call {call.id} is already known")
        try:
            tier = self.config.tiers[call.tier]
        except UnknownTier:
            raise InvalidRequest(f"call {call.id}: unknown tier {call.tier!r}") from None
        now = self.clock()
        self.policy.prepare(now)
        c = RoutedCall(call, tier, self._next_seq(), CallStatus.ARRIVING)
        c.place = self._place(c)
        self._calls[call.id] = c
        familiar = self._familiar_agent(c, now)
        if familiar is not None:
            if familiar.free:
                return self._offer(c, familiar, now, "familiar")
            hold_until = call.arrived_at + self.config.familiar_hold
            if hold_until > now:
                c.status, c.held_for, c.next_change = CallStatus.HELD, familiar.agent.id, hold_until
                self._held.setdefault(familiar.agent.id, []).append(call.id)
                heapq.heappush(self._timers, (hold_until, c.seq, call.id))
                return None
        self._enqueue(c, now)
        return self._match_call(c, now)

    def call_abandoned(self, call_id: str) -> Offer | None:
        c = self._call(call_id)
        if c.status is CallStatus.CONNECTED:
            raise InvalidRequest(f"call {call_id} is connected: report call_ended instead")
        now = self.clock()
        self.live.record(c.tier, now, False, abandoned=True)
        agent = self._agents[c.agent_id] if c.status is CallStatus.OFFERED else None
        self._take_out(c)
        del self._calls[call_id]
        if agent is None:
            return None
        self._fire(agent, AgentEvent.RELEASE)
        agent.call_id = None
        return self._make_free(agent, now)

    def offer_answered(self, call_id: str) -> None:
        c = self._call(call_id)
        if c.status is not CallStatus.OFFERED:
            raise InvalidRequest(f"call {call_id} is {c.status.value}, not offered")
        now = self.clock()
        self._fire(self._agents[c.agent_id], AgentEvent.ANSWER)
        c.status = CallStatus.CONNECTED
        waited = max(0.0, now - c.call.arrived_at)
        self.live.record(c.tier, now, waited <= c.tier.sl_threshold)
        self.estimator.answered(c.tier.name, c.call.skill, waited)

    def offer_failed(self, call_id: str, reason: str = "rona") -> Offer | None:
        """RONA: the call goes back with its original arrival time; the agent is not-ready."""
        c = self._call(call_id)
        if c.status is not CallStatus.OFFERED:
            raise InvalidRequest(f"call {call_id} is {c.status.value}, not offered")
        agent = self._agents[c.agent_id]
        self._fire(agent, AgentEvent.NO_ANSWER, reason)
        agent.call_id, c.agent_id = None, None
        now = self.clock()
        self._enqueue(c, now)
        return self._match_call(c, now)

    def call_ended(self, call_id: str, talk_seconds: float = 0.0) -> None:
        """The connected call hung up; the agent goes to after-call work until available."""
        c = self._call(call_id)
        if c.status is not CallStatus.CONNECTED:
            raise InvalidRequest(f"call {call_id} is {c.status.value}, not connected")
        now = self.clock()
        agent = self._agents.get(c.agent_id)
        if agent is not None:
            self._fire(agent, AgentEvent.HANGUP)
            agent.call_id = None
            if c.call.caller:
                self._familiar.pop(c.call.caller, None)
                self._familiar[c.call.caller] = (agent.agent.id, now)
        self.estimator.ended(talk_seconds)
        del self._calls[call_id]
        horizon = now - self.config.familiar_memory
        while self._familiar:
            caller, (_, at) = next(iter(self._familiar.items()))
            if at >= horizon:
                break
            del self._familiar[caller]

    # ------------------------------------------------------------------ facts: agents
    def agent_logged_in(self, agent: Agent, ready: bool = True) -> Offer | None:
        if agent.id in self._agents:
            raise DuplicateAgent(f"agent {agent.id} is already logged in")
        a = RoutedAgent(agent, AgentMachine())
        self._fire(a, AgentEvent.LOGIN)
        self._agents[agent.id] = a
        for skill in agent.skills:
            self._skill_agents[skill] = self._skill_agents.get(skill, 0) + 1
        if agent.group == GROUP_VIP:
            self._dedicated += 1
        if not ready:
            self._fire(a, AgentEvent.PAUSE, "login")
            return None
        return self._make_free(a, self.clock())

    def agent_available(self, agent_id: str) -> Offer | None:
        """Ready for a call: after wrap-up, after a pause, or after RONA."""
        a = self._agent(agent_id)
        state = a.machine.state
        if state is AgentState.READY:
            if a.free:
                return None
            raise InvalidRequest(f"agent {agent_id} has call {a.call_id} offered")
        self._fire(a, AgentEvent.WRAP_UP_DONE if state is AgentState.AFTER_CALL_WORK
                   else AgentEvent.UNPAUSE)
        return self._make_free(a, self.clock())

    def agent_unavailable(self, agent_id: str, reason: str = "break") -> list[Offer]:
        """Paused (break, training, RONA...). Calls held for the agent go back to everyone."""
        a = self._agent(agent_id)
        self._fire(a, AgentEvent.PAUSE, reason)
        self._leave_free(a)
        return self._rematch(self._unhold(agent_id, self.clock()))

    def agent_logged_out(self, agent_id: str) -> list[Offer]:
        a = self._agent(agent_id)
        if a.machine.state is AgentState.BUSY:
            raise InvalidRequest(f"agent {agent_id} is on call {a.call_id}: end it first")
        now = self.clock()
        back: list[RoutedCall] = []
        if a.machine.state is AgentState.RESERVED:       # logged out while ringing
            c = self._calls[a.call_id]
            self._fire(a, AgentEvent.RELEASE)
            a.call_id, c.agent_id = None, None
            self._enqueue(c, now)
            back.append(c)
        self._fire(a, AgentEvent.LOGOUT)
        self._leave_free(a)
        del self._agents[agent_id]
        for skill in a.agent.skills:
            self._skill_agents[skill] -= 1
        back += self._unhold(agent_id, now)
        if a.agent.group == GROUP_VIP:
            self._dedicated -= 1
            if self._dedicated == 0:          # nobody left to keep VIP calls for
                back += [c for c in self._calls.values()
                         if c.status is CallStatus.WAITING and c.tier.vip]
        return self._rematch(back)

    # ------------------------------------------------------------------ time
    def tick(self) -> list[Offer]:
        """Apply what the passing of time changed; returns the offers that follow."""
        now = self.clock()
        due: dict[str, RoutedCall] = {}
        while self._timers and self._timers[0][0] <= now:
            at, _, call_id = heapq.heappop(self._timers)
            c = self._calls.get(call_id)
            if c is None or c.next_change != at:
                continue
            if c.status is CallStatus.HELD:
                self._held[c.held_for].remove(call_id)
                c.held_for = None
                self._enqueue(c, now)
                due[call_id] = c
            elif c.status is CallStatus.WAITING:
                self._schedule(c, now)
                due[call_id] = c
        return self._rematch(due.values())

    # ------------------------------------------------------------------ questions
    def position(self, call_id: str) -> int:
        """1 + the calls asking the same skill that are ahead of this one in line (waiting or
        held for a familiar agent); 0 once offered. Places do not move while calls wait, so the
        position only grows when a caller allowed to overtake arrives (a higher tier within its
        head start) or a call offered before this one comes back after no answer."""
        c = self._call(call_id)
        if c.status in (CallStatus.OFFERED, CallStatus.CONNECTED):
            return 0
        mine = self._order(c)
        skill = c.call.skill
        ahead = sum(1 for held in self._held.values() for cid in held
                    if cid != call_id and self._calls[cid].call.skill == skill
                    and self._order(self._calls[cid]) < mine)
        for tier in self.config.tiers:
            queue = self._queues.get((skill, tier.name))
            if queue:
                ahead += bisect_left(queue.entries, mine,
                                     key=lambda e: self._order(self._calls[e[2]]))
        return 1 + ahead

    def is_next(self, call_id: str) -> bool:
        """True only if no other caller asking the same skill will be offered to an agent who
        could take this one before this one is offered (the honest "you are next"), as long
        as no agent logs in and the head starts are not adjusted by more than one step.

        So: it waits, nothing of its skill is ahead of it (waiting, held or ringing), every
        agent who could ever take it can take it now and holds no call of its skill for a
        familiar caller, no dedicated agent would take a VIP first, and no caller who arrives
        from now on could be placed ahead of it or held for its agent ahead of it."""
        c = self._calls.get(call_id)
        if c is None or c.status is not CallStatus.WAITING:
            return False
        now = self.clock()
        self.policy.prepare(now)
        if now - c.call.arrived_at <= self.config.familiar_hold:
            return False
        if self.position(call_id) != 1:          # a call waiting or held is ahead of it
            return False
        mine, skill = self._order(c), c.call.skill
        latest = now - self.policy.drift()
        if any(self.policy.place(t, latest) + (latest, -t.rank) < mine
               for t in self.config.tiers if t.rank > c.tier.rank):
            return False
        if any(self._calls[a.call_id].status is CallStatus.OFFERED
               and self._calls[a.call_id].call.skill == skill
               and self._order(self._calls[a.call_id]) < mine       # ringing: may come back
               for a in self._agents.values() if a.call_id is not None):
            return False
        vip_first = self._dedicated_active() and not c.tier.vip
        takers = [a for a in self._agents.values() if self._could_take(a, c)]
        for a in takers:
            if not self._eligible(a, c, now) or (vip_first and a.agent.group == GROUP_VIP):
                return False
            if any(self._calls[cid].call.skill == skill for cid in self._held.get(a.agent.id, ())):
                return False
        return bool(takers)

    def estimated_wait(self, tier: str, skill: str) -> float:
        """Seconds a caller of ``tier`` asking ``skill`` can expect to wait, for announcements:
        0 if an agent is free for it, else the recent waits there, else queue length x handle
        time / agents with the skill; ``math.inf`` when no logged-in agent has the skill."""
        try:
            t = self.config.tiers[tier]
        except UnknownTier:
            raise InvalidRequest(f"unknown tier {tier!r}") from None
        waiting = sum(len(self._queues.get((skill, x.name), ())) for x in self.config.tiers)
        probe = RoutedCall(WaitingCall("?", tier, skill, self.clock()), t, -1)
        if not self._queues.get((skill, tier)) and self._choose_agent(probe, probe.call.arrived_at):
            return 0.0
        recent = self.estimator.recent_wait(tier, skill)
        if recent is not None:
            return recent
        agents = self._skill_agents.get(skill, 0)
        if agents == 0:
            return math.inf
        return (waiting + 1) * self.estimator.handle_time / agents

    def agent_state(self, agent_id: str) -> AgentState:
        return self._agent(agent_id).machine.state

    def call_status(self, call_id: str) -> CallStatus:
        return self._call(call_id).status

    def offered_to(self, call_id: str) -> str | None:
        """The agent the call is offered to now; None if it is not offered (or not known)."""
        c = self._calls.get(call_id)
        return c.agent_id if c is not None and c.status is CallStatus.OFFERED else None

    def service_level(self, tier: str) -> float:
        """The tier's live service level over the window (with the prior, see stats)."""
        return self.live.level(self.config.tiers[tier], self.clock())

    @property
    def waiting_count(self) -> int:
        return sum(1 for c in self._calls.values()
                   if c.status in (CallStatus.WAITING, CallStatus.HELD))

    # ------------------------------------------------------------------ decisions
    def _familiar_agent(self, c: RoutedCall, now: float) -> RoutedAgent | None:
        caller = c.call.caller
        remembered = self._familiar.get(caller) if caller else None
        if remembered is None or now - remembered[1] > self.config.familiar_memory:
            return None
        a = self._agents.get(remembered[0])
        if a is None or c.call.skill not in a.agent.skills or a.machine.state in (
                AgentState.NOT_READY, AgentState.LOGGED_OUT):
            return None
        return a

    def _dedicated_active(self) -> bool:
        return self.config.vip_dedicated and self._dedicated > 0

    def _min_level(self, tier: Tier, wait: float) -> int:
        level = 0
        for after, needed in self.config.rings_for(tier):
            if wait < after:
                break
            level = needed
        return level

    def _agent_groups(self, c: RoutedCall, wait: float) -> list[tuple[str, ...]]:
        """Groups of agents the call may go to, in order of preference."""
        if not self._dedicated_active():
            return [(GROUP_GENERAL, GROUP_VIP)]
        if c.tier.vip:
            if wait >= self.config.vip_overflow_after:
                return [(GROUP_VIP,), (GROUP_GENERAL,)]
            return [(GROUP_VIP,)]
        if self.config.dedicated_take_others:
            return [(GROUP_GENERAL,), (GROUP_VIP,)]
        return [(GROUP_GENERAL,)]

    def _tier_phases(self, a: RoutedAgent) -> list[tuple[Tier, ...]]:
        """Tiers an agent takes, in order of preference (VIP first for dedicated agents)."""
        tiers = self.config.tiers
        if not self._dedicated_active() or a.agent.group == GROUP_GENERAL:
            return [tuple(tiers)]
        if self.config.dedicated_take_others:
            return [tiers.vip, tiers.others]
        return [tiers.vip]

    def _could_take(self, a: RoutedAgent, c: RoutedCall) -> bool:
        """The agent could take the call at some point of its wait (rings fully widened,
        VIP overflow reached), whatever the agent is doing now."""
        level = a.agent.skills.get(c.call.skill)
        if level is None or level < self._min_level(c.tier, math.inf):
            return False
        return any(a.agent.group in groups for groups in self._agent_groups(c, math.inf))

    def _eligible(self, a: RoutedAgent, c: RoutedCall, now: float) -> bool:
        level = a.agent.skills.get(c.call.skill)
        if level is None:
            return False
        wait = now - c.call.arrived_at
        if level < self._min_level(c.tier, wait):
            return False
        return any(a.agent.group in groups for groups in self._agent_groups(c, wait))

    def _choose_agent(self, c: RoutedCall, now: float) -> RoutedAgent | None:
        wait = now - c.call.arrived_at
        level = self._min_level(c.tier, wait)
        for groups in self._agent_groups(c, wait):
            found = self._free.best(c.call.skill, groups, level)
            if found is not None:
                return self._agents[found]
        return None

    def _choose_call(self, a: RoutedAgent, now: float) -> RoutedCall | None:
        """The call the agent takes if free now: a call held for it first, unless that would
        overtake a caller who must not be (see ``_familiar_blocked``); else the first in line
        among the calls it can take."""
        choice = self._queue_choice(a, now)
        held = self._held.get(a.agent.id)
        if held:
            first = min((self._calls[cid] for cid in held), key=self._order)
            if choice is None or not self._familiar_blocked(first, a, now):
                return first
        return choice

    def _queue_choice(self, a: RoutedAgent, now: float) -> RoutedCall | None:
        self.policy.prepare(now)
        for tiers in self._tier_phases(a):
            best, best_key = None, None
            for skill in a.agent.skills:
                for tier in tiers:
                    queue = self._queues.get((skill, tier.name))
                    if not queue:
                        continue
                    c = self._calls[queue.oldest()[2]]    # places follow arrival in a queue
                    if not self._eligible(a, c, now):
                        continue                 # a younger call is never more eligible
                    key = self._order(c)
                    if best_key is None or key < best_key:
                        best, best_key = c, key
            if best is not None:
                return best
        return None

    def _familiar_blocked(self, held: RoutedCall, a: RoutedAgent, now: float) -> bool:
        """A held call may pass only callers of its skill and of its tier rank or above who
        arrived at most ``familiar_hold`` seconds before it: is one waiting who came earlier?"""
        limit = held.call.arrived_at - self.config.familiar_hold
        for tier in self.config.tiers:
            if tier.rank < held.tier.rank:
                continue
            queue = self._queues.get((held.call.skill, tier.name))
            if queue:
                c = self._calls[queue.oldest()[2]]
                if c.call.arrived_at < limit and self._eligible(a, c, now):
                    return True
        return False

    def _match_call(self, c: RoutedCall, now: float) -> Offer | None:
        a = self._choose_agent(c, now)
        return self._offer(c, a, now, "queue") if a is not None else None

    def _rematch(self, calls: Iterable[RoutedCall]) -> list[Offer]:
        """Calls that just became open to more agents, most urgent first."""
        now = self.clock()
        self.policy.prepare(now)
        unique = {c.call.id: c for c in calls}.values()

        offers = []
        for c in sorted(unique, key=self._order):
            if c.status is CallStatus.WAITING:
                offer = self._match_call(c, now)
                if offer is not None:
                    offers.append(offer)
        return offers

    # ------------------------------------------------------------------ bookkeeping
    def _offer(self, c: RoutedCall, a: RoutedAgent, now: float, reason: str) -> Offer:
        self._take_out(c)
        self._leave_free(a)
        self._fire(a, AgentEvent.RESERVE)
        a.call_id, c.agent_id, c.status = c.call.id, a.agent.id, CallStatus.OFFERED
        return Offer(c.call.id, a.agent.id, now, now - c.call.arrived_at, c.tier.name,
                     c.call.skill, reason)

    def _make_free(self, a: RoutedAgent, now: float) -> Offer | None:
        c = self._choose_call(a, now)
        if c is not None:
            return self._offer(c, a, now, "familiar" if c.status is CallStatus.HELD else "queue")
        a.free, a.free_seq, a.idle_since = True, self._free_seq, now
        self._free_seq += 1
        self._free.add(a.agent.id, a.agent.skills, a.agent.group, a.free_seq)
        return None

    def _leave_free(self, a: RoutedAgent) -> None:
        if a.free:
            self._free.remove(a.agent.id, a.agent.skills, a.agent.group)
            a.free = False

    def _order(self, c: RoutedCall) -> tuple[float, ...]:
        """Where the call stands in line: its place, then arrival, tier rank, sequence."""
        return c.place + (c.call.arrived_at, -c.tier.rank, c.seq)

    def _place(self, c: RoutedCall) -> tuple[float, ...]:
        """The call's place: the policy's (or the one it had before a failed offer), kept
        behind every waiting or held call of its skill that it must not overtake (same or
        higher tier rank, earlier arrival) and ahead of every one that must not overtake it.
        Head starts move between arrivals; this keeps the line fair when they do."""
        place = c.place if c.place is not None else self.policy.place(c.tier, c.call.arrived_at)
        arrived, rank, skill = c.call.arrived_at, c.tier.rank, c.call.skill
        low: tuple[float, ...] | None = None
        high: tuple[float, ...] | None = None
        others = [self._calls[cid] for held in self._held.values() for cid in held
                  if cid != c.call.id and self._calls[cid].call.skill == skill]
        for tier in self.config.tiers:
            queue = self._queues.get((skill, tier.name))
            if not queue:
                continue
            if tier.rank >= rank:
                entry = queue.last_at_or_before(arrived)
                if entry is not None:
                    others.append(self._calls[entry[2]])
            if tier.rank <= rank:
                entry = queue.first_at_or_after(arrived)
                if entry is not None:
                    others.append(self._calls[entry[2]])
        for o in others:
            if o is c:
                continue
            if o.tier.rank >= rank and o.call.arrived_at <= arrived:
                low = o.place if low is None else max(low, o.place)
            if o.tier.rank <= rank and o.call.arrived_at >= arrived:
                high = o.place if high is None else min(high, o.place)
        if low is not None and place < low:
            place = low
        if high is not None and place > high:
            place = high
        return place

    def _enqueue(self, c: RoutedCall, now: float) -> None:
        if c.status is not CallStatus.ARRIVING:      # back from a no-answer or a familiar hold
            c.place = self._place(c)                 # (an arrival was placed a moment ago)
        c.status = CallStatus.WAITING
        key = (c.call.skill, c.tier.name)
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = CallQueue()
        queue.add(c.entry)
        self._schedule(c, now)

    def _schedule(self, c: RoutedCall, now: float) -> None:
        """Arm a timer for the next moment the call opens to more agents."""
        wait = now - c.call.arrived_at
        changes = [after for after, _ in self.config.rings_for(c.tier) if after > wait]
        if c.tier.vip and self.config.vip_dedicated and self.config.vip_overflow_after > wait:
            changes.append(self.config.vip_overflow_after)
        c.next_change = c.call.arrived_at + min(changes) if changes else None
        if c.next_change is not None:
            heapq.heappush(self._timers, (c.next_change, c.seq, c.call.id))

    def _take_out(self, c: RoutedCall) -> None:
        if c.status is CallStatus.WAITING:
            self._queues[(c.call.skill, c.tier.name)].remove(c.entry)
        elif c.status is CallStatus.HELD:
            self._held[c.held_for].remove(c.call.id)
            c.held_for = None
        c.next_change = None

    def _unhold(self, agent_id: str, now: float) -> list[RoutedCall]:
        released = [self._calls[cid] for cid in self._held.pop(agent_id, [])]
        for c in released:
            c.held_for = None
            self._enqueue(c, now)
        return released

    def _fire(self, a: RoutedAgent, event: AgentEvent, reason: str | None = None) -> None:
        try:
            a.machine.fire(event, reason)
        except IllegalTransition as exc:
            raise InvalidRequest(f"agent {a.agent.id}: {exc}") from None

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _call(self, call_id: str) -> RoutedCall:
        try:
            return self._calls[call_id]
        except (KeyError, TypeError):
            raise UnknownCall(call_id) from None

    def _agent(self, agent_id: str) -> RoutedAgent:
        try:
            return self._agents[agent_id]
        except (KeyError, TypeError):
            raise UnknownAgent(agent_id) from None

    # ------------------------------------------------------------------ restart
    def snapshot(self) -> dict:
        """The whole routing state as plain data (see ``snapshot``)."""
        return take_snapshot(self)

    def restore(self, data: dict) -> None:
        """Load a snapshot into this (empty) router."""
        restore_snapshot(self, data)
