"""What a caller's walk through a flow comes to: its compact path and IVR containment. Pure.

A journey is *contained* when it finished in the IVR without an agent: the flow ended there
(outcome ``done``), or the caller hung up after a self-service action succeeded (they heard
their balance and went). A caller who hung up before being served, or who asked for an agent,
is not contained. Containment per node: of the journeys that passed through a node, the share
contained — where in a flow callers give up on self-service.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable, Mapping, Sequence

PATH_LIMIT = 255          # contacts.ivr_path and CTI_IVR_PATH keep this much


SELF_SERVICE = ("bill-inquiry", "suspend-line", "voice-message")


def compact_path(steps: Sequence[Mapping[str, Any]], flow: str = "",
                 limit: int = PATH_LIMIT) -> str:
    """``standard:1>bill-inquiry=done>9>0``: the flow, then keys pressed, ``t`` for a
    timeout, self-service outcomes, ``hangup@node`` where the caller hung up. Longer than
    ``limit``: its end is kept."""
    parts: list[str] = []
    for step in steps:
        kind, event = step.get("kind"), step.get("event")
        if kind == "menu" and step.get("key"):
            parts.append(str(step["key"]))
        elif kind == "menu" and event == "timeout":
            parts.append("t")
        elif kind == "action" and step.get("action") in SELF_SERVICE:
            parts.append(f"{step.get('action')}={step.get('outcome')}")
        elif event == "hangup":
            parts.append(f"hangup@{step.get('node')}")
    text = (f"{flow}:" if flow else "") + ">".join(parts)
    return text if len(text) <= limit else "…" + text[-(limit - 1):]


def is_contained(outcome: str, self_served: bool) -> bool:
    return outcome == "done" or (outcome == "hangup" and self_served)


def containment(journeys: Iterable[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """``journeys``: mappings with ``flow``, ``outcome``, ``self_served`` and ``steps``.
    Returns ``{"flows": [...], "nodes": [...]}``, each row with its calls, contained calls and
    rate (contained / calls); flows also count calls sent to agents and hung up."""
    flows: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    nodes: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for journey in journeys:
        flow, outcome = journey["flow"], journey["outcome"]
        contained = is_contained(outcome, bool(journey.get("self_served")))
        row = flows[flow]
        row["calls"] += 1
        row["contained"] += contained
        row["to_agent"] += outcome == "agent"
        row["hung_up"] += outcome == "hangup" and not contained
        for node in {s.get("node") for s in journey.get("steps") or () if s.get("node")}:
            cell = nodes[(flow, node)]
            cell["calls"] += 1
            cell["contained"] += contained
    return {
        "flows": [{"flow": flow, **row, "rate": _rate(row)} for flow, row in sorted(flows.items())],
        "nodes": [{"flow": flow, "node": node, **cell, "rate": _rate(cell)}
                  for (flow, node), cell in sorted(nodes.items())],
    }


def _rate(row: Mapping[str, int]) -> float:
    return round(row["contained"] / row["calls"], 4) if row["calls"] else 0.0


def parse_since(text: str | None, now: "dt.datetime") -> "dt.datetime | None":
    """``--since``: an ISO date or datetime (UTC when no zone is given), or a span back from
    ``now`` such as ``90m``, ``12h``, ``7d``. None or empty: no bound. ValueError otherwise."""
    import datetime as dt
    import re

    if not text:
        return None
    span = re.fullmatch(r"(\d+)([mhd])", text.strip())
    if span:
        unit = {"m": "minutes", "h": "hours", "d": "days"}[span.group(2)]
        return now - dt.timedelta(**{unit: int(span.group(1))})
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"since {text!r}: give a date (2026-12-01), a date and time, or a span "
                         "such as 12h or 7d") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
