"""Indexes that keep routing decisions away from full scans.

``CallQueue``: the waiting calls of one (skill, tier), in arrival order (a RONA call goes back
at its original arrival), with binary search for the calls around an arrival time.
``FreeAgents``: per (skill, group), one insertion-ordered set per proficiency level, so
"highest proficiency, then longest idle" is the first agent of the first non-empty level.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import OrderedDict
from math import inf

from cti.domain.routing.model import MAX_PROFICIENCY

QueueEntry = tuple[float, int, str]      # (arrived_at, seq, call_id)


class CallQueue:
    __slots__ = ("entries",)

    def __init__(self) -> None:
        self.entries: list[QueueEntry] = []

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, entry: QueueEntry) -> None:
        if not self.entries or self.entries[-1] < entry:
            self.entries.append(entry)
        else:
            insort(self.entries, entry)

    def remove(self, entry: QueueEntry) -> None:
        index = bisect_left(self.entries, entry)
        if index == len(self.entries) or self.entries[index] != entry:
            raise KeyError(entry[2])
        del self.entries[index]

    def oldest(self) -> QueueEntry | None:
        return self.entries[0] if self.entries else None

    def last_at_or_before(self, arrived_at: float) -> QueueEntry | None:
        """The youngest call that arrived at or before ``arrived_at``."""
        index = bisect_right(self.entries, (arrived_at, inf))
        return self.entries[index - 1] if index else None

    def first_at_or_after(self, arrived_at: float) -> QueueEntry | None:
        """The oldest call that arrived at or after ``arrived_at``."""
        index = bisect_left(self.entries, (arrived_at, -inf))
        return self.entries[index] if index < len(self.entries) else None


class FreeAgents:
    """Free agents by (skill, group, proficiency), each level in the order agents became free."""

    __slots__ = ("_levels",)

    def __init__(self) -> None:
        self._levels: dict[tuple[str, str], list[OrderedDict[str, int]]] = {}

    def add(self, agent_id: str, skills: dict[str, int] | object, group: str,
            free_seq: int) -> None:
        for skill, level in skills.items():  # type: ignore[attr-defined]
            levels = self._levels.get((skill, group))
            if levels is None:
                levels = self._levels[(skill, group)] = [
                    OrderedDict() for _ in range(MAX_PROFICIENCY + 1)]
            levels[level][agent_id] = free_seq

    def remove(self, agent_id: str, skills: dict[str, int] | object, group: str) -> None:
        for skill, level in skills.items():  # type: ignore[attr-defined]
            del self._levels[(skill, group)][level][agent_id]

    def best(self, skill: str, groups: tuple[str, ...], min_level: int) -> str | None:
        """Highest proficiency >= ``min_level``, then the earliest freed, across ``groups``."""
        tables = [t for t in (self._levels.get((skill, g)) for g in groups) if t is not None]
        if not tables:
            return None
        for level in range(MAX_PROFICIENCY, min_level - 1, -1):
            found, found_seq = None, inf
            for table in tables:
                bucket = table[level]
                if bucket:
                    agent_id = next(iter(bucket))
                    if bucket[agent_id] < found_seq:
                        found, found_seq = agent_id, bucket[agent_id]
            if found is not None:
                return found
        return None
