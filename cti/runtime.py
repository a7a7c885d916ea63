"""Process settings of the ctid daemon that are not configuration: garbage collector, log records.

ctid builds most of what it keeps (services, tables, compiled statements, the dialplan's
constants) at start, then runs for months allocating short-lived objects per AMI event and
per AGI line. With CPython's defaults the cyclic collector runs every 700 allocations and
every tenth run walks the whole heap built at start again: about 5 % of ctid's CPU per call
on the call path (``bench/call_path.py``, column "of it GC"). :func:`freeze_start_heap`
moves what exists once the daemon has started into the permanent generation, which the
collector no longer walks, and lets more allocations pass between collections. Garbage is
still collected: cycles made after start are found as before, only less often.

Each log record also looks up, by default, its caller's file and line (a walk up the stack),
its thread and its process, none of which ctid's log format (``cti.main``) prints.
:func:`lean_log_records` turns those look-ups off, as the logging HOWTO's "Optimization"
section describes.
"""
from __future__ import annotations

import gc
import logging

GC_THRESHOLDS = (20_000, 20, 100)
"""Allocations between young collections, and young (then middle) collections between the
older ones. CPython's defaults are (700, 10, 10)."""


def settle_after_start() -> None:
    """Call once, after the daemon's services have started (``ctid`` does, in ``cti.main``)."""
    freeze_start_heap()
    lean_log_records()


def freeze_start_heap() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def lean_log_records() -> None:
    """No caller file/line, thread or process in log records: ctid's format shows none."""
    logging._srcfile = None          # documented switch: skips findCaller's stack walk
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
