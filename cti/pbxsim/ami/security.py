"""AMI security events (``security,all``), with the header order of ``security_events.c``.

Each event has the required fields of its type, then its optional ones in table order;
an optional field without a value is left out. What the captures show:
``SuccessfulAuth`` (``ami-login``) and ``RequestBadFormat`` (``ami-actions``: ``AccountID``
comes last because it is optional there). ``InvalidPassword`` (EventVersion 2),
``InvalidAccountID``, ``FailedACL`` and ``RequestNotAllowed`` follow the same tables; they
were never captured because no second session was listening when they happened.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from cti.protocol.ami_message import Message

PRIVILEGE = "security,all"


@dataclass(frozen=True)
class SessionIdentity:
    """What every security event says about the AMI session that caused it."""

    session_id: str      # Asterisk prints the session pointer: 0x7f6e88001460
    local_address: str   # IPV4/TCP/127.0.0.1/5038
    remote_address: str  # IPV4/TCP/127.0.0.1/47500
    session_tv: float    # when the TCP session started


def event_tv(seconds: float) -> str:
    """``2026-11-22T15:09:24.636+0000``: UTC, milliseconds."""
    whole = int(seconds)
    millis = int(round((seconds - whole) * 1000))
    if millis == 1000:
        whole, millis = whole + 1, 0
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}+0000"


def _event(name: str, now: float, severity: str, version: int,
           fields: list[tuple[str, str]]) -> Message:
    return Message.of([("Event", name), ("Privilege", PRIVILEGE), ("EventTV", event_tv(now)),
                       ("Severity", severity), ("Service", "AMI"),
                       ("EventVersion", str(version)), *fields])


def _common(who: SessionIdentity, account: str | None) -> list[tuple[str, str]]:
    head = [("AccountID", account)] if account is not None else []
    return head + [("SessionID", who.session_id), ("LocalAddress", who.local_address),
                   ("RemoteAddress", who.remote_address)]


def successful_auth(who: SessionIdentity, account: str, now: float,
                    using_password: bool = False) -> Message:
    # manager.c reports UsingPassword 0 whatever the method: the field is never set there.
    return _event("SuccessfulAuth", now, "Informational", 1,
                  _common(who, account) + [("UsingPassword", "1" if using_password else "0"),
                                           ("SessionTV", event_tv(who.session_tv))])


def invalid_password(who: SessionIdentity, account: str, now: float) -> Message:
    return _event("InvalidPassword", now, "Error", 2,
                  _common(who, account) + [("SessionTV", event_tv(who.session_tv))])


def invalid_account(who: SessionIdentity, account: str, now: float) -> Message:
    return _event("InvalidAccountID", now, "Error", 1,
                  _common(who, account) + [("SessionTV", event_tv(who.session_tv))])


def failed_acl(who: SessionIdentity, account: str, now: float) -> Message:
    return _event("FailedACL", now, "Error", 1,
                  _common(who, account) + [("SessionTV", event_tv(who.session_tv))])


def request_not_allowed(who: SessionIdentity, account: str, action: str,
                        now: float) -> Message:
    return _event("RequestNotAllowed", now, "Error", 1,
                  _common(who, account) + [("RequestType", f"Action: {action}"),
                                           ("SessionTV", event_tv(who.session_tv))])


def request_bad_format(who: SessionIdentity, account: str | None, action: str,
                       now: float) -> Message:
    """``action`` is the unknown action's name, or ``NONE`` for a block without one."""
    fields = _common(who, None) + [("RequestType", f"Action: {action}"),
                                   ("SessionTV", event_tv(who.session_tv))]
    if account:
        fields.append(("AccountID", account))
    return _event("RequestBadFormat", now, "Error", 1, fields)
