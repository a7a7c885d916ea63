"""The call journal: what a restarted ctid learns of the calls of the run before."""
from twisted.internet.task import Clock

from cti.protocol.ami_message import Message
from cti.services.calls import Call, CallTracker
from cti.services.journal import CallJournal


def setup(tmp_path):
    clock = Clock()
    clock.advance(1000)
    tracker = CallTracker(clock.seconds)
    journal = CallJournal(tracker, tmp_path / "calls.json", clock)
    tracker.subscribe(journal)
    return clock, tracker, journal


def arrive(tracker, clock, n):
    call = tracker.register(Call(f"c{n}", f"PJSIP/carrier-{n}", f"u{n}", f"u{n}", "13800138000",
                                 tier="gold", arrival=clock.seconds()))
    tracker.handle(Message.of({"Event": "UserEvent", "UserEvent": "CTIWait", "Channel": call.channel}))
    return call


def next_run(tmp_path):
    clock = Clock()
    return CallJournal(CallTracker(clock.seconds), tmp_path / "calls.json", clock)


def test_a_call_ending_after_the_last_save_is_not_recovered_by_the_next_run(tmp_path):
    clock, tracker, journal = setup(tmp_path)
    gone, live = arrive(tracker, clock, 1), arrive(tracker, clock, 2)
    journal.save()
    tracker.handle(Message.of({"Event": "Hangup", "Channel": gone.channel}))
    # ctid dies here, before its next save: the next run must not see c1 as live.
    recovered = next_run(tmp_path).load()
    assert set(recovered) == {"c2"}
    assert recovered["c2"]["state"] == live.state.value


def test_each_save_starts_the_list_of_ended_calls_afresh(tmp_path):
    clock, tracker, journal = setup(tmp_path)
    first = arrive(tracker, clock, 1)
    tracker.handle(Message.of({"Event": "Hangup", "Channel": first.channel}))
    journal.save()
    assert (tmp_path / "calls.json.ended").read_text() == ""
    arrive(tracker, clock, 2)
    journal.save()
    assert set(next_run(tmp_path).load()) == {"c2"}


def test_unreadable_files_mean_nothing_recovered_not_a_crash(tmp_path):
    (tmp_path / "calls.json").write_text("{not json")
    assert next_run(tmp_path).load() == {}
    (tmp_path / "calls.json").write_text('[{"call_id": "c9", "state": "queued"}]')
    (tmp_path / "calls.json.ended").write_bytes(b"\xff\xfe c8\n")
    assert set(next_run(tmp_path).load()) == {"c9"}


def test_a_run_that_never_reached_its_first_resync_keeps_what_the_run_before_left(tmp_path):
    # ctid is killed with callers live; the next run starts but never gets to its first
    # resync (Asterisk unreachable, or a port found taken just after start) and stops.
    clock, tracker, journal = setup(tmp_path)
    arrive(tracker, clock, 1)
    ivr = tracker.register(Call("c2", "PJSIP/carrier-2", "u2", "u2", "139", arrival=1000.0))
    journal.save()
    tracker.handle(Message.of({"Event": "UserEvent", "UserEvent": "CTIWait",
                               "Channel": ivr.channel}))       # queued after the save
    second = next_run(tmp_path)
    second.startService()                                      # its timer saves at once
    second.stopService()
    third = next_run(tmp_path)
    third.startService()
    assert set(third.take_recovered()) == {"c1", "c2"}
    assert third.was_queued("c1") and third.was_queued("c2")   # no second ENTERQUEUE
    third.stopService()
