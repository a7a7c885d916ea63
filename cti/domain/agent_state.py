"""The agent's state machine: logged out, ready, reserved, ringing, busy, after-call work, not ready.

``reserved`` means the ACD has chosen this agent for a call and ctid is moving the caller
(Setvar + Redirect); ``ringing`` starts with the DialBegin towards the agent's phone. A ring
that is not answered (RONA) leaves the agent not-ready with reason ``rona``, so the ACD does not
offer the next call to an absent agent.
"""
from __future__ import annotations

from enum import Enum

from cti.domain.state_machine import StateMachine


class AgentState(Enum):
    LOGGED_OUT = "logged-out"
    READY = "ready"
    RESERVED = "reserved"
    RINGING = "ringing"
    BUSY = "busy"
    AFTER_CALL_WORK = "after-call-work"
    NOT_READY = "not-ready"


class AgentEvent(Enum):
    LOGIN = "login"
    LOGOUT = "logout"
    RESERVE = "reserve"         # the ACD chose this agent for a call
    RELEASE = "release"         # the reservation was undone before the phone rang (caller left)
    RING = "ring"               # DialBegin to the agent's phone
    ANSWER = "answer"           # DialEnd ANSWER / BridgeEnter
    NO_ANSWER = "no-answer"     # RONA, busy, phone unreachable
    HANGUP = "hangup"           # the connected call ended
    WRAP_UP_DONE = "wrap-up-done"
    PAUSE = "pause"
    UNPAUSE = "unpause"


A, E = AgentState, AgentEvent

TRANSITIONS: dict[tuple[AgentState, AgentEvent], AgentState] = {
    (A.LOGGED_OUT, E.LOGIN): A.READY,
    (A.READY, E.RESERVE): A.RESERVED,
    (A.READY, E.PAUSE): A.NOT_READY,
    (A.READY, E.LOGOUT): A.LOGGED_OUT,
    (A.RESERVED, E.RING): A.RINGING,
    (A.RESERVED, E.ANSWER): A.BUSY,        # the answer event can overtake the ring on AMI
    (A.RESERVED, E.RELEASE): A.READY,
    (A.RESERVED, E.NO_ANSWER): A.NOT_READY,
    (A.RINGING, E.ANSWER): A.BUSY,
    (A.RINGING, E.NO_ANSWER): A.NOT_READY,
    (A.RINGING, E.RELEASE): A.READY,       # the caller hung up while the phone rang
    (A.BUSY, E.HANGUP): A.AFTER_CALL_WORK,
    (A.AFTER_CALL_WORK, E.WRAP_UP_DONE): A.READY,
    (A.AFTER_CALL_WORK, E.PAUSE): A.NOT_READY,
    (A.AFTER_CALL_WORK, E.LOGOUT): A.LOGGED_OUT,
    (A.NOT_READY, E.UNPAUSE): A.READY,
    (A.NOT_READY, E.PAUSE): A.NOT_READY,   # a new reason replaces the old one
    (A.NOT_READY, E.LOGOUT): A.LOGGED_OUT,
}


class AgentMachine(StateMachine[AgentState, AgentEvent]):
    """One agent's state and, when not ready, the reason."""

    name = "agent"

    def __init__(self, initial: AgentState = AgentState.LOGGED_OUT, reason: str | None = None):
        super().__init__(TRANSITIONS, initial)
        self.reason = reason

    def fire(self, event: AgentEvent, reason: str | None = None) -> AgentState:
        state = super().fire(event)
        if state is AgentState.NOT_READY:
            self.reason = reason or (
                "rona" if event is AgentEvent.NO_ANSWER else self.reason or "break")
        else:
            self.reason = None
        return state

    @property
    def available(self) -> bool:
        """Derived, never stored: an agent takes a call only when ready."""
        return self.state is AgentState.READY
