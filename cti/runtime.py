"""Process settings of the ctid daemon that are not configuration: the garbage collector.

ctid builds most of what it keeps (services, tables, compiled statements, the dialplan's
constants) at start, then runs for months allocating short-lived objects per AMI event and
per AGI line. With CPython's defaults the cyclic collector runs every 700 allocations and
every tenth run walks the whole heap built at start again: about 5 % of ctid's CPU per call
on the call path (``bench/call_path.py``, column "of it GC"). :func:`settle_after_start`
moves what exists once the daemon has started into the permanent generation, which the
collector no longer walks, and lets more allocations pass between collections. Garbage is
still collected: cycles made after start are found as before, only less often.
"""
from __future__ import annotations

import gc

GC_THRESHOLDS = (20_000, 20, 100)
"""Allocations between young collections, and young (then middle) collections between the
older ones. CPython's defaults are (700, 10, 10)."""


def settle_after_start() -> None:
    """Call once, after the daemon's services have started (``ctid`` does, in ``cti.main``)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
