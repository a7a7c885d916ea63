"""The same policy decided by full scans: the oracle for tests and the latency baseline.

``ScanRouter`` keeps every rule of ``Router`` but answers "which agent for this call", "which
call for this agent" and "may the familiar agent take its held call first" by looking at every
free agent and every waiting call. Tests check that the indexed router decides exactly as it
does; ``bench/routing_latency.py`` times both.
"""
from __future__ import annotations

from cti.domain.routing.records import CallStatus, RoutedAgent, RoutedCall
from cti.domain.routing.router import Router


class ScanRouter(Router):

    def _choose_agent(self, c: RoutedCall, now: float) -> RoutedAgent | None:
        wait = now - c.call.arrived_at
        phases = self._agent_groups(c, wait)
        best, best_key = None, None
        for a in self._agents.values():
            if not a.free or not self._eligible(a, c, now):
                continue
            phase = next(i for i, groups in enumerate(phases) if a.agent.group in groups)
            key = (phase, -a.agent.skills[c.call.skill], a.free_seq)
            if best_key is None or key < best_key:
                best, best_key = a, key
        return best

    def _queue_choice(self, a: RoutedAgent, now: float) -> RoutedCall | None:
        self.policy.prepare(now)
        phases = self._tier_phases(a)
        best, best_key = None, None
        for c in self._calls.values():
            if c.status is not CallStatus.WAITING or not self._eligible(a, c, now):
                continue
            phase = next((i for i, tiers in enumerate(phases) if c.tier in tiers), None)
            if phase is None:
                continue
            key = (phase,) + self._order(c)
            if best_key is None or key < best_key:
                best, best_key = c, key
        return best

    def _familiar_blocked(self, held: RoutedCall, a: RoutedAgent, now: float) -> bool:
        limit = held.call.arrived_at - self.config.familiar_hold
        return any(c.status is CallStatus.WAITING and c.call.skill == held.call.skill
                   and c.tier.rank >= held.tier.rank and c.call.arrived_at < limit
                   and self._eligible(a, c, now) for c in self._calls.values())
