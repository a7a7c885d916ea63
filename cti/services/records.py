"""What is written down about each call and agent: contact rows, recording rows, queue_log.

Observes the tracker and the agent service and hands records to the outage buffer
(:class:`cti.storage.outbox.Outbox`), which never blocks and never loses them. The queue_log
lines follow Asterisk's own events and fields (ENTERQUEUE, CONNECT, RINGNOANSWER, ABANDON,
COMPLETECALLER/COMPLETEAGENT, PAUSE, UNPAUSE, AGENTLOGIN, AGENTLOGOFF) so tools written for
app_queue's log read ours. The queue name is the call's skill, as an app_queue site would
have one queue per skill.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
from typing import Callable

from cti.domain.agent_state import AgentEvent
from cti.domain.call_state import CallEvent, CallState
from cti.services.agents import Agent
from cti.services.calls import NOT_READY_REASONS, Call, CallChange
from cti.storage.queue_log import QueueLogWriter
from cti.storage.records import ContactRecord, RecordingRecord

log = logging.getLogger(__name__)


def _at(seconds: float | None) -> dt.datetime | None:
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, dt.timezone.utc)


class CallRecords:
    def __init__(self, sink, queue_log: QueueLogWriter, position: Callable[[str], int],
                 clock: Callable[[], float], *, recordings_dir: str = "/var/spool/asterisk/monitor",
                 entered_before: Callable[[str], bool] = lambda call_id: False):
        self._sink = sink                       # Outbox.submit
        self._qlog = queue_log
        self._position = position
        self._clock = clock
        self._recordings_dir = recordings_dir
        self._entered: dict[str, int] = {}      # call id -> position on entering the queue
        self._entered_before = entered_before   # its ENTERQUEUE was written by the previous run
        self._connected: dict[str, str | None] = {}   # call id -> agent of its CONNECT line
        self.contacts_written = 0

    # -- calls -----------------------------------------------------------------------------
    def call_changed(self, change: CallChange) -> None:
        call, kind = change.call, change.kind
        if kind is CallEvent.ENQUEUE and call.call_id not in self._entered:
            if self._entered_before(call.call_id):     # re-queued after a restart
                self._entered[call.call_id] = 0
                return
            position = max(1, self._position(call.call_id))
            self._entered[call.call_id] = position
            self._qlog.log("ENTERQUEUE", callid=call.uniqueid, queuename=call.skill,
                           url="", callerid=call.caller_number, position=position)
        elif kind is CallEvent.NO_ANSWER and change.agent_id and _rang(change):
            # app_queue writes RINGNOANSWER only for a member it rang (rna()); an offer
            # withdrawn before the agent's phone rang (resync, stale offer, failed Redirect)
            # is no ring-no-answer, and the agent's statistics must not say so.
            ring_ms = int(1000 * (self._clock() - (call.ring_started or call.offered_at or self._clock())))
            self._qlog.log("RINGNOANSWER", callid=call.uniqueid, queuename=call.skill,
                           agent=change.agent_id, ringtime_ms=ring_ms)
        elif kind is CallEvent.ANSWER and self._connected.get(call.call_id, "") != change.agent_id:
            # once per call and agent: a caller the agent sent into a flow and who came back
            # to them is the same call, connected again, not a second CONNECT
            self._connected[call.call_id] = change.agent_id
            ring = (call.answered_at or 0) - (call.ring_started or call.answered_at or 0)
            self._qlog.log("CONNECT", callid=call.uniqueid, queuename=call.skill,
                           agent=change.agent_id or "NONE", holdtime=round(call.wait_seconds(self._clock())),
                           bridged_uniqueid=call.uniqueid, ringtime=round(ring))
        elif kind is CallEvent.HANGUP:
            self._connected.pop(call.call_id, None)
            self._call_over(call, change.agent_id)

    def _call_over(self, call: Call, agent_id: str | None) -> None:
        now = self._clock()
        origpos = self._entered.pop(call.call_id, 0)
        wait = call.wait_seconds(now)
        talk = max(0.0, (call.ended_at or now) - call.answered_at) if call.answered_at else None
        recording_id = None
        if call.state is CallState.ENDED and call.answered_at is not None:
            event = "COMPLETEAGENT" if call.ended_by == "agent" else "COMPLETECALLER"
            self._qlog.log(event, callid=call.uniqueid, queuename=call.skill, agent=agent_id or "NONE",
                           holdtime=round(wait), talktime=round(talk or 0), origposition=origpos or 1)
            recording_id = f"rec-{call.call_id}"
            self._sink(RecordingRecord(
                recording_id=recording_id,
                file_path=os.path.join(self._recordings_dir, f"{call.call_id}.wav"),
                call_id=call.call_id, started_at=_at(call.answered_at), agent_number=agent_id,
                customer_id=_int(call.customer_id), duration_seconds=talk))
        elif call.state is CallState.ABANDONED:
            if call.ended_in is CallState.RINGING and agent_id:
                # the caller hung up while the agent rang: app_queue writes RINGCANCELED with
                # the ring time in ms for each member it rang, before the ABANDON
                ring_ms = int(1000 * ((call.ended_at or now) - (call.ring_started or call.offered_at or now)))
                self._qlog.log("RINGCANCELED", callid=call.uniqueid, queuename=call.skill,
                               agent=agent_id, ringtime_ms=max(0, ring_ms))
            self._qlog.log("ABANDON", callid=call.uniqueid, queuename=call.skill,
                           position=max(1, self._position(call.call_id)) if origpos else 1,
                           origposition=origpos or 1, waittime=round(wait))
        disposition = {CallState.ENDED: "answered" if call.answered_at else (
                           "fallback" if call.fell_back else "ivr-hangup"),
                       CallState.ABANDONED: "abandoned"}.get(call.state, call.state.value)
        self._sink(ContactRecord(
            call_id=call.call_id, linkedid=call.linkedid, uniqueid=call.uniqueid,
            arrived_at=_at(call.created or call.arrival or now), caller_number=call.caller_number,
            customer_id=_int(call.customer_id), tier=call.tier, skill=call.skill,
            ivr_path=call.ivr_path, offered_at=_at(call.offered_at),
            answered_at=_at(call.answered_at), ended_at=_at(call.ended_at or now),
            abandoned=call.state is CallState.ABANDONED,
            wait_seconds=round(wait, 3) if call.arrival else None,
            talk_seconds=round(talk, 3) if talk is not None else None,
            agent_number=agent_id if call.answered_at else None, disposition=disposition,
            recording_id=recording_id))
        self.contacts_written += 1

    # -- agents ----------------------------------------------------------------------------
    def agent_changed(self, agent: Agent, event: AgentEvent) -> None:
        if event is AgentEvent.LOGIN:
            self._qlog.log("AGENTLOGIN", agent=agent.agent_id, queuename="NONE", channel=agent.endpoint)
        elif event is AgentEvent.LOGOUT:
            self._qlog.log("AGENTLOGOFF", agent=agent.agent_id, queuename="NONE",
                           channel=agent.endpoint, logintime=0)
        elif event is AgentEvent.PAUSE:
            self._qlog.log("PAUSE", agent=agent.agent_id, queuename="NONE", reason=agent.reason or "")
        elif event is AgentEvent.UNPAUSE:
            self._qlog.log("UNPAUSE", agent=agent.agent_id, queuename="NONE", reason="")


# Dial statuses of an agent's phone that was tried (the offer reached the ring stage): the
# tracker's ring-no-answer reasons.
_DIAL_STATUSES = {status for status, reason in NOT_READY_REASONS.items() if reason == "rona"}


def _rang(change: CallChange) -> bool:
    call = change.call
    if change.detail in _DIAL_STATUSES:
        return True
    return call.ring_started is not None and (call.offered_at is None
                                              or call.ring_started >= call.offered_at)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None
