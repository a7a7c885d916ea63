"""The ``wait`` route: runs between two slices of music while a caller waits in ``cti-wait``.

It tells the caller when they are next in line, and it is also a safety net: a caller ctid does
not know (a resync that missed them) is adopted from the ``CTI_*`` variables on the channel, so
nobody waits forever unseen. What a FastAGI session says about itself is not proof: before
adopting, ctid asks the PBX over AMI (bounded in time) that the channel exists, is that session's
channel and carries that call id, and builds the call from what the PBX says; a session for a
known call on another channel is ignored. Returning normally sets ``AGISTATUS=SUCCESS``, which the dialplan
takes as "ctid is alive"; if ctid is down the AGI fails and, after a few failed slices, the
dialplan hands the caller to app_queue.

A Redirect by the ACD during this route looks like a hangup from here (Asterisk gives the same
bytes): the route just ends; only AMI decides whether a caller abandoned.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from cti.agi_errors import AGICommandFailed
from cti.net.ami_errors import AMIError
from cti.domain import channel_vars as V
from cti.services.calls import Call, call_from_variables

log = logging.getLogger(__name__)

SCRIPT = "wait"


def make_route(*, tracker, acd, clock, lookup=None, **_: Any) -> Callable:
    """``lookup``: a :class:`cti.services.resync.ChannelLookup` (no adoption without one)."""
    async def wait(session) -> None:
        call_id = V.value_of(session.args[0] if session.args else "")
        call = tracker.get(call_id) if call_id else None
        if call is not None and call.uniqueid != session.uniqueid:
            log.warning("wait session on %s (%s) claims call %s of %s: ignored", session.channel,
                        session.uniqueid, call_id, call.uniqueid)
            return
        if call is None and call_id:
            call = await _adopt(session, tracker, acd, call_id, clock, lookup)
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


async def _adopt(session, tracker, acd, call_id: str, clock, lookup) -> Call | None:
    if lookup is None:
        return None
    try:
        view = await lookup(session.channel)
    except AMIError as exc:             # the PBX cannot be asked now: the next resync will
        log.warning("call %s unknown to ctid and not confirmed by the PBX (%s): not adopted",
                    call_id, exc)
        return None
    if (view is None or view.uniqueid != session.uniqueid or view.context != V.CTX_WAIT
            or V.value_of(view.variables.get(V.CALL_ID)) != call_id):
        log.warning("wait session for unknown call %s on %s not borne out by the PBX "
                    "(%s): ignored", call_id, session.channel,
                    "no such channel" if view is None else f"{view.uniqueid} in {view.context}")
        return None
    known = tracker.get(call_id)
    if known is not None:                       # adopted meanwhile (a resync, another slice)
        return known
    log.warning("call %s was unknown to ctid; adopted from its channel variables", call_id)
    call = tracker.register(call_from_variables(
        call_id, view.name, view.uniqueid, view.linkedid, view.caller_number, view.variables,
        clock.seconds(), tiers=acd.router.config.tiers, skills=acd.skills(),
        default_skill=acd.default_skill))
    tracker.enqueue(call.call_id)
    return call
