"""Snapshot and restore of a router's whole state as plain data (JSON-able), for restart.

The daemon may persist ``router.snapshot()`` and feed it to ``restore`` in a fresh router
built with the same policy and configuration; waiting callers keep their arrival times (so
their place) and agents their idle order. Rebuilding from Asterisk instead (``CoreShowChannels``
and the ``CTI_*`` variables) is ``call_arrived`` with the original arrival times.
"""
from __future__ import annotations

import heapq
from typing import Any

from cti.domain.agent_state import AgentMachine, AgentState
from cti.domain.routing.errors import InvalidRequest
from cti.domain.routing.model import GROUP_VIP, Agent, WaitingCall
from cti.domain.routing.records import CallStatus, RoutedAgent, RoutedCall

VERSION = 1


def take_snapshot(router: Any) -> dict[str, Any]:
    return {
        "version": VERSION,
        "policy": router.policy.name,
        "taken_at": router.clock(),
        "agents": [
            {"id": a.agent.id, "skills": dict(a.agent.skills), "group": a.agent.group,
             "state": a.machine.state.value, "reason": a.machine.reason, "free": a.free,
             "free_seq": a.free_seq, "idle_since": a.idle_since, "call": a.call_id}
            for a in sorted(router._agents.values(), key=lambda a: a.free_seq)],
        "calls": [
            {"id": c.call.id, "tier": c.call.tier, "skill": c.call.skill,
             "arrived_at": c.call.arrived_at, "caller": c.call.caller, "seq": c.seq,
             "status": c.status.value, "agent": c.agent_id, "held_for": c.held_for,
             "next_change": c.next_change,
             "place": list(c.place) if c.place is not None else None}
            for c in sorted(router._calls.values(), key=lambda c: c.seq)],
        "familiar": [[caller, agent, at] for caller, (agent, at) in router._familiar.items()],
        "service_level": router.live.snapshot(),
        "policy_state": router.policy.state(),
        "estimates": router.estimator.snapshot(),
    }


def restore(router: Any, data: dict[str, Any]) -> None:
    """Load ``data`` into an empty ``router``."""
    if router._calls or router._agents:
        raise InvalidRequest("restore needs an empty router")
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise InvalidRequest("not a router snapshot of a known version")
    try:
        _restore(router, data)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidRequest(f"malformed router snapshot: {exc!r}") from None


def _restore(router: Any, data: dict[str, Any]) -> None:
    for item in data["agents"]:
        agent = Agent(item["id"], item["skills"], item["group"])
        a = RoutedAgent(agent, AgentMachine(AgentState(item["state"]), item["reason"]),
                        free_seq=item["free_seq"], idle_since=item["idle_since"],
                        call_id=item["call"])
        router._agents[agent.id] = a
        for skill in agent.skills:
            router._skill_agents[skill] = router._skill_agents.get(skill, 0) + 1
        if agent.group == GROUP_VIP:
            router._dedicated += 1
        if item["free"]:
            a.free = True
            router._free.add(agent.id, agent.skills, agent.group, a.free_seq)
        router._free_seq = max(router._free_seq, a.free_seq + 1)
    for item in data["calls"]:
        call = WaitingCall(item["id"], item["tier"], item["skill"], item["arrived_at"],
                           item["caller"])
        c = RoutedCall(call, router.config.tiers[call.tier], item["seq"],
                       CallStatus(item["status"]), item["agent"], item["held_for"])
        if item.get("place") is not None:      # older snapshots: placed again on restore
            c.place = tuple(float(x) for x in item["place"])
        else:
            c.place = router._place(c)
        router._calls[call.id] = c
        router._seq = max(router._seq, c.seq)
        if c.status is CallStatus.WAITING:
            router._enqueue(c, router.clock())
        elif c.status is CallStatus.HELD:
            c.next_change = item["next_change"]
            router._held.setdefault(c.held_for, []).append(call.id)
            heapq.heappush(router._timers, (c.next_change, c.seq, call.id))
    for caller, agent, at in data["familiar"]:
        router._familiar[caller] = (agent, at)
    router.live.restore(data["service_level"])
    router.policy.load_state(data.get("policy_state", {}))
    router.estimator.restore(data["estimates"])
