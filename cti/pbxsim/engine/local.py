"""The ``Local`` channel technology: a pair of channels joined back to back.

``Local/<exten>@<context>`` creates ``;1`` (the side the requester talks to, state Down) and
``;2`` (which runs the dialplan at ``exten@context``, state Ring). What one half does is seen
by the other: ``;2`` answering or ringing changes ``;1``'s state, and the hangup of either
half is a ``HangupRequest`` on the other, carrying the cause.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import events
from .channel import Channel, ChannelState, Party

if TYPE_CHECKING:  # pragma: no cover
    from .pbx import PBX


class LocalChannelError(ValueError):
    """A ``Local/`` dial string without ``exten@context``."""


def parse_resource(resource: str) -> tuple[str, str]:
    target = resource.split("/", 1)[0]
    exten, sep, context = target.partition("@")
    if not sep or not exten or not context:
        raise LocalChannelError(f"Local channel needs exten@context, got {resource!r}")
    return exten, context


def create(pbx: "PBX", resource: str, linkedid: str | None) -> Channel:
    """Create both halves (``Newchannel`` ×2) and return ``;1``."""
    exten, context = parse_resource(resource)
    base = f"Local/{exten}@{context}-{pbx.next_channel_seq('Local'):08x}"
    one = pbx.new_channel("Local", base + ";1", context, exten, ChannelState.DOWN, linkedid=linkedid)
    two = pbx.new_channel("Local", base + ";2", context, exten, ChannelState.RING, linkedid=one.linkedid)
    one.local_peer, two.local_peer = two, one
    one.accountcode = two.accountcode = ""
    return one


def call(pbx: "PBX", one: Channel, inherited: dict[str, str]) -> None:
    """``ast_call`` on ``;1``: hand the parties over to ``;2``, announce, start its dialplan."""
    two = one.local_peer
    assert two is not None
    for name, value in inherited.items():
        pbx.set_var(two, name, value)
    two.accountcode = one.accountcode
    if one.caller.num is not None or one.connected.num is not None:
        two.caller = Party(one.connected.num, one.connected.name)
        two.connected = Party(one.caller.num, one.caller.name)
        pbx.emit(events.newcallerid(two))
        pbx.emit(events.newconnectedline(two))
    pbx.emit(events.local_bridge(one, two, two.context, two.exten))
    pbx.start_pbx(two)


def on_state(pbx: "PBX", chan: Channel) -> None:
    """``;2`` changed state: mirror ringing/answer on ``;1`` and tell its requester."""
    one = chan.local_peer
    if one is None or not chan.name.endswith(";2") or one.hung_up:
        return
    if chan.state is ChannelState.UP and one.state is not ChannelState.UP:
        pbx.set_state(one, ChannelState.UP)
        pbx.notify_owner(one, "answer")
    elif chan.state is ChannelState.RINGING and one.state not in (ChannelState.RINGING, ChannelState.UP):
        pbx.set_state(one, ChannelState.RINGING)
        pbx.notify_owner(one, "ringing")


def on_busy(pbx: "PBX", chan: Channel) -> None:
    one = chan.local_peer
    if one is not None and chan.name.endswith(";2") and not one.hung_up:
        pbx.notify_owner(one, "busy")


def on_hangup(pbx: "PBX", chan: Channel, cause: int) -> None:
    """One half is gone: the other gets a ``HangupRequest`` with the same cause."""
    other = chan.local_peer
    if other is not None and not other.hung_up:
        pbx.request_hangup(other, cause)
