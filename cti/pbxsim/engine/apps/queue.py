"""``Queue``: a simplified stand-in for app_queue, enough for the fallback path.

What is simulated: callers wait (music on hold) in one list per queue ordered by
``QUEUE_PRIO`` (higher first, FIFO within a priority, no aging); a free member is rung with
the queue's member timeout, in the order the members were configured (``ringall`` and
``rrmemory`` are not told apart); the first to answer is bridged; ``QUEUESTATUS`` is set
(``TIMEOUT``, ``FULL`` is never reported). What is not: ``QueueCaller*``/``Agent*`` events,
penalties, wrap-up time, announcements, device-state driven availability.
"""
from __future__ import annotations

from cti.pbxsim.dialplan import split_args

from .. import events
from ..channel import Interruption
from . import AppHangup, application


@application("Queue")
async def queue(pbx, chan, data):
    args = split_args(data)
    name = args[0] if args else ""
    max_wait = float(args[4]) if len(args) > 4 and args[4].strip() else None
    config = pbx.queues.get(name)
    if config is None:
        pbx.set_var(chan, "QUEUESTATUS", "UNKNOWN")
        return None
    prio = _int(chan.variables.get("QUEUE_PRIO", "0"))
    waiting = pbx.queue_waiting.setdefault(name, [])
    entry = (prio, pbx.now(), chan)
    index = next((i for i, (p, _, _) in enumerate(waiting) if p < prio), len(waiting))
    waiting.insert(index, entry)
    started = pbx.now()
    pbx.emit(events.moh_start(chan, config.get("musicclass", "default")))
    moh_on = True
    try:
        while True:
            if max_wait is not None and pbx.now() - started >= max_wait:
                pbx.set_var(chan, "QUEUESTATUS", "TIMEOUT")
                return None
            if waiting and waiting[0][2] is chan:
                for member in config.get("members", []):
                    if member in pbx.busy_members:
                        continue
                    pbx.busy_members.add(member)
                    try:
                        status, peer = await _ring_member(pbx, chan, member, config)
                    finally:
                        pbx.busy_members.discard(member)
                    if status == "ANSWER":
                        waiting.remove(entry)
                        pbx.emit(events.moh_stop(chan))
                        moh_on = False
                        pbx.busy_members.add(member)
                        try:
                            await pbx.bridge_call(chan, peer)
                        finally:
                            pbx.busy_members.discard(member)
                        raise AppHangup()
            remaining = 1.0 if max_wait is None else max(0.0, min(1.0, max_wait - (pbx.now() - started)))
            await chan.suspend(pbx.reactor, remaining)
    finally:
        if entry in waiting:
            waiting.remove(entry)
        if moh_on:
            pbx.emit(events.moh_stop(chan))


async def _ring_member(pbx, chan, member, config):
    tech, _, resource = member.partition("/")
    try:
        out = pbx.request_channel(tech, resource, requestor=chan)
    except Exception:  # noqa: BLE001 - an unusable member is skipped
        return "CHANUNAVAIL", None
    out.caller.num, out.caller.name = chan.caller.num, chan.caller.name
    out.connected.num, out.connected.name = chan.caller.num, chan.caller.name
    pbx.call_channel(out, {})
    pbx.emit(events.dial_begin(chan, out, resource))
    box = {}

    def on_event(kind, _detail=None):
        box.setdefault("kind", kind)
        chan.wake(("member", kind))

    out.owner_listener = on_event
    timeout = float(config.get("timeout", 15))
    deadline = pbx.now() + timeout
    try:
        while True:
            got = await chan.suspend(pbx.reactor, max(0.0, deadline - pbx.now()))
            kind = got[1] if got else None
            if kind == "ringing":
                box.pop("kind", None)
                continue
            break
    except Interruption:
        pbx.emit(events.dial_end(chan, out, "CANCEL"))
        pbx.hangup_outgoing(out)
        raise
    finally:
        out.owner_listener = None
    if kind == "answer":
        pbx.emit(events.dial_end(chan, out, "ANSWER"))
        return "ANSWER", out
    pbx.emit(events.dial_end(chan, out, {"busy": "BUSY"}.get(kind, "NOANSWER")))
    pbx.hangup_outgoing(out)
    return "NOANSWER", None


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0
