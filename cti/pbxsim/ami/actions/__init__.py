"""The actions the simulator answers, and ``process``: Asterisk's checks before any handler.

``process`` follows ``manager.c:process_message``: a block without ``Action`` is
``Missing action in request`` (plus a ``RequestBadFormat`` event); before login only
``Login``, ``Logoff`` and ``Challenge`` run, anything else is ``Permission denied``; a known
action needs one of its write classes (``Permission denied`` + ``RequestNotAllowed``); an
unknown one is ``Invalid/unknown command: X. Use Action: ListCommands ...`` (plus
``RequestBadFormat``).
"""
from __future__ import annotations

from cti.protocol.ami_message import Message

from .. import security
from ..responses import error, first_non_empty
from . import auth, channels, core, database, originate
from .base import ActionSpec, Context, Outcome, Result, SystemInfo

__all__ = ["ACTIONS", "ActionSpec", "Context", "Outcome", "Result", "SystemInfo", "process"]

ACTIONS: dict[str, ActionSpec] = {
    spec.name.lower(): spec
    for spec in [*auth.ACTIONS, *core.ACTIONS, *channels.ACTIONS, *database.ACTIONS,
                 *originate.ACTIONS]
}

_BEFORE_LOGIN = {"login", "logoff", "challenge"}


def process(ctx: Context, request: Message) -> Result:
    session = ctx.session
    action = first_non_empty(request, "Action")
    if not action:
        ctx.broadcast(security.request_bad_format(session.identity, session.username, "NONE",
                                                  ctx.now()))
        return Outcome([error(request, "Missing action in request")])
    key = action.lower()
    if not session.authenticated and key not in _BEFORE_LOGIN:
        ctx.broadcast(security.request_not_allowed(session.identity, session.username or "",
                                                   action, ctx.now()))
        return Outcome([error(request, "Permission denied")])
    spec = ACTIONS.get(key)
    if spec is None:
        ctx.broadcast(security.request_bad_format(session.identity, session.username, action,
                                                  ctx.now()))
        return Outcome([error(request, f"Invalid/unknown command: {action}. "
                                       "Use Action: ListCommands to show available commands.")])
    if not session.may_run(spec.authority):
        ctx.broadcast(security.request_not_allowed(session.identity, session.username or "",
                                                   action, ctx.now()))
        return Outcome([error(request, "Permission denied")])
    return spec.handler(ctx, request)
