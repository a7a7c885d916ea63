"""Where ctid's CPU goes: a profile of the reactor thread and the database threads, by component.

Used by ``bench/call_path.py``. :class:`CallPathProfile` runs ``cProfile`` on the reactor thread
(``start``/``stop`` around a load step) and on every unit of work of the database thread pool
(a per-thread profiler switched on around each one). The profilers' clock is the thread's CPU
time (``time.thread_time``): on a shared machine a wall clock charges a syscall for the time
the thread was descheduled in it. Waits (``epoll``/``select``, locks, ``sleep``) are left
out all the same.

:func:`split` turns the merged statistics into time per component. A function whose file
belongs to a component counts for it; any other function (Twisted, asyncio, SQLAlchemy, json,
the standard library) passes its own time up to its callers in proportion to how often each
called it, until it reaches a component, or the top of the stack ("reactor and I/O": the
loop, transports and sockets no ctid function called). The profiler slows code down unevenly,
so each function's time is first corrected by the profiler's measured overhead per call
(``bias``), and the bench reports the shares, applied to the CPU it measured without the
profiler.
"""
from __future__ import annotations

import cProfile
import pstats
import threading
import time
from collections import defaultdict
from typing import Any

# (component, path fragments) in order: the first that matches a function's file wins.
COMPONENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("logging", ("/logging/", "cti/logsetup")),
    ("parse (AMI)", ("cti/protocol/ami",)),
    ("AMI client", ("cti/net/ami_client", "cti/net/ami_errors")),
    ("tracker", ("cti/services/calls", "cti/domain/call_state", "cti/services/resync")),
    ("ACD", ("cti/services/acd", "cti/domain/routing", "cti/services/agents",
             "cti/domain/agent_state", "cti/domain/state_machine")),
    ("AGI", ("cti/net/fastagi", "cti/protocol/agi", "cti/services/agi_routes", "cti/agi_errors",
             "cti/ivr", "cti/agentivr", "cti/customers/service")),
    ("storage", ("cti/storage", "cti/services/records", "cti/services/journal",
                 "/sqlalchemy/", "sqlite3", "psycopg2")),
    ("other ctid", ("/cti/",)),
)
REACTOR = "reactor and I/O"
ORDER = [name for name, _ in COMPONENTS] + [REACTOR]

# Builtins that block rather than compute: their time is waiting, not CPU.
WAITS = ("method 'poll' of 'select.epoll'", "built-in method select.select",
         "method 'acquire' of '_thread.lock'", "method 'acquire' of '_thread.RLock'",
         "built-in method time.sleep", "method 'control' of 'select.kqueue'",
         "method 'select' of 'select.epoll'", "method 'poll' of 'select.poll'")


def component_of(filename: str) -> str | None:
    path = filename.replace("\\", "/")
    for name, fragments in COMPONENTS:
        if any(f in path for f in fragments):
            return name
    return None


class CallPathProfile:
    """cProfile on the reactor thread and around each database unit of work."""

    def __init__(self) -> None:
        self.reactor_profile = cProfile.Profile(time.thread_time)
        self._local = threading.local()
        self._thread_profiles: list[cProfile.Profile] = []
        self._lock = threading.Lock()
        self.active = False

    def wrap_database(self) -> None:
        """Profile each unit of work the database thread pool runs, while the profile is on
        (``Database.run`` looks ``run_in_session`` up at each call)."""
        from cti.storage import unit_of_work
        run_in_session = unit_of_work.run_in_session

        def profiled(sessions, work, *args, **kwargs):
            if not self.active:
                return run_in_session(sessions, work, *args, **kwargs)
            profile = self._thread_profile()
            profile.enable()
            try:
                return run_in_session(sessions, work, *args, **kwargs)
            finally:
                profile.disable()

        unit_of_work.run_in_session = profiled

    def _thread_profile(self) -> cProfile.Profile:
        profile = getattr(self._local, "profile", None)
        if profile is None:
            profile = self._local.profile = cProfile.Profile(time.thread_time)
            with self._lock:
                self._thread_profiles.append(profile)
        return profile

    def start(self) -> None:
        self.active = True
        self.reactor_profile.enable()

    def stop(self) -> None:
        self.reactor_profile.disable()
        self.active = False

    def stats(self) -> pstats.Stats:
        stats = pstats.Stats(self.reactor_profile)
        with self._lock:
            for profile in self._thread_profiles:
                stats.add(profile)
        return stats


def _charged(stats: pstats.Stats) -> dict[Any, int]:
    """Per function: the profiler events its own time carries, its calls and the calls it
    made (the profiler's work at a call's entry and exit lands on both sides of it)."""
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    charged = {func: entry[1] for func, entry in raw.items()}
    for entry in raw.values():
        for caller, value in entry[4].items():
            if caller in charged:
                charged[caller] += value[1] if isinstance(value, tuple) else value
    return charged


def calls_counted(stats: pstats.Stats) -> int:
    """Profiler events counted: each costs its own overhead once (see ``_charged``)."""
    return sum(_charged(stats).values())


def split(stats: pstats.Stats, bias: float = 0.0) -> dict[str, float]:
    """Seconds per component (see the module's docstring), waits left out.

    ``bias``: the profiler's own CPU per function call, taken off each function's time
    (``profile``'s calibration, first order): the bench measures it as the step's CPU with
    the profiler less without, over the calls counted. Without it, code made of many small
    calls looks dearer than it is."""
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    charged = _charged(stats)
    shares: dict[Any, dict[str, float]] = {}

    def share_of(func, seen: frozenset) -> dict[str, float]:
        if func in shares:
            return shares[func]
        filename = func[0]
        own = component_of(filename)
        if own is not None:
            result = {own: 1.0}
        else:
            _cc, _nc, _tt, _ct, callers = raw.get(func, (0, 0, 0, 0, {}))
            calls = {c: v[0] if isinstance(v, tuple) else v for c, v in callers.items()
                     if c not in seen and c in raw}
            total = sum(calls.values())
            if not total:
                result = {REACTOR: 1.0}
            else:
                result = defaultdict(float)
                for caller, n in calls.items():
                    for name, w in share_of(caller, seen | {func}).items():
                        result[name] += w * n / total
                result = dict(result)
        shares[func] = result             # inside a cycle, the first answer found stands
        return result

    seconds: dict[str, float] = defaultdict(float)
    for func, (_cc, _nc, tottime, _ct, _callers) in raw.items():
        tottime -= bias * charged[func]
        if tottime <= 0 or any(w in func[2] for w in WAITS):
            continue
        for name, w in share_of(func, frozenset()).items():
            seconds[name] += tottime * w
    return {name: seconds.get(name, 0.0) for name in ORDER}


def top_functions(stats: pstats.Stats, n: int = 25,
                  bias: float = 0.0) -> list[tuple[float, int, str]]:
    """The ``n`` functions with the most own time (seconds less ``bias`` per call, calls,
    where), waits left out."""
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    charged = _charged(stats)
    rows = []
    for func, (_cc, nc, tottime, _ct, _callers) in raw.items():
        filename, line, name = func
        label = f"{name}" if filename == "~" else f"{filename.split('site-packages/')[-1]}:{line}({name})"
        if any(w in name for w in WAITS):
            continue
        rows.append((max(0.0, tottime - bias * charged[func]), nc, label))
    rows.sort(reverse=True)
    return rows[:n]
