"""A ctid killed (``kill -9``) and started again on the files of the run before: the journal,
the agents' presence and the queue_log. The PBX kept the callers; ctid must neither write their
entry into the queue twice nor cut short the wrap-up it interrupted."""
from pathlib import Path

from twisted.internet.task import Clock

from cti.domain.agent_state import AgentState
from cti.domain.routing import make_router
from cti.protocol.ami_message import Message
from cti.services.acd import ACDService
from cti.services.agents import Agent, AgentService
from cti.services.calls import Call, CallTracker
from cti.services.journal import CallJournal
from cti.services.presence import PresenceStore
from cti.services.records import CallRecords
from cti.services.resync import ChannelView, Resync
from cti.storage.queue_log import QueueLogWriter, parse_line

from tests.services.test_resync import Connector

WRAP_UP = 10.0


class Run:
    """One life of ctid, wired as cti/app.py wires it, on the files in ``var``."""

    def __init__(self, var: Path, clock: Clock):
        self.clock = clock
        self.tracker = CallTracker(clock.seconds)
        self.agents = AgentService([Agent("1001", "A", "PJSIP/6001")], clock,
                                   wrap_up_seconds=WRAP_UP)
        self.connector = Connector()
        self.acd = ACDService(make_router("service-level", {}, clock.seconds), self.tracker,
                              self.agents, self.connector)
        self.journal = CallJournal(self.tracker, var / "calls.json", clock)
        self.qlog = QueueLogWriter(var / "queue_log", None)
        records = CallRecords(lambda record: None, self.qlog, self.acd.position, clock.seconds,
                              entered_before=self.journal.was_queued)
        presence = PresenceStore(var / "agents.json")
        for observer in (self.agents, self.acd, records, self.journal):
            self.tracker.subscribe(observer)
        for observer in (self.acd, records, presence):
            self.agents.subscribe(observer)
        self.resync = Resync(self.tracker, self.agents, self.acd, presence, clock, self.journal)
        self.journal.startService()

    def arrive(self, n: int) -> Call:
        call = self.tracker.register(Call(f"c{n}", f"PJSIP/trunk-{n}", f"u{n}", f"u{n}", "138",
                                          tier="gold", arrival=self.clock.seconds()))
        self.tracker.handle(Message.of({"Event": "UserEvent", "UserEvent": "CTIWait",
                                        "Channel": call.channel}))
        return call

    def event(self, name: str, **fields) -> None:
        self.tracker.handle(Message.of({"Event": name, **fields}))


def queue_log(var: Path) -> list:
    return [parse_line(line) for line in (var / "queue_log").read_text().splitlines()]


def waiting(call: Call) -> ChannelView:
    return ChannelView(call.channel, "cti-wait", "MusicOnHold", False, call.uniqueid,
                       call.linkedid, call.caller_number,
                       {"CTI_CALL_ID": call.call_id, "CTI_ARRIVAL": f"{call.arrival:.3f}",
                        "CTI_TIER": call.tier, "CTI_SKILL": call.skill})


def first_run(var: Path, clock: Clock, save_after_queueing: bool) -> Call:
    """Agent 1001 takes c1 and hangs up (wrap-up starts); c2 waits; then ctid is killed."""
    run = Run(var, clock)
    run.resync.reconcile({})
    run.agents.login("1001")
    c1 = run.arrive(1)
    assert run.connector.moved == [("c1", "1001")]
    clock.advance(0.5)
    run.event("DialBegin", Channel=c1.channel, DestChannel="PJSIP/6001-01")
    run.event("DialEnd", Channel=c1.channel, DestChannel="PJSIP/6001-01", DialStatus="ANSWER")
    clock.advance(20)
    run.event("Hangup", Channel="PJSIP/6001-01")
    run.event("Hangup", Channel=c1.channel)
    assert run.agents.get("1001").state is AgentState.AFTER_CALL_WORK
    clock.advance(1)
    c2 = run.arrive(2)
    if save_after_queueing:
        clock.advance(5)                      # the journal's periodic save
    run.qlog.close()
    return c2                                 # kill -9: nothing stopped, nothing saved


def test_a_caller_requeued_after_the_restart_gets_one_enterqueue(tmp_path):
    clock = Clock()
    clock.advance(1000)
    c2 = first_run(tmp_path, clock, save_after_queueing=False)
    clock.advance(3)
    run = Run(tmp_path, clock)
    run.resync.reconcile({c2.channel: waiting(c2)})
    entries = [line for line in queue_log(tmp_path) if line.event == "ENTERQUEUE"]
    assert [line.callid for line in entries] == ["u1", "u2"]


def test_wrap_up_interrupted_by_the_restart_runs_to_its_end(tmp_path):
    clock = Clock()
    clock.advance(1000)
    c2 = first_run(tmp_path, clock, save_after_queueing=False)
    ended_wrap = 1000 + 0.5 + 20 + WRAP_UP
    clock.advance(3)
    run = Run(tmp_path, clock)
    run.resync.reconcile({c2.channel: waiting(c2)})
    agent = run.agents.get("1001")
    assert agent.state is AgentState.AFTER_CALL_WORK and run.connector.moved == []
    clock.advance(ended_wrap - clock.seconds() - 0.01)
    assert agent.state is AgentState.AFTER_CALL_WORK
    clock.advance(0.02)
    assert agent.state is AgentState.RESERVED and run.connector.moved == [("c2", "1001")]
    run.event("Hangup", Channel=c2.channel)          # the caller hangs up while it rings
    run.qlog.close()
    assert [line.event for line in queue_log(tmp_path)].count("ENTERQUEUE") == 2


def test_after_the_journal_saved_the_waiting_caller_it_is_still_one_entry(tmp_path):
    clock = Clock()
    clock.advance(1000)
    c2 = first_run(tmp_path, clock, save_after_queueing=True)
    run = Run(tmp_path, clock)
    run.resync.reconcile({c2.channel: waiting(c2)})
    run.event("UserEvent", UserEvent="CTIWait", Channel=c2.channel)   # the next slice of music
    run.qlog.close()
    assert [line.callid for line in queue_log(tmp_path) if line.event == "ENTERQUEUE"] == \
        ["u1", "u2"]


def test_a_wrap_up_that_ended_while_ctid_was_down_comes_back_ready(tmp_path):
    clock = Clock()
    clock.advance(1000)
    c2 = first_run(tmp_path, clock, save_after_queueing=False)
    clock.advance(60)
    run = Run(tmp_path, clock)
    run.resync.reconcile({c2.channel: waiting(c2)})
    assert run.connector.moved == [("c2", "1001")]


def test_a_caller_ctid_never_saw_queued_gets_its_entry_after_the_restart(tmp_path):
    clock = Clock()
    clock.advance(1000)
    run = Run(tmp_path, clock)
    run.resync.reconcile({})
    late = Call("c9", "PJSIP/trunk-9", "u9", "u9", "138", tier="gold", arrival=999.0)
    run.resync.reconcile({late.channel: waiting(late)})
    run.qlog.close()
    assert [line.callid for line in queue_log(tmp_path) if line.event == "ENTERQUEUE"] == ["u9"]
