"""Erlang C and Erlang A: how many agents a load needs, and what service level they give.

Erlang C (M/M/c) assumes nobody hangs up; Erlang A (M/M/c+M, Palm) lets waiting callers
abandon after an exponential patience. Both answer the staffing questions ``ctictl staffing``
asks: agents needed for "``target`` answered within ``within`` seconds", the expected service
level and the average speed of answer (ASA) for a given head count.

Service level here is *answered within the threshold / offered*: in Erlang A an abandoned call
counts as a miss. ASA is the mean wait of answered calls (zero waits included).

Erlang A is computed exactly from the birth-death chain (states truncated where their
probability is negligible). A tagged caller who finds ``k`` callers ahead moves down one place
at rate ``c·mu + j·theta`` and gives up at rate ``theta``; the chance of being answered, the
mean wait of the answered and the chance of being answered by ``t`` (by uniformisation) follow.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any


class StaffingError(ValueError):
    """The figures given cannot describe a contact centre (negative load, target above 1...)."""

    code = "staffing"


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise StaffingError(f"{name} must be a positive number, got {value!r}")


def erlang_b(servers: int, load: float) -> float:
    """Blocking probability of ``servers`` lines offered ``load`` Erlangs (stable recursion)."""
    if servers < 0 or load < 0:
        raise StaffingError("servers and load must not be negative")
    b = 1.0
    for k in range(1, servers + 1):
        b = load * b / (k + load * b)
    return b


def erlang_c(servers: int, load: float) -> float:
    """Probability that a caller waits (M/M/c); 1.0 when the load reaches the agents."""
    if servers <= load:
        return 1.0
    b = erlang_b(servers, load)
    return servers * b / (servers - load * (1.0 - b))


@dataclass(frozen=True)
class Staffing:
    """Expected figures for one head count."""

    model: str                    # "erlang-c" or "erlang-a"
    agents: int
    load_erlangs: float
    service_level: float          # answered within the threshold / offered
    asa: float                    # mean wait of answered calls, seconds
    probability_wait: float       # a caller finds every agent busy
    occupancy: float              # share of agent time spent on calls
    abandon_rate: float | None = None   # Erlang A only

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def erlang_c_figures(agents: int, calls_per_hour: float, aht: float, within: float) -> Staffing:
    """Service level, ASA and occupancy of ``agents`` agents under Erlang C."""
    _check_positive(calls_per_hour=calls_per_hour, aht=aht)
    if within < 0:
        raise StaffingError("within must not be negative")
    load = calls_per_hour * aht / 3600.0
    if agents <= load:
        return Staffing("erlang-c", agents, load, 0.0, math.inf, 1.0, 1.0)
    p_wait = erlang_c(agents, load)
    drain = (agents - load) / aht          # rate at which the queue empties, per second
    service_level = 1.0 - p_wait * math.exp(-drain * within)
    asa = p_wait / drain
    return Staffing("erlang-c", agents, load, service_level, asa, p_wait, load / agents)


def _erlang_a_states(agents: int, lam: float, mu: float, theta: float) -> list[float]:
    """Stationary probabilities of 0..N callers in an M/M/c+M system, truncated."""
    logs = [0.0]
    n = 0
    peak = 0.0
    while True:
        n += 1
        rate = min(n, agents) * mu + max(n - agents, 0) * theta
        logs.append(logs[-1] + math.log(lam) - math.log(rate))
        peak = max(peak, logs[-1])
        if n > agents and logs[-1] < peak - 40.0 and lam < rate:
            break
        if n > agents + 200_000:
            raise StaffingError("the queue does not settle: patience too long for this load")
    weights = [math.exp(v - peak) for v in logs]
    total = sum(weights)
    return [w / total for w in weights]


def erlang_a_figures(agents: int, calls_per_hour: float, aht: float, within: float,
                     patience: float) -> Staffing:
    """Service level, ASA, abandon rate and occupancy under Erlang A (mean ``patience`` s)."""
    _check_positive(calls_per_hour=calls_per_hour, aht=aht, patience=patience)
    if within < 0:
        raise StaffingError("within must not be negative")
    if agents < 1:
        raise StaffingError("at least one agent is needed")
    lam, mu, theta = calls_per_hour / 3600.0, 1.0 / aht, 1.0 / patience
    load = lam * aht
    pi = _erlang_a_states(agents, lam, mu, theta)
    c_mu = agents * mu
    ahead = pi[agents:]                    # a caller arriving sees c+k: k callers ahead
    p_wait = sum(ahead)
    # h[k]: a caller with k ahead is eventually answered; rates[k]: its total exit rate there.
    h, answered_wait, rates = [], [], []
    reach, mean_wait = 1.0, 0.0
    for k in range(len(ahead)):
        rate = c_mu + (k + 1) * theta
        reach *= (c_mu + k * theta) / rate
        mean_wait += 1.0 / rate
        h.append(reach)
        answered_wait.append(reach * mean_wait)
        rates.append(rate)
    p_answered_after_wait = sum(w * hk for w, hk in zip(ahead, h))
    abandon_rate = p_wait - p_answered_after_wait
    answered = (1.0 - p_wait) + p_answered_after_wait
    asa = sum(w * s for w, s in zip(ahead, answered_wait)) / answered
    within_sl = (1.0 - p_wait) + _answered_by(ahead, rates, c_mu, theta, within)
    busy = sum(min(n, agents) * p for n, p in enumerate(pi)) / agents
    return Staffing("erlang-a", agents, load, within_sl, asa, p_wait, busy, abandon_rate)


def _answered_by(start: list[float], rates: list[float], c_mu: float, theta: float,
                 t: float) -> float:
    """P(answered within ``t``) for a caller starting k ahead with probability ``start[k]``."""
    if t <= 0 or not start:
        return 0.0
    uniform = rates[-1]
    mass = list(start)
    served = 0.0
    total = 0.0
    x = uniform * t
    steps = int(x + 10.0 * math.sqrt(x) + 20)
    for n in range(steps + 1):
        weight = math.exp(-x + n * math.log(x) - math.lgamma(n + 1)) if x > 0 else float(n == 0)
        total += weight * served
        # one uniformised jump: down one place, give up, or stay put
        served += mass[0] * c_mu / uniform
        nxt = [0.0] * len(mass)
        for k, m in enumerate(mass):
            if m == 0.0:
                continue
            nxt[k] += m * (1.0 - rates[k] / uniform)
            if k:
                nxt[k - 1] += m * (c_mu + k * theta) / uniform
        mass = nxt
    return total


def staffing(calls_per_hour: float, aht: float, target: float, within: float,
             patience: float | None = None, max_agents: int = 100_000) -> Staffing:
    """The smallest head count whose expected service level reaches ``target``."""
    _check_positive(calls_per_hour=calls_per_hour, aht=aht)
    if not 0.0 < target < 1.0:
        raise StaffingError(f"target must be a fraction in (0, 1), got {target!r}")
    if within < 0:
        raise StaffingError("within must not be negative")
    load = calls_per_hour * aht / 3600.0

    def figures(n: int) -> Staffing:
        if patience is None:
            return erlang_c_figures(n, calls_per_hour, aht, within)
        return erlang_a_figures(n, calls_per_hour, aht, within, patience)

    low = max(1, int(load) + 1 if patience is None else 1)
    if figures(low).service_level >= target:
        return figures(low)
    high = low + 1
    while figures(high).service_level < target:   # service level grows with head count
        low, high = high, min(max_agents, high * 2)
        if low >= max_agents:
            raise StaffingError(f"no head count up to {max_agents} reaches the target")
    while high - low > 1:
        mid = (low + high) // 2
        if figures(mid).service_level >= target:
            high = mid
        else:
            low = mid
    return figures(high)
