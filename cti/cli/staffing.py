"""``ctictl staffing``: agents needed for a service-level target (Erlang C, Erlang A).

A pure calculator, no daemon needed::

    ctictl staffing --calls-per-hour 1200 --aht 180 --target 0.8 --within 20 [--patience 120]
                    [--json]

The command line composer registers it with ``add_parser(subparsers)`` and calls ``run(args)``.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any, TextIO

from cti.domain.erlang import Staffing, StaffingError, staffing


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number: {text!r}")
    return value


def _fraction(text: str) -> float:
    value = _positive(text)
    if value >= 1:
        value /= 100.0            # "80" means 80 %
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"target must be a fraction (0.8) or percent (80): "
                                         f"{text!r}")
    return value


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "staffing", help="agents needed for a service-level target (Erlang C / Erlang A)",
        description="Agents needed for TARGET answered within WITHIN seconds, with the "
                    "expected service level and average speed of answer (Erlang C; "
                    "Erlang A too when --patience is given).")
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--calls-per-hour", type=_positive, required=True)
    parser.add_argument("--aht", type=_positive, required=True,
                        help="average handle time, seconds")
    parser.add_argument("--target", type=_fraction, required=True,
                        help="share answered within --within (0.8 or 80)")
    parser.add_argument("--within", type=_positive, required=True, help="seconds")
    parser.add_argument("--patience", type=_positive, default=None,
                        help="callers' mean patience in seconds: adds Erlang A (abandons)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(handler=run)


def _row(result: Staffing) -> list[str]:
    abandon = "-" if result.abandon_rate is None else f"{result.abandon_rate:.1%}"
    return [result.model, str(result.agents), f"{result.service_level:.1%}",
            f"{result.asa:.1f} s", f"{result.occupancy:.1%}", abandon]


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        results = [staffing(args.calls_per_hour, args.aht, args.target, args.within)]
        if args.patience is not None:
            results.append(staffing(args.calls_per_hour, args.aht, args.target, args.within,
                                    patience=args.patience))
    except StaffingError as exc:
        print(f"ctictl staffing: {exc}", file=err)
        return 2
    if args.json:
        json.dump({"calls_per_hour": args.calls_per_hour, "aht": args.aht,
                   "target": args.target, "within": args.within, "patience": args.patience,
                   "results": [r.as_dict() for r in results]}, out, indent=2)
        out.write("\n")
        return 0
    load = results[0].load_erlangs
    print(f"{args.calls_per_hour:g} calls/h x {args.aht:g} s = {load:.2f} Erlangs; target "
          f"{args.target:.0%} within {args.within:g} s", file=out)
    rows = [["model", "agents", "service level", "ASA", "occupancy", "abandoned"]]
    rows += [_row(r) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip(), file=out)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (``python -m cti.cli.staffing``) until ctictl registers it."""
    parser = argparse.ArgumentParser(prog="ctictl staffing")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
