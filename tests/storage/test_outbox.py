"""The outage buffer's rules, driven by a fake clock and a writer the test answers by hand."""
import datetime as dt
import json

import pytest
from twisted.internet.defer import Deferred, fail
from twisted.internet.task import Clock

from cti.storage.db import DatabaseUnavailable
from cti.storage.outbox import Backoff, Outbox
from cti.storage.records import AuditRecord, ContactRecord, decode, encode

T = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.timezone.utc)


def audit(n: int) -> AuditRecord:
    return AuditRecord("sup", "customer.view", "customer", str(n), T, entry_id=f"e{n}")


class FakeWriter:
    """Each write returns a Deferred the test fires: `.succeed()` or `.down()`."""

    def __init__(self):
        self.calls: list[tuple[list, Deferred]] = []
        self.landed: list = []

    def __call__(self, batch):
        d = Deferred()
        self.calls.append((list(batch), d))
        return d

    @property
    def last_batch(self):
        return self.calls[-1][0]

    def succeed(self):
        batch, d = self.calls[-1]
        self.landed.extend(batch)
        d.callback(len(batch))

    def down(self, message="connection refused"):
        self.calls[-1][1].errback(DatabaseUnavailable(message))

    def refuse(self, message="value too long"):
        self.calls[-1][1].errback(ValueError(message))


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def writer():
    return FakeWriter()


def make(writer, clock, tmp_path, **kwargs):
    kwargs.setdefault("backoff", Backoff(initial=1, factor=2, maximum=8))
    outbox = Outbox(writer, tmp_path / "spill.jsonl", clock=clock, **kwargs)
    outbox.startService()
    return outbox


def spilled(tmp_path):
    path = tmp_path / "spill.jsonl"
    return [decode(json.loads(line)) for line in path.read_text().splitlines()] if path.exists() else []


def test_submissions_in_one_turn_go_out_as_one_ordered_batch(writer, clock, tmp_path):
    outbox = make(writer, clock, tmp_path)
    for n in range(3):
        outbox.submit(audit(n))
    assert writer.calls == [] and outbox.backlog == 3
    clock.advance(0)
    assert writer.last_batch == [audit(0), audit(1), audit(2)]
    writer.succeed()
    assert outbox.backlog == 0 and spilled(tmp_path) == []


def test_batches_are_capped_and_sequential(writer, clock, tmp_path):
    outbox = make(writer, clock, tmp_path, batch_size=2)
    for n in range(5):
        outbox.submit(audit(n))
    clock.advance(0)
    assert len(writer.calls) == 1 and writer.last_batch == [audit(0), audit(1)]
    outbox.submit(audit(5))
    clock.advance(0)
    assert len(writer.calls) == 1  # one batch in flight at a time
    writer.succeed()
    clock.advance(0)
    writer.succeed()
    clock.advance(0)
    writer.succeed()
    clock.advance(0)
    assert writer.landed == [audit(n) for n in range(6)] and outbox.backlog == 0


def test_outage_retries_the_same_batch_with_growing_backoff(writer, clock, tmp_path):
    outbox = make(writer, clock, tmp_path)
    outbox.submit(audit(1))
    clock.advance(0)
    delays = []
    for _ in range(5):
        writer.down()
        assert outbox.health()["retrying"]
        delays.append(clock.getDelayedCalls()[0].getTime() - clock.seconds())
        outbox.submit(audit(len(delays) + 1))  # keeps accepting during the outage
        clock.advance(delays[-1])
    assert delays == [1, 2, 4, 8, 8]
    # the retry starts from the same head and takes what arrived meanwhile, in order
    assert writer.last_batch == [audit(n) for n in range(1, 7)]
    assert outbox.health()["consecutive_failures"] == 5
    assert outbox.health()["last_error"] == "connection refused"
    writer.succeed()
    assert writer.landed == [audit(n) for n in range(1, 7)]
    assert outbox.health()["consecutive_failures"] == 0 and outbox.health()["last_error"] is None


def test_a_refused_record_is_isolated_and_set_aside_not_blocking_the_rest(writer, clock, tmp_path):
    outbox = make(writer, clock, tmp_path)
    for n in range(3):
        outbox.submit(audit(n))
    clock.advance(0)
    writer.refuse()
    clock.advance(0)
    assert writer.last_batch == [audit(0)]
    writer.succeed()
    clock.advance(0)
    assert writer.last_batch == [audit(1)]
    writer.refuse("bad row")
    clock.advance(0)
    assert writer.last_batch == [audit(2)]
    writer.succeed()
    outbox.submit(audit(3))
    clock.advance(0)
    assert writer.last_batch == [audit(3)]  # back to batches after the isolated ones
    writer.succeed()
    assert writer.landed == [audit(0), audit(2), audit(3)]
    rejected = (tmp_path / "spill.jsonl.rejected").read_text().splitlines()
    assert [json.loads(line)["error"] for line in rejected] == ["bad row"]
    assert decode(json.loads(rejected[0])["record"]) == audit(1)
    assert outbox.health()["dead_lettered"] == 1 and outbox.backlog == 0


def test_pending_records_are_in_the_spill_file_until_written(writer, clock, tmp_path):
    outbox = make(writer, clock, tmp_path, batch_size=2)
    for n in range(3):
        outbox.submit(audit(n))
    assert spilled(tmp_path) == [audit(0), audit(1), audit(2)]
    clock.advance(0)
    writer.succeed()
    clock.advance(0)
    assert outbox.backlog == 1
    writer.succeed()
    assert spilled(tmp_path) == []


def test_restart_replays_the_spill_file_first(writer, clock, tmp_path):
    first = make(writer, clock, tmp_path)
    for n in range(3):
        first.submit(audit(n))
    clock.advance(0)
    writer.down()
    stopped = first.stopService()
    assert stopped.called and clock.getDelayedCalls() == []
    with open(tmp_path / "spill.jsonl", "a") as spill:
        spill.write('{"torn line\n')  # a crash mid-write leaves half a line
    second_writer = FakeWriter()
    second = make(second_writer, clock, tmp_path)
    assert second.backlog == 3
    second.submit(audit(3))
    clock.advance(0)
    assert second_writer.last_batch == [audit(0), audit(1), audit(2), audit(3)]
    second_writer.succeed()
    assert spilled(tmp_path) == [] and second.health()["dead_lettered"] == 1
    assert "torn line" in (tmp_path / "spill.jsonl.rejected").read_text()


def test_stop_waits_for_the_batch_in_flight(writer, clock, tmp_path):
    outbox = make(writer, clock, tmp_path)
    outbox.submit(audit(1))
    clock.advance(0)
    stopped = outbox.stopService()
    assert not stopped.called
    writer.succeed()
    assert stopped.called and outbox.backlog == 0


def test_drained_fires_when_the_backlog_is_empty(writer, clock, tmp_path):
    outbox = make(writer, clock, tmp_path)
    assert outbox.drained().called
    outbox.submit(audit(1))
    drained = outbox.drained()
    clock.advance(0)
    writer.down()
    clock.advance(1)
    assert not drained.called
    writer.succeed()
    assert drained.called


def test_submit_never_raises_and_keeps_records_in_memory_when_spilling_fails(clock, tmp_path, caplog):
    landed = []
    outbox = Outbox(lambda batch: landed.extend(batch), tmp_path / "no-dir" / "spill.jsonl",
                    clock=clock)
    outbox.startService()
    outbox.submit(audit(1))
    outbox.submit(ContactRecord("c1", "l", "u", T))
    outbox.submit(object())  # not a record: logged, never raised
    assert outbox.backlog == 3 and "in memory only" in caplog.text
    clock.advance(0)
    assert landed[:2] == [audit(1), ContactRecord("c1", "l", "u", T)]


def test_without_a_spill_file_and_before_start(writer, clock):
    outbox = Outbox(writer, None, clock=clock)
    outbox.submit(audit(1))
    clock.advance(0)
    assert writer.calls == []  # nothing is written before the service starts
    outbox.startService()
    clock.advance(0)
    writer.succeed()
    assert writer.landed == [audit(1)]


def test_a_writer_that_fails_synchronously_is_retried(clock, tmp_path):
    attempts = []

    def write(batch):
        attempts.append(batch)
        return fail(DatabaseUnavailable("locked")) if len(attempts) < 3 else None

    outbox = make(write, clock, tmp_path)
    outbox.submit(audit(1))
    clock.advance(0)
    clock.advance(1)
    clock.advance(2)
    assert len(attempts) == 3 and outbox.backlog == 0


def test_the_spill_file_is_compacted_during_a_long_backlog(writer, clock, tmp_path):
    outbox = make(writer, clock, tmp_path, batch_size=2, compact_after=4)
    for n in range(7):
        outbox.submit(audit(n))
    for _ in range(2):
        clock.advance(0)
        writer.succeed()
    assert spilled(tmp_path) == [audit(4), audit(5), audit(6)]
    clock.advance(0)
    writer.succeed()
    clock.advance(0)
    writer.succeed()
    assert spilled(tmp_path) == [] and outbox.backlog == 0
    assert [json.dumps(encode(r)) for r in writer.landed] == [
        json.dumps(encode(audit(n))) for n in range(7)
    ]


def test_with_linger_records_of_several_calls_share_one_batch(writer, clock, tmp_path):
    outbox = make(writer, clock, tmp_path, linger=0.1)
    outbox.submit(audit(0))
    clock.advance(0.05)
    assert writer.calls == []                       # still lingering: nothing written yet
    assert spilled(tmp_path) == [audit(0)]          # but already safe in the spill file
    outbox.submit(audit(1))
    clock.advance(0.05)
    assert len(writer.calls) == 1 and writer.last_batch == [audit(0), audit(1)]  # one transaction
    outbox.submit(audit(2))                         # arrives while that batch is in flight
    writer.succeed()
    clock.advance(0)                                # it waited already: goes out at once
    assert writer.last_batch == [audit(2)]
    writer.succeed()
    assert outbox.backlog == 0 and spilled(tmp_path) == []
