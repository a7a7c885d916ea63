"""Session actions: ``Login`` (plain and MD5), ``Challenge``, ``Logoff``, ``Events``.

A failed login is answered only after ``login_failure_delay`` seconds of the reactor clock
(Asterisk ``sleep(1)``s in ``action_login``), then the session is closed. Security events
are broadcast like any other event: the session that just logged in receives its own
``SuccessfulAuth`` after the response, if its ``Events:`` and read classes allow it.
"""
from __future__ import annotations

import hashlib
import hmac
import logging

from twisted.internet import task

from cti.protocol.ami_message import Message

from .. import privileges, security
from ..responses import ack, error, header, response
from .base import ActionSpec, Context, Outcome

log = logging.getLogger(__name__)


def _authenticate(ctx: Context, request: Message) -> str | None:
    """Check the credentials; return None if they are good, else broadcast why not and
    return a short reason for the log."""
    session = ctx.session
    username = header(request, "Username")
    account = ctx.config.account(username) if username else None
    who, now = session.identity, ctx.now()
    if account is None:
        ctx.broadcast(security.invalid_account(who, username, now))
        return f"no such user {username!r}"
    if not account.allows(session.peer_host):
        ctx.broadcast(security.failed_acl(who, username, now))
        return f"{session.peer_host} is not permitted for {username!r}"
    if header(request, "AuthType").lower() == "md5":
        key = header(request, "Key")
        good = bool(key and session.challenge and account.secret is not None) and hmac.compare_digest(
            hashlib.md5((session.challenge + account.secret).encode()).hexdigest(), key.lower())
    else:
        secret = header(request, "Secret")
        good = bool(secret) and account.secret is not None and hmac.compare_digest(
            secret.encode(), account.secret.encode())
    if not good:
        ctx.broadcast(security.invalid_password(who, username, now))
        return f"wrong secret for {username!r}"
    session.login(account, privileges.events_mask(header(request, "Events")))
    return None


def login(ctx: Context, request: Message):
    session = ctx.session
    if session.authenticated:
        return Outcome([ack(request, "Already authenticated")])
    reason = _authenticate(ctx, request)
    if reason is not None:
        log.info("AMI login failed from %s: %s", session.peer_host, reason)
        refusal = Outcome([error(request, "Authentication failed")], close=True)
        if ctx.login_failure_delay <= 0:
            return refusal
        return task.deferLater(ctx.clock, ctx.login_failure_delay, lambda: refusal)
    log.info("Manager '%s' logged on from %s", session.username, session.peer_host)
    messages = [ack(request, "Authentication accepted")]
    if (session.send_events & privileges.SYSTEM) and (session.readperm & privileges.SYSTEM):
        now = ctx.now()
        messages.append(Message.of([
            ("Event", "FullyBooted"), ("Privilege", "system,all"),
            ("Uptime", int(now - ctx.started_at)), ("LastReload", int(now - ctx.reloaded_at)),
            ("Status", "Fully Booted")]))
    ctx.broadcast(security.successful_auth(session.identity, session.username or "", ctx.now()))
    return Outcome(messages)


def challenge(ctx: Context, request: Message):
    if header(request, "AuthType").lower() != "md5":
        return Outcome([error(request, "Must specify AuthType")])
    if not ctx.session.challenge:
        ctx.session.challenge = str(ctx.random())
    return Outcome([ack(request, extra=[("Challenge", ctx.session.challenge)])])


def logoff(ctx: Context, request: Message):
    return Outcome([response(request, "Goodbye", "Thanks for all the fish.")], close=True)


def events(ctx: Context, request: Message):
    mask = privileges.events_mask(header(request, "EventMask"))
    if mask is None:
        return Outcome([error(request, "Invalid event mask")])
    ctx.session.send_events = mask
    return Outcome([ack(request, extra=[("Events", "On" if mask else "Off")])])


ACTIONS = [
    ActionSpec("Login", 0, login),
    ActionSpec("Challenge", 0, challenge),
    ActionSpec("Logoff", 0, logoff),
    ActionSpec("Events", 0, events),
]
