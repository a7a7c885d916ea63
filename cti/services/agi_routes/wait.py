"""The ``wait`` route: runs between two slices of music while a caller waits in ``cti-wait``.

It tells the caller when they are next in line, and it is also a safety net: a caller ctid does
not know (a resync that missed them) is adopted from the ``CTI_*`` variables on the channel, so
nobody waits forever unseen. Returning normally sets ``AGISTATUS=SUCCESS``, which the dialplan
takes as "ctid is alive"; if ctid is down the AGI fails and, after a few failed slices, the
dialplan hands the caller to app_queue.

A Redirect by the ACD during this route looks like a hangup from here (Asterisk gives the same
bytes): the route just ends; only AMI decides whether a caller abandoned.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from cti.agi_errors import AGICommandFailed
from cti.domain import channel_vars as V
from cti.services.calls import Call, call_from_variables

log = logging.getLogger(__name__)

SCRIPT = "wait"


def make_route(*, tracker, acd, clock, **_: Any) -> Callable:
    async def wait(session) -> None:
        call_id = session.args[0] if session.args else ""
        call = tracker.get(call_id)
        if call is None and call_id:
            call = await _adopt(session, tracker, call_id, clock)
        if call is None:
            return
        tracker.seen_waiting(call.call_id)
        if acd.is_next(call.call_id):     # sure: nobody can still be served first (router)
            try:
                await session.stream_file("queue-youarenext")
            except AGICommandFailed:   # a missing sound, or the caller moved by our own Redirect
                log.info("call %s: queue-youarenext not played (missing, or caller moved)",
                         call.call_id)

    return wait


async def _adopt(session, tracker, call_id: str, clock) -> Call | None:
    values = {name: await session.get_variable(name) for name in V.RESYNC}
    log.warning("call %s was unknown to ctid; adopted from its channel variables", call_id)
    call = tracker.register(call_from_variables(
        call_id, session.channel, session.uniqueid, session.uniqueid,
        session.env.get("agi_callerid", ""), values, clock.seconds()))
    tracker.enqueue(call.call_id)
    return call
