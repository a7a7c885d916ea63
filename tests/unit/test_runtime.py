"""The daemon's process settings: what exists at start is no longer walked by the garbage
collector, and log records skip the look-ups ctid's log format does not print."""
from __future__ import annotations

import gc
import io
import logging
import weakref

import pytest

from cti import runtime


@pytest.fixture
def restored_gc():
    thresholds = gc.get_threshold()
    switches = (logging._srcfile, logging.logThreads, logging.logProcesses,
                logging.logMultiprocessing)
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    (logging._srcfile, logging.logThreads, logging.logProcesses,
     logging.logMultiprocessing) = switches


def test_what_exists_at_start_is_frozen_and_collections_are_rarer(restored_gc) -> None:
    kept = [{"n": n} for n in range(1000)]          # what a daemon builds at start
    before = gc.get_freeze_count()
    runtime.settle_after_start()
    assert gc.get_freeze_count() >= before + len(kept)
    assert gc.get_threshold() == runtime.GC_THRESHOLDS
    assert gc.get_threshold()[0] > 700


def test_cycles_made_after_start_are_still_collected(restored_gc) -> None:
    runtime.settle_after_start()

    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a
    watched = weakref.ref(a)
    del a, b
    gc.collect()
    assert watched() is None


def test_log_lines_are_unchanged_and_records_skip_the_stack_walk(restored_gc) -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("cti.test_runtime")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    records = []
    handler.addFilter(lambda record: records.append(record) or True)
    try:
        runtime.settle_after_start()
        logger.info("call %s registered", "cti-1.1")
    finally:
        logger.removeHandler(handler)
    assert out.getvalue() == "INFO cti.test_runtime: call cti-1.1 registered\n"
    (record,) = records
    assert record.lineno == 0 and record.threadName is None and record.processName is None
