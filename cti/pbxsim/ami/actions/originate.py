"""``Originate``: synchronous (the reply waits for the outcome) and ``Async: true``.

An async originate is answered ``Originate successfully queued`` at once; its outcome comes
later as an ``OriginateResponse`` event to every session (``call`` class), with the request's
``ActionID`` after ``Privilege``. On failure Asterisk has no channel to name, so it reports the
requested ``Channel`` and ``Uniqueid: <unknown>``; the caller id fields are those of the
request's ``CallerID:`` (``<unknown>`` when absent), not the channel's. A synchronous
originate that fails is ``Originate failed``.

The engine reports only the outcome (``OriginateResult``); the ``OriginateResponse`` event is
the AMI layer's, as in Asterisk where ``fast_originate`` in ``manager.c`` publishes it, since
only the action knows whether it was asynchronous.
"""
from __future__ import annotations

import logging
import re

from twisted.internet import defer
from twisted.python.failure import Failure

from cti.protocol.ami_message import Message

from .. import privileges as p
from ..responses import ack, action_id, error, header
from .base import ActionSpec, Context, Outcome
from .channels import priority_number

log = logging.getLogger(__name__)

ANSWERED = 4
UNKNOWN = "<unknown>"
_SHELL_APPS = ("system", "exec", "eval", "shell", "file", "odbc", "curl")


def parse_callerid(text: str) -> tuple[str, str]:
    """``"Name" <num>`` / ``Name <num>`` / ``num`` -> (name, num), like ``ast_callerid_parse``."""
    text = text.strip()
    match = re.fullmatch(r'\s*(?:"([^"]*)"|([^<]*?))\s*<([^>]*)>\s*', text)
    if match:
        name = match.group(1) if match.group(1) is not None else (match.group(2) or "")
        return name.strip(), match.group(3).strip()
    if re.fullmatch(r"[0-9*#+()\-. ]+", text or "x"):
        return "", re.sub(r"[()\-. ]", "", text)
    return text.strip('"'), ""


def _variables(request: Message) -> list[tuple[str, str]]:
    """``Variable: A=1`` headers (each may hold ``A=1,B=2``) in the order given."""
    out = []
    for value in request.getall("Variable"):
        for item in value.split(","):
            name, sep, val = item.partition("=")
            if sep and name.strip():
                out.append((name.strip(), val))
    return out


def originate(ctx: Context, request: Message):
    channel = header(request, "Channel")
    context, exten, priority = (header(request, h) for h in ("Context", "Exten", "Priority"))
    app, appdata = header(request, "Application"), header(request, "Data")
    if not channel:
        return Outcome([error(request, "Channel not specified")])
    pi = 0
    if priority:
        pi = priority_number(ctx, context, exten, priority)
        if pi < 1:
            return Outcome([error(request, "Invalid priority")])
    timeout_text = header(request, "Timeout")
    timeout = 30000
    if timeout_text:
        match = re.match(r"\s*([+-]?\d+)", timeout_text)
        if not match:
            return Outcome([error(request, "Invalid timeout")])
        timeout = int(match.group(1))
    if "/" not in channel:
        return Outcome([error(request, "Invalid channel")])
    if app and not (ctx.session.writeperm & p.SYSTEM) and any(
            word in (app + appdata).lower() for word in _SHELL_APPS):
        return Outcome([error(request, "Originate with certain 'Application' arguments requires "
                                       "the additional System privilege, which you do not have.")])
    exists = getattr(getattr(ctx.pbx, "dialplan", None), "exists", None)
    if exten and context and pi and exists is not None and not exists(context, exten, pi):
        return Outcome([error(request, "Extension does not exist.")])
    if not app and not (exten and context and pi):
        return Outcome([error(request, "Originate with 'Exten' requires 'Context' and 'Priority'")])
    cid_name, cid_num = parse_callerid(header(request, "CallerID"))
    is_async = header(request, "Async").lower() in ("yes", "true", "on", "1", "y", "t")
    call = dict(context=context or None, exten=exten or None, priority=pi or None,
                application=app or None, data=appdata, timeout_ms=timeout,
                callerid=header(request, "CallerID") or None, variables=_variables(request),
                account=header(request, "Account"), action_id=action_id(request) or None)
    outcome = defer.maybeDeferred(ctx.pbx.originate, channel, **call)
    if is_async:
        outcome.addBoth(_announce, ctx, request, channel, context, exten, app, appdata,
                        cid_num, cid_name)
        return Outcome([ack(request, "Originate successfully queued")])

    def settled(result):
        if _is_failure(result):
            log.error("Originate %s: %s", channel, result.getErrorMessage())
        if _succeeded(result):
            return Outcome([ack(request, "Originate successfully queued")])
        return Outcome([error(request, "Originate failed")])
    return outcome.addBoth(settled)


def _succeeded(result) -> bool:
    if isinstance(result, Failure):
        return False
    return bool(getattr(result, "success", getattr(result, "reason", None) == ANSWERED))


def _is_failure(result) -> bool:
    return isinstance(result, Failure)


def _announce(result, ctx: Context, request: Message, channel: str, context: str, exten: str,
              app: str, appdata: str, cid_num: str, cid_name: str) -> None:
    ok = _succeeded(result)
    if _is_failure(result):
        log.error("Originate %s: %s", channel, result.getErrorMessage())
    reason = 0 if _is_failure(result) else int(getattr(result, "reason", 0) or 0)
    ident = action_id(request)
    headers: list[tuple[str, object]] = [("Event", "OriginateResponse"), ("Privilege", "call,all")]
    if ident:
        headers.append(("ActionID", ident))
    headers += [("Response", "Success" if ok else "Failure"),
                ("Channel", getattr(result, "channel", None) or channel if ok else channel)]
    headers += [("Application", app), ("Data", appdata)] if app else \
        [("Context", context), ("Exten", exten)]
    headers += [("Reason", reason),
                ("Uniqueid", (getattr(result, "uniqueid", None) or UNKNOWN) if ok else UNKNOWN),
                ("CallerIDNum", cid_num or UNKNOWN), ("CallerIDName", cid_name or UNKNOWN)]
    ctx.broadcast(Message.of(headers))


ACTIONS = [ActionSpec("Originate", p.ORIGINATE, originate)]
