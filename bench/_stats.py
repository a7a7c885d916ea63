"""Small shared helpers for the benchmarks: percentiles, rates and a plain-text table.

Benchmarks print their figures; nothing here measures anything by itself.
"""
from __future__ import annotations

import math
import resource
import time
from contextlib import contextmanager
from typing import Iterable, Iterator, Sequence

__all__ = ["percentile", "percentiles", "rate", "mb_per_s", "Timer", "timed", "peak_rss_mb",
           "format_table", "print_table"]


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0..100) by linear interpolation between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def percentiles(values: Sequence[float],
                ps: Iterable[float] = (50, 90, 99, 100)) -> dict[str, float]:
    """``{"p50": ..., "p90": ..., ...}`` (``p100`` is the maximum)."""
    return {f"p{p:g}": percentile(values, p) for p in ps}


def rate(count: float, seconds: float) -> float:
    """Things per second; infinity when no time was measured."""
    return count / seconds if seconds > 0 else math.inf


def mb_per_s(nbytes: int, seconds: float) -> float:
    """Throughput in MB/s (10**6 bytes)."""
    return rate(nbytes, seconds) / 1e6


class Timer:
    """Wall-clock seconds of a ``with timed() as t:`` block, in ``t.seconds``."""

    seconds: float = 0.0


@contextmanager
def timed() -> Iterator[Timer]:
    timer = Timer()
    start = time.perf_counter()
    try:
        yield timer
    finally:
        timer.seconds = time.perf_counter() - start


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cell(value: object) -> str:
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return "-"
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "-" if value is None else str(value)


def format_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Left-aligned first column, right-aligned numbers, one header rule."""
    text = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in text) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        return "  ".join(cells).rstrip()

    out = [line(text[0]), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in text[1:]]
    return "\n".join(out)


def print_table(headers: Sequence[str], rows: Iterable[Sequence[object]],
                title: str | None = None) -> None:
    if title:
        print(title)
    print(format_table(headers, rows))
