"""What an action handler gets and gives back.

A handler is ``handler(ctx, request) -> Outcome | Deferred[Outcome]``. ``Outcome.messages`` are
written in order before any event that arrived meanwhile (Asterisk's session thread writes the
reply, then the events queued while the action ran); ``close`` ends the session after them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Union

from twisted.internet.defer import Deferred

from cti.protocol.ami_message import Message

from ..accounts import ManagerConfig
from ..session import SessionState


@dataclass
class Outcome:
    messages: list[Message] = field(default_factory=list)
    close: bool = False


Result = Union[Outcome, "Deferred[Outcome]"]


@dataclass(frozen=True)
class SystemInfo:
    """What ``CoreSettings``, ``CoreStatus`` and ``FullyBooted`` report about the PBX."""

    ami_version: str = "11.0.0"
    asterisk_version: str = "22.10.1"
    system_name: str = ""
    max_calls: int = 0
    max_load_avg: float = 0.0
    run_user: str = ""
    run_group: str = ""
    max_filehandles: int = 0
    realtime_enabled: bool = False
    cdr_enabled: bool = True
    http_enabled: bool = False
    sounds_search_custom_dir: bool = False


@dataclass
class Context:
    """Everything an action may touch: its own session and the server's shared parts."""

    session: SessionState
    pbx: Any
    clock: Any
    config: ManagerConfig
    system: SystemInfo
    started_at: float
    reloaded_at: float
    broadcast: Callable[[Message], None]
    login_failure_delay: float = 1.0
    random: Callable[[], int] = field(default=lambda: 0)

    def now(self) -> float:
        return self.clock.seconds()


Handler = Callable[[Context, Message], Result]


@dataclass(frozen=True)
class ActionSpec:
    name: str
    authority: int
    handler: Handler


def yes_no(flag: bool) -> str:
    return "Yes" if flag else "No"
