"""The daemon's garbage-collector settings: what exists at start is no longer walked."""
from __future__ import annotations

import gc
import weakref

import pytest

from cti import runtime


@pytest.fixture
def restored_gc():
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


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
