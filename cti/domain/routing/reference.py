"""The same policy decided by full scans: the oracle for tests and the latency baseline.

``ScanRouter`` keeps every rule of ``Router`` but answers "which agent for this call" and
"which call for this agent" by looking at every free agent and every waiting call. Tests check
that the indexed router decides exactly as it does; ``bench/routing_latency.py`` times both.
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

    def _choose_call(self, a: RoutedAgent, now: float) -> RoutedCall | None:
        held = [c for c in self._calls.values()
                if c.status is CallStatus.HELD and c.held_for == a.agent.id]
        if held:
            return min(held, key=lambda c: c.entry)
        self.policy.prepare(now)
        phases = self._tier_phases(a)
        best, best_key = None, None
        for c in self._calls.values():
            if c.status is not CallStatus.WAITING or not self._eligible(a, c, now):
                continue
            phase = next((i for i, tiers in enumerate(phases) if c.tier in tiers), None)
            if phase is None:
                continue
            wait = now - c.call.arrived_at
            key = (-phase,) + self.policy.key(c.tier, wait) + (wait, -c.seq)
            if best_key is None or key > best_key:
                best, best_key = c, key
        return best
