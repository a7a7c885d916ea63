"""The state of one AMI session: who is logged in, what it may read and write, what it wants.

Pure state and rules, no I/O: the protocol owns one and asks it whether an event goes out.
A session starts unauthenticated with every event class wanted (``send_events`` is all bits
in Asterisk until ``Events:`` says otherwise); ``login`` copies the account's classes and
filters in.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from cti.protocol.ami_message import Message

from . import privileges
from .accounts import Account, filters_pass
from .security import SessionIdentity


@dataclass
class SessionState:
    identity: SessionIdentity
    peer_host: str
    account: Account | None = None
    authenticated: bool = False
    send_events: int = privileges.ALL
    challenge: str = ""
    _read: int = field(default=0, repr=False)
    _write: int = field(default=0, repr=False)

    @property
    def username(self) -> str | None:
        return self.account.username if self.account else None

    @property
    def writeperm(self) -> int:
        return self._write

    @property
    def readperm(self) -> int:
        return self._read

    def login(self, account: Account, events: int | None) -> None:
        self.account = account
        self._read, self._write = account.read, account.write
        if events is not None:
            self.send_events = events
        self.authenticated = True

    def may_run(self, authority: int) -> bool:
        """``(writeperm & authority) || authority == 0``: any shared class is enough."""
        return authority == 0 or bool(self._write & authority)

    def wants(self, event: Message, text: str) -> bool:
        """Whether an event goes to this session (``process_events`` + ``match_filter``)."""
        if not self.authenticated:
            return False
        category = privileges.event_category(event)
        if (self._read & category) != category or (self.send_events & category) != category:
            return False
        return filters_pass(self.account.eventfilters if self.account else (), text)
