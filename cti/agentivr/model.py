"""Pure rules of the agent side of the IVR: no I/O, a clock passed in.

- who is calling from a phone (:func:`device_of`): a softphone's channel
  ``PJSIP/6001-0000002a`` is the seat ``PJSIP/6001``, the dial string an agent row names;
- PIN checks and their lockout (:class:`PinThrottle`), like sign-in's throttle: too many wrong
  PINs in a row for an agent lock phone log-in for that agent for a while;
- what a pause key means (:func:`reason_for_key`): a not-ready reason by its number in the
  centre's configured list (1 = the first);
- who is surveyed after a call (:class:`SurveyPolicy`) and what a survey key means
  (:func:`survey_score`);
- the agent held for a caller they sent into a flow (:class:`Hold`).
"""
from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Iterable

from cti.domain.reasons import Reason

PIN = re.compile(r"^[0-9]{4,12}$")
AGENT_NUMBER = re.compile(r"^[0-9]{1,20}$")
SURVEY_KEYS = "12345"

_CHANNEL_SUFFIX = re.compile(r"-[0-9a-fA-F]{8}(;[12])?$")


def device_of(channel: str | None) -> str:
    """The seat a channel belongs to: its name without Asterisk's per-call suffix
    (``PJSIP/6001-0000002a`` → ``PJSIP/6001``; ``Local/x@ctx-00000001;1`` → ``Local/x@ctx``)."""
    if not channel:
        return ""
    return _CHANNEL_SUFFIX.sub("", channel.strip())


def pin_problem(pin: str) -> str | None:
    """Why ``pin`` cannot be an agent's PIN (digits only: it is keyed on a phone), or None."""
    if not PIN.match(pin or ""):
        return "a PIN is 4 to 12 digits (it is keyed on a phone)"
    if len(set(pin)) == 1:
        return "a PIN of one repeated digit is too easy to guess"
    return None


def reason_for_key(key: str, reasons: Iterable[Reason]) -> Reason | None:
    """The reason numbered ``key`` in the configured list (1 = first), or None."""
    listed = list(reasons)
    if not key.isdigit() or not 1 <= int(key) <= len(listed):
        return None
    return listed[int(key) - 1]


def survey_score(key: str | None) -> int | None:
    """The score a key gives (1-5), or None for no key or any other key."""
    if key and len(key) == 1 and key in SURVEY_KEYS:
        return int(key)
    return None


@dataclass(frozen=True)
class SurveyPolicy:
    """Which answered calls are surveyed: ``enabled``, and the call's tier in ``tiers`` and
    its skill in ``skills`` (an empty list: every tier / every skill)."""

    enabled: bool = False
    tiers: frozenset[str] = frozenset()
    skills: frozenset[str] = frozenset()

    def wants(self, tier: str | None, skill: str | None) -> bool:
        if not self.enabled:
            return False
        return ((not self.tiers or (tier or "") in self.tiers)
                and (not self.skills or (skill or "") in self.skills))


class PinLocked(Exception):
    """Too many wrong PINs for this agent: phone log-in refused for ``wait`` seconds."""

    def __init__(self, agent_id: str, wait: float):
        super().__init__(f"agent {agent_id}: phone log-in locked for {wait:.0f} s")
        self.agent_id, self.wait = agent_id, wait


class PinThrottle:
    """Counts wrong PINs per agent number. ``max_failures`` in a row lock that agent's phone
    log-in for ``lockout`` seconds (a right PIN resets the count). Numbers that are no agent
    are counted too, so probing numbers costs the same; the table is bounded."""

    def __init__(self, clock: Callable[[], float], *, max_failures: int = 3,
                 lockout: float = 300.0, max_tracked: int = 10_000):
        self._clock = clock
        self.max_failures = max_failures
        self.lockout = lockout
        self._max_tracked = max_tracked
        self._agents: OrderedDict[str, tuple[int, float]] = OrderedDict()  # failures, until

    def check(self, agent_id: str) -> None:
        _, until = self._agents.get(agent_id, (0, 0.0))
        now = self._clock()
        if until > now:
            raise PinLocked(agent_id, until - now)

    def failed(self, agent_id: str) -> bool:
        """Count a wrong PIN; True when this one locked the agent's phone log-in."""
        failures, _ = self._agents.pop(agent_id, (0, 0.0))
        failures += 1
        locked = failures >= self.max_failures
        self._agents[agent_id] = (0, self._clock() + self.lockout) if locked else (failures, 0.0)
        while len(self._agents) > self._max_tracked:
            self._agents.popitem(last=False)
        return locked

    def succeeded(self, agent_id: str) -> None:
        self._agents.pop(agent_id, None)


@dataclass
class Hold:
    """An agent held for a caller they sent into a flow: the caller comes back to them until
    ``until``; after that the agent is let go and the caller queues."""

    call_id: str
    agent_id: str
    flow: str
    since: float
    until: float
    released: bool = False          # the hold ran out (or the agent was let go)
    results: dict[str, str] = field(default_factory=dict)

    def expired(self, now: float) -> bool:
        return self.released or now >= self.until
