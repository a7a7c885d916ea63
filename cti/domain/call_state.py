"""The call's state machine, from the caller's side: IVR, queued, offered, ringing, connected, ended.

A call is *queued* once it waits in ``cti-wait``; *offered* when the ACD reserved an agent and
ctid sent the Redirect; *ringing* from DialBegin; *connected* on answer. A no-answer sends it back
to *queued* with its original arrival time. A caller who hangs up while queued, offered or
ringing has *abandoned*; one who hangs up during the IVR or after being connected has *ended*.
"""
from __future__ import annotations

from enum import Enum

from cti.domain.state_machine import StateMachine


class CallState(Enum):
    IVR = "ivr"
    QUEUED = "queued"
    OFFERED = "offered"
    RINGING = "ringing"
    CONNECTED = "connected"
    ENDED = "ended"
    ABANDONED = "abandoned"
    FALLBACK = "fallback"    # handed to app_queue because ctid could not serve it
    AWAY = "away"            # sent by the agent into a flow; the agent is held for them


class CallEvent(Enum):
    ENQUEUE = "enqueue"      # UserEvent CTIWait: the caller waits in cti-wait
    OFFER = "offer"          # agent reserved, Redirect sent
    RING = "ring"            # DialBegin
    ANSWER = "answer"        # DialEnd ANSWER
    NO_ANSWER = "no-answer"  # DialEnd other than ANSWER, or a failed Redirect
    HANGUP = "hangup"        # the caller's channel hung up
    FALL_BACK = "fall-back"
    SEND_TO_FLOW = "send-to-flow"    # the agent sent the caller into a flow (Redirect sent)
    FLOW_REFUSED = "flow-refused"    # that Redirect was refused: the caller is still talking
    AGENT_FREED = "agent-freed"      # the hold ran out: the agent is let go, the caller stays


C, Ev = CallState, CallEvent

TRANSITIONS: dict[tuple[CallState, CallEvent], CallState] = {
    (C.IVR, Ev.ENQUEUE): C.QUEUED,
    (C.IVR, Ev.HANGUP): C.ENDED,
    (C.IVR, Ev.FALL_BACK): C.FALLBACK,
    (C.QUEUED, Ev.ENQUEUE): C.QUEUED,      # back in cti-wait after a slice or a resync
    (C.QUEUED, Ev.OFFER): C.OFFERED,
    (C.QUEUED, Ev.HANGUP): C.ABANDONED,
    (C.QUEUED, Ev.FALL_BACK): C.FALLBACK,
    (C.OFFERED, Ev.RING): C.RINGING,
    (C.OFFERED, Ev.ANSWER): C.CONNECTED,
    (C.OFFERED, Ev.NO_ANSWER): C.QUEUED,
    (C.OFFERED, Ev.ENQUEUE): C.QUEUED,     # the Redirect failed and the caller is still waiting
    (C.OFFERED, Ev.HANGUP): C.ABANDONED,
    (C.OFFERED, Ev.FALL_BACK): C.FALLBACK,
    (C.RINGING, Ev.ANSWER): C.CONNECTED,
    (C.RINGING, Ev.NO_ANSWER): C.QUEUED,
    (C.RINGING, Ev.HANGUP): C.ABANDONED,
    (C.CONNECTED, Ev.HANGUP): C.ENDED,
    (C.FALLBACK, Ev.HANGUP): C.ENDED,
    (C.CONNECTED, Ev.SEND_TO_FLOW): C.AWAY,
    (C.AWAY, Ev.FLOW_REFUSED): C.CONNECTED,
    (C.AWAY, Ev.RING): C.AWAY,             # back in cti-connect, ringing the held agent
    (C.AWAY, Ev.NO_ANSWER): C.QUEUED,      # who did not take them back: the caller queues
    (C.AWAY, Ev.ANSWER): C.CONNECTED,      # the answer event can overtake the ring
    (C.AWAY, Ev.AGENT_FREED): C.AWAY,
    (C.AWAY, Ev.ENQUEUE): C.QUEUED,        # the hold ran out: the caller waits in line
    (C.AWAY, Ev.HANGUP): C.ENDED,          # hung up in the flow: an answered call ended
    (C.AWAY, Ev.FALL_BACK): C.FALLBACK,
}

WAITING = frozenset({C.QUEUED, C.OFFERED, C.RINGING})
FINAL = frozenset({C.ENDED, C.ABANDONED})


class CallMachine(StateMachine[CallState, CallEvent]):
    name = "call"

    def __init__(self, initial: CallState = CallState.IVR):
        super().__init__(TRANSITIONS, initial)

    @property
    def waiting(self) -> bool:
        return self.state in WAITING

    @property
    def final(self) -> bool:
        return self.state in FINAL
