"""The call tracker: follows each hotline call from the AMI event stream.

A call is born when the ``inbound`` FastAGI route identifies the caller (``register``); from
then on the AMI events in :attr:`CallTracker.EVENTS` — the only ones this component reads —
move it along the call state machine. Every move is announced to the observers (ACD, agents,
records, screen-pop) as a :class:`CallChange`; the tracker itself does no I/O.

Channel names: the caller's channel is the one that ran ``cti-inbound``; the agent leg is the
``DestChannel`` of the ``DialBegin`` whose ``Channel`` is the caller. Events of channels that
belong to no call are ignored.

Asterisk keeps each channel's events in order, not the order between channels (each channel
is a thread of its own): the agent's ``Hangup`` may come before or after the caller's. So
nothing here is decided by which channel's event arrives first. Who ended a connected call is
read from the caller's own channel: a ``HangupRequest`` there (``ast_queue_hangup``: the
caller's side hung up) before its ``Hangup`` means the caller; no such request means the call
ended from the agent's side (the dialplan ends the caller's channel when ``Dial`` returns).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Protocol

from cti.domain import channel_vars as V
from cti.domain.call_state import CallEvent, CallMachine, CallState
from cti.domain.privacy import mask_number
from cti.protocol.ami_message import Message

log = logging.getLogger(__name__)

# UserEvent the dialplan sends on the caller's channel when Dial returned answered with the
# caller still there (option g): the agent hung up first and the caller goes on (the survey).
USEREVENT_AFTER_CALL = "CTIAfterCall"
# Where that caller goes: a channel found there (a resync) is past the agent's part.
CTX_AFTER_CALL = "cti-survey"


@dataclass
class Call:
    call_id: str
    channel: str
    uniqueid: str
    linkedid: str
    caller_number: str
    dnis: str = ""
    customer_id: str | None = None
    customer_name: str | None = None
    tier: str = "standard"
    skill: str = "general"
    language: str = "zh"
    ivr_path: str = ""
    created: float = 0.0                 # entered ctid (the inbound AGI)
    arrival: float = 0.0                 # entered the ACD; kept across RONA and restarts
    machine: CallMachine = field(default_factory=CallMachine)
    agent_id: str | None = None          # reserved / ringing / connected agent
    agent_channel: str | None = None
    offered_at: float | None = None
    ring_started: float | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    offers: int = 0
    rona_agents: list[str] = field(default_factory=list)
    ended_by: str = "caller"             # who ended a connected call: "caller" or "agent"
    caller_asked_hangup: bool = False    # a HangupRequest on the caller's own channel (it hung up)
    agent_asked_hangup: bool = False     # a HangupRequest on the agent's leg (the agent hung up)
    agent_left_at: float | None = None   # that leg's Hangup: the end of the talk
    ended_in: CallState | None = None    # the state the caller's hangup found the call in
    answer_unseen: bool = False          # answered_at was filled in by answered_unseen
    redirect_settled: bool = False       # the current offer's Redirect got an answer (or failed)
    fell_back: bool = False              # handed to app_queue (cti-fallback)
    flow: str | None = None              # the flow an agent sent the caller into (while away)
    returning: bool = False              # ringing the agent who held for them, back from a flow

    @property
    def state(self) -> CallState:
        return self.machine.state

    def wait_seconds(self, now: float) -> float:
        end = self.answered_at or self.ended_at or now
        return max(0.0, end - (self.arrival or self.created))

    def answered_unseen(self, agent_id: str, ended_at: float) -> float:
        """Fill in an answer ctid did not see (the dialplan's marker says ``agent_id`` took
        the call, which ended at ``ended_at``). When it was answered is not known: the last
        moment ctid knew of (its ring, else its offer) stands in. Returns the end, never
        before that answer (the marker's end is whole seconds)."""
        self.agent_id = self.agent_id or agent_id or None
        self.answer_unseen = self.answer_unseen or self.answered_at is None
        self.answered_at = self.answered_at or self.ring_started or self.offered_at or ended_at
        return max(ended_at, self.answered_at)


# Why a no-answer takes the agent out (not-ready, with this reason): the Dial statuses of a
# ring not answered (RONA), and a Redirect Asterisk refused (the agent goes not-ready rather
# than being offered the same call again at once, which could loop). Any other reason (a
# resync, a stale offer, the caller hanging up while it rang) withdraws the offer and leaves
# the agent ready: they were not at fault.
NOT_READY_REASONS = {"NOANSWER": "rona", "BUSY": "rona", "CHANUNAVAIL": "rona",
                     "CONGESTION": "rona", "redirect-failed": "redirect-failed"}

STALE_OFFER_SECONDS = 5.0


def call_from_variables(call_id: str, channel: str, uniqueid: str, linkedid: str,
                        caller_number: str, variables: dict[str, str | None], now: float, *,
                        tiers=None, skills=None, default_skill: str = "general") -> Call:
    """A call rebuilt from the CTI_* variables ctid left on its channel (restart, adoption).

    A variable Asterisk reports unset (``(null)`` from ``Status``, empty, None) is unset here.
    With ``tiers`` (a :class:`~cti.domain.tiers.TierTable`) and ``skills`` (the skills someone
    can take), a tier or skill ctid does not know (changed configuration, a channel written by
    hand) is replaced by the lowest tier and ``default_skill``, with a warning: the caller is
    still served, and no call the router refuses is left in the tracker."""
    v = {name: V.value_of(value) for name, value in variables.items()}
    try:
        arrival = float(v.get(V.ARRIVAL) or now)
    except ValueError:
        arrival = now
    tier = v.get(V.TIER) or (tiers.names[-1] if tiers is not None else "standard")
    if tiers is not None and tier not in tiers:
        log.warning("call %s: unknown tier %r on %s: taken as %s", call_id, tier, channel,
                    tiers.names[-1])
        tier = tiers.names[-1]
    skill = v.get(V.SKILL) or default_skill
    if skills is not None and skill not in skills:
        log.warning("call %s: unknown skill %r on %s: taken as %s", call_id, skill, channel,
                    default_skill)
        skill = default_skill
    return Call(call_id=call_id, channel=channel, uniqueid=uniqueid, linkedid=linkedid or uniqueid,
                caller_number=caller_number, customer_id=v.get(V.CUSTOMER_ID) or None,
                tier=tier, skill=skill,
                language=v.get(V.LANGUAGE) or "zh", ivr_path=v.get(V.IVR_PATH) or "",
                created=arrival, arrival=arrival)


@dataclass(frozen=True)
class CallChange:
    """What happened to a call; ``kind`` is the CallEvent that moved it."""

    kind: CallEvent
    call: Call
    agent_id: str | None = None
    detail: str = ""

    @property
    def not_ready_reason(self) -> str | None:
        """For a no-answer that takes the agent out: why; otherwise None."""
        if self.kind is not CallEvent.NO_ANSWER:
            return None
        return NOT_READY_REASONS.get(self.detail)


class CallObserver(Protocol):
    def call_changed(self, change: CallChange) -> None: ...


class CallTracker:
    """Owns every live call; fed AMI events and the inbound route's registrations."""

    def __init__(self, clock: Callable[[], float]):
        self._clock = clock
        self._calls: dict[str, Call] = {}          # call id -> call
        self._by_channel: dict[str, Call] = {}     # caller channel name -> call
        self._by_agent_channel: dict[str, Call] = {}
        self._observers: list[CallObserver] = []
        self.EVENTS: dict[str, Callable[[Message], None]] = {
            "UserEvent": self._on_user_event,
            "DialBegin": self._on_dial_begin,
            "DialEnd": self._on_dial_end,
            "BridgeEnter": self._on_bridge,
            "BridgeLeave": self._on_bridge,
            "HangupRequest": self._on_hangup_request,
            "Hangup": self._on_hangup,
        }

    # -- queries ---------------------------------------------------------------------------
    def get(self, call_id: str) -> Call | None:
        return self._calls.get(call_id)

    def by_channel(self, channel: str) -> Call | None:
        return self._by_channel.get(channel)

    def calls(self) -> list[Call]:
        return list(self._calls.values())

    # -- wiring ----------------------------------------------------------------------------
    def subscribe(self, observer: CallObserver) -> None:
        self._observers.append(observer)

    def handle(self, message: Message) -> None:
        """Dispatch one AMI event through :attr:`EVENTS`."""
        handler = self.EVENTS.get(message.name or "")
        if handler is not None:
            handler(message)

    # -- from ctid itself ------------------------------------------------------------------
    def register(self, call: Call) -> Call:
        """A call identified by the inbound route (or rebuilt by a resync)."""
        existing = self._calls.get(call.call_id)
        if existing is not None:
            return existing
        call.created = call.created or self._clock()
        self._calls[call.call_id] = call
        self._by_channel[call.channel] = call
        log.info("call %s registered: caller %s tier %s skill %s", call.call_id,
                 mask_number(call.caller_number), call.tier, call.skill)
        return call

    def enqueue(self, call_id: str) -> None:
        """The call waits in cti-wait though no CTIWait event said so (adoption, resync)."""
        call = self._calls.get(call_id)
        if call is not None and call.state is CallState.IVR:
            self._move(call, CallEvent.ENQUEUE, None)

    def offered(self, call_id: str, agent_id: str) -> Call | None:
        """The ACD reserved ``agent_id`` for the call and is about to Redirect it."""
        call = self._calls.get(call_id)
        if call is None or not call.machine.can(CallEvent.OFFER):
            return None
        call.agent_id = agent_id
        call.offered_at = self._clock()
        call.redirect_settled = False
        call.offers += 1
        self._move(call, CallEvent.OFFER, agent_id)
        return call

    def offer_failed(self, call_id: str, detail: str) -> None:
        """The Redirect did not happen (action error): the caller still waits in cti-wait.

        Reported like a no-answer, so the agent and the router settle the same way."""
        call = self._calls.get(call_id)
        if call is not None and call.state is CallState.OFFERED:
            self._no_answer(call, detail)

    # -- a caller sent into a flow by the agent (人工转自动) -----------------------------
    def sent_to_flow(self, call_id: str, flow: str) -> Call | None:
        """The agent on the call sends the caller into ``flow`` (the Redirect is about to
        leave): the call is away, its agent held. None if the call is not connected."""
        call = self._calls.get(call_id)
        if call is None or call.state is not CallState.CONNECTED:
            return None
        call.flow = flow
        self._move(call, CallEvent.SEND_TO_FLOW, call.agent_id, flow)
        return call

    def flow_refused(self, call_id: str, detail: str) -> None:
        """The Redirect was refused (or the PBX shows the caller still bridged): the caller
        never left the agent."""
        call = self._calls.get(call_id)
        if call is not None and call.state is CallState.AWAY:
            call.flow = None
            self._move(call, CallEvent.FLOW_REFUSED, call.agent_id, detail)

    def free_agent(self, call_id: str, detail: str = "hold-expired") -> None:
        """Let go the agent held for a caller who is away (the hold ran out); the caller
        stays a call of ours and will queue."""
        call = self._calls.get(call_id)
        if call is not None:
            self._free_agent(call, detail)

    def _free_agent(self, call: Call, detail: str) -> None:
        if call.agent_id is None or not call.machine.can(CallEvent.AGENT_FREED):
            return
        agent = call.agent_id
        if call.state is CallState.AWAY:
            self._forget_agent_leg(call)
        call.agent_id = None
        self._move(call, CallEvent.AGENT_FREED, agent, detail)

    # -- resynchronisation -----------------------------------------------------------------
    def restore(self, call: Call, state: CallState, agent_id: str | None = None,
                agent_channel: str | None = None) -> Call:
        """Rebuild a call found on the PBX after a restart, without announcing the past."""
        call = self.register(call)
        call.machine = CallMachine(state)
        call.agent_id = agent_id
        call.agent_channel = agent_channel
        if agent_channel:
            self._by_agent_channel[agent_channel] = call
        return call

    def seen_waiting(self, call_id: str) -> None:
        """The caller ran the ``wait`` AGI, so it is in cti-wait. A call still in the IVR lost
        its CTIWait event (AMI was down): queue it. An offer whose Redirect was answered (or
        failed) a few seconds ago and still no ring never reached the agent: settle it."""
        call = self._calls.get(call_id)
        if call is None:
            return
        if call.state is CallState.IVR:
            self.enqueue(call_id)
        elif (call.state is CallState.OFFERED and call.redirect_settled
                and call.offered_at is not None
                and self._clock() - call.offered_at > STALE_OFFER_SECONDS):
            self._no_answer(call, "stale-offer")

    def close_unseen(self, call: Call, state: CallState, ended_at: float | None = None) -> None:
        """A call of a previous run that ended while ctid was down: announce its end so it is
        recorded, without indexing its channel (Asterisk may have reused the name since)."""
        if call.call_id in self._calls:
            return
        if state is CallState.CONNECTED and call.answer_unseen:
            # answered while ctid was down too: announce the answer it never saw (a CONNECT
            # line, as for every answered call), then the end
            call.machine = CallMachine(CallState.RINGING)
            self._move(call, CallEvent.ANSWER, call.agent_id, "ended-while-down")
        else:
            call.machine = CallMachine(state)
        call.ended_at = ended_at if ended_at is not None else self._clock()
        self._move(call, CallEvent.HANGUP, call.agent_id, "ended-while-down")

    def settle(self, call_id: str, where: str) -> None:
        """Reconcile a call with what the PBX shows after events may have been missed.

        ``where``: ``gone`` (no channel any more), ``waiting`` (in cti-wait), ``bridged``
        (talking to the agent it was offered to), ``after-call`` (past the agent, in the
        survey)."""
        call = self._calls.get(call_id)
        if call is None:
            return
        if where == "gone":
            self._end(call, "resync")
        elif where == "waiting" and call.state is CallState.IVR:
            self.enqueue(call_id)                      # its CTIWait was lost with the link
        elif where == "waiting" and call.state in (CallState.OFFERED, CallState.RINGING):
            self._no_answer(call, "resync")
        elif where == "bridged" and call.state in (CallState.OFFERED, CallState.RINGING):
            call.answered_at = self._clock()
            self._move(call, CallEvent.ANSWER, call.agent_id, "resync")
        elif where == "after-call":
            self._after_call(call)                     # its CTIAfterCall was lost with the link
        elif where == "bridged" and call.state is CallState.AWAY:
            self.flow_refused(call_id, "resync")       # its Redirect never landed
        elif where == "waiting" and call.state is CallState.AWAY:
            self._free_agent(call, "resync")
            self._move(call, CallEvent.ENQUEUE, None)

    def forget(self, call_id: str) -> None:
        """Drop a call that never was one (its channel does not exist on the PBX), silently:
        no observer hears of it, so nothing is recorded."""
        call = self._calls.pop(call_id, None)
        if call is not None:
            if self._by_channel.get(call.channel) is call:
                del self._by_channel[call.channel]
            self._forget_agent_leg(call)

    def settle_answered(self, call_id: str, agent_id: str, ended_at: float) -> None:
        """The call's channel is gone and the dialplan's marker says it was answered by
        ``agent_id`` and ended at ``ended_at``, all while ctid could not see it."""
        call = self._calls.get(call_id)
        if call is None:
            return
        if call.state in (CallState.OFFERED, CallState.RINGING):
            ended_at = call.answered_unseen(agent_id, ended_at)
            self._move(call, CallEvent.ANSWER, call.agent_id, "resync")
        self._end(call, "resync", at=ended_at)

    # -- AMI -------------------------------------------------------------------------------
    def _on_user_event(self, msg: Message) -> None:
        kind = msg.get("UserEvent")
        if kind not in (V.USEREVENT_WAIT, V.USEREVENT_FALLBACK, USEREVENT_AFTER_CALL):
            return
        call = self._by_channel.get(msg.get("Channel", ""))
        if call is None:
            return
        if kind == USEREVENT_AFTER_CALL:
            self._after_call(call)
            return
        if kind == V.USEREVENT_FALLBACK:
            if call.machine.can(CallEvent.FALL_BACK):
                agent = call.agent_id
                call.agent_id, call.fell_back = None, True
                self._move(call, CallEvent.FALL_BACK, agent, "fallback")
            return
        if call.state is CallState.IVR and not call.arrival:
            call.arrival = self._clock()
        if call.state is CallState.OFFERED:          # the offer never reached cti-connect
            self._no_answer(call, "back-in-wait")
        elif call.state in (CallState.IVR, CallState.QUEUED):
            self._move(call, CallEvent.ENQUEUE, None)
        elif call.state is CallState.AWAY:           # back from a flow, not to the agent
            self._free_agent(call, "back-in-wait")
            self._move(call, CallEvent.ENQUEUE, None)

    def _on_dial_begin(self, msg: Message) -> None:
        call = self._by_channel.get(msg.get("Channel", ""))
        if call is None or call.state not in (CallState.OFFERED, CallState.AWAY):
            return
        if call.state is CallState.AWAY:             # back from the flow to the held agent
            self._forget_agent_leg(call)
            call.returning, call.flow = True, None
            call.agent_asked_hangup, call.agent_left_at = False, None
        call.agent_channel = msg.get("DestChannel")
        call.ring_started = self._clock()
        if call.agent_channel:
            self._by_agent_channel[call.agent_channel] = call
        self._move(call, CallEvent.RING, call.agent_id)

    def _on_dial_end(self, msg: Message) -> None:
        call = self._by_channel.get(msg.get("Channel", ""))
        if call is None or call.state not in (CallState.OFFERED, CallState.RINGING,
                                              CallState.AWAY):
            return
        status = msg.get("DialStatus", "")
        agent = call.agent_id
        leg = msg.get("DestChannel")
        if call.agent_channel and leg and leg != call.agent_channel and status != "ANSWER":
            return                      # one leg of several failed; another may still ring
        if status == "CANCEL":          # the caller hung up while it rang: its Hangup settles it
            return
        if status == "ANSWER":
            call.answered_at = call.answered_at if call.returning else self._clock()
            call.returning = False
            self._move(call, CallEvent.ANSWER, agent, status)
            return
        if call.state is CallState.AWAY and not call.returning:
            return                      # a DialEnd of the leg the Redirect took away
        self._no_answer(call, status)

    def _on_hangup_request(self, msg: Message) -> None:
        """``HangupRequest`` is published on the channel whose own side hung up (the trunk's
        BYE, the far half of a Local pair); ``SoftHangupRequest`` (the dialplan ending, an AMI
        Hangup) is not read. The caller's channel decides who ended the call: its order
        against its own ``Hangup`` is guaranteed, its order against the agent's events is not.
        On the agent's leg it only dates the end of the talk (see :meth:`_on_agent_hangup`)."""
        channel = msg.get("Channel", "")
        call = self._by_channel.get(channel)
        if call is not None:
            call.caller_asked_hangup = True     # read only if the Hangup finds it connected
            return
        call = self._by_agent_channel.get(channel)
        if call is not None and call.agent_channel == channel:
            call.agent_asked_hangup = True

    def _on_bridge(self, msg: Message) -> None:
        """The caller's channel enters or leaves a bridge while ctid still thinks it rings:
        the answer happened where ctid could not see it (its ``DialEnd`` was lost with the AMI
        link). The caller is only ever bridged to the agent it was offered to."""
        call = self._by_channel.get(msg.get("Channel", ""))
        if call is None or call.state not in (CallState.OFFERED, CallState.RINGING):
            return
        call.answered_unseen(call.agent_id or "", self._clock())
        self._move(call, CallEvent.ANSWER, call.agent_id, "bridged-unseen")

    def _on_hangup(self, msg: Message) -> None:
        call = self._by_channel.get(msg.get("Channel", ""))
        if call is None:
            self._on_agent_hangup(msg)
            return              # an agent leg, or no call of ours: the caller's channel decides
        if call.state is CallState.CONNECTED:
            call.ended_by = "caller" if call.caller_asked_hangup else "agent"
        at = call.agent_left_at if call.ended_by == "agent" else None
        self._end(call, msg.get("Cause", ""), at=at)

    def _on_agent_hangup(self, msg: Message) -> None:
        """The agent's leg is gone. It does not end the call (the caller's channel does, or
        the caller's ``CTIAfterCall``), but when the agent hung up it is when the talk ended:
        a caller who goes on to the survey is no longer talking to anyone."""
        channel = msg.get("Channel", "")
        call = self._by_agent_channel.get(channel)
        if (call is not None and call.agent_channel == channel and call.agent_asked_hangup
                and call.state is CallState.CONNECTED and not call.caller_asked_hangup):
            call.agent_left_at = self._clock()

    def _after_call(self, call: Call) -> None:
        """The caller's ``Dial`` returned answered and the caller is still there: the agent
        hung up first. The agent's part of the call ends now (after-call work, the contact,
        COMPLETEAGENT); the caller's channel lives on (the survey) and is no longer ours."""
        if call.state is not CallState.CONNECTED:
            return
        call.ended_by = "agent"
        self._end(call, "agent-hangup", at=call.agent_left_at)

    def _end(self, call: Call, cause: str, at: float | None = None) -> None:
        call.ended_at = at if at is not None else self._clock()
        call.ended_in = call.state
        agent = call.agent_id
        self._move(call, CallEvent.HANGUP, agent, cause)
        self._forget_agent_leg(call)
        if self._by_channel.get(call.channel) is call:
            del self._by_channel[call.channel]
        self._calls.pop(call.call_id, None)

    # -- internals -------------------------------------------------------------------------
    def _no_answer(self, call: Call, detail: str) -> None:
        if call.returning:              # the held agent did not take the caller back
            call.returning = False
            self._free_agent(call, detail)
        agent = call.agent_id
        self._forget_agent_leg(call)
        call.agent_id = None
        if agent:
            call.rona_agents.append(agent)
        self._move(call, CallEvent.NO_ANSWER, agent, detail)

    def _forget_agent_leg(self, call: Call) -> None:
        if call.agent_channel:
            self._by_agent_channel.pop(call.agent_channel, None)
        call.agent_channel = None

    def _move(self, call: Call, event: CallEvent, agent_id: str | None, detail: str = "") -> None:
        before = call.state
        call.machine.fire(event)
        log.debug("call %s: %s -[%s]-> %s agent=%s", call.call_id, before.value, event.value,
                  call.state.value, agent_id)
        change = CallChange(event, call, agent_id, detail)
        for observer in list(self._observers):
            try:
                observer.call_changed(change)
            except Exception:
                log.exception("call %s: observer %r failed on %s", call.call_id, observer, event.value)
