#!/usr/bin/env python3
"""AGI script for [cti-fallback]: when ctid is unreachable, set QUEUE_PRIO from the caller's tier.

Runs as a plain (stdin/stdout) AGI from Asterisk's agi-bin, with no ctid process involved:

    same => n,AGI(ctid-fallback-priority.py)
    same => n,Queue(cti-fallback,t,,,7200)

The tier is taken from the channel's CTI_TIER (ctid may have identified the caller before it
went away), else looked up in ctid's database by calling number (CTID_DATABASE_URL, default
the embedded SQLite file). The priority is the tier's rank in ctid's default tier order
(platinum highest). Whatever fails, the script ends normally without setting anything: the
caller still queues, at priority 0, and never hears dead air.
"""
from __future__ import annotations

import os
import sys

TIER_PRIORITY = {"platinum": 5, "diamond": 4, "gold": 3, "silver": 2, "standard": 1}
DEFAULT_URL = "sqlite:////var/lib/ctid/ctid.sqlite"


def tier_by_number(number: str, url: str) -> str | None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url, connect_args={"timeout": 2} if url.startswith("sqlite") else
                           {"connect_timeout": 2})
    try:
        with engine.connect() as conn:
            return conn.execute(text(
                "SELECT c.tier FROM customers c JOIN customer_numbers n ON n.customer_id = c.id "
                "WHERE n.number = :number"), {"number": number}).scalar()
    finally:
        engine.dispose()


def main() -> int:
    from asterisk.agi import AGI

    agi = AGI(stderr=open(os.devnull, "w"))
    try:
        tier = agi.get_variable("CTI_TIER") or None
        if tier is None:
            number = agi.env.get("agi_callerid", "")
            if number and number.lower() not in ("unknown", "anonymous"):
                tier = tier_by_number(number, os.environ.get("CTID_DATABASE_URL", DEFAULT_URL))
        priority = TIER_PRIORITY.get(tier or "standard", 1)
        agi.set_variable("QUEUE_PRIO", str(priority))
        agi.verbose(f"ctid fallback: tier {tier or 'unknown'} -> QUEUE_PRIO {priority}", 3)
    except Exception as exc:          # never fail the caller: queue at priority 0
        try:
            agi.verbose(f"ctid fallback: no priority ({type(exc).__name__})", 1)
        except Exception:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
