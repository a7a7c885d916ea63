"""A basic two-party bridge, as Dial builds one: enter, leave, dissolve when one side goes.

Event order as Asterisk publishes it: ``BridgeCreate``; the callee's ``Newexten AppDial``
with an empty exten; ``BridgeEnter`` callee then caller; ``BRIDGEPEER`` set on both. When
one side leaves: ``BRIDGEPEER`` cleared on both, ``BridgeLeave`` of the leaver, then the
other is put out (``BridgeLeave``) and ``BridgeDestroy``. A channel left without dialplan
(the dialled leg) is hung up.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import events
from .channel import Channel, HangupInterruption

if TYPE_CHECKING:  # pragma: no cover
    from .pbx import PBX


@dataclass(eq=False)
class Bridge:
    uniqueid: str
    channels: list[Channel] = field(default_factory=list)
    destroyed: bool = False

    def others(self, chan: Channel) -> list[Channel]:
        return [c for c in self.channels if c is not chan]


async def bridge_call(pbx: "PBX", caller: Channel, peer: Channel) -> None:
    """Bridge an answered call and wait until the bridge is gone (Dial, Queue)."""
    bridge = Bridge(str(uuid.UUID(int=pbx.random.getrandbits(128), version=4)))
    pbx.emit(events.bridge_event("BridgeCreate", bridge))
    peer.exten = ""
    pbx.emit(events.newexten(peer, "AppDial", "(Outgoing Line)"))
    for chan in (peer, caller):
        bridge.channels.append(chan)
        chan.bridge = bridge
        pbx.emit(events.bridge_event("BridgeEnter", bridge, chan))
    pbx.set_var(peer, "BRIDGEPEER", caller.name)
    pbx.set_var(caller, "BRIDGEPEER", peer.name)
    try:
        while caller.bridge is bridge:
            await caller.suspend(pbx.reactor, None)
    except HangupInterruption:
        if caller.bridge is bridge:
            leave(pbx, caller)
        raise


def leave(pbx: "PBX", chan: Channel) -> None:
    bridge: Bridge | None = chan.bridge
    if bridge is None:
        return
    others = bridge.others(chan)
    if others:
        for member in [chan, *others]:
            pbx.set_var(member, "BRIDGEPEER", "")
    bridge.channels.remove(chan)
    chan.bridge = None
    pbx.emit(events.bridge_event("BridgeLeave", bridge, chan))
    if not bridge.destroyed and len(bridge.channels) <= 1:
        _dissolve(pbx, bridge)


def _dissolve(pbx: "PBX", bridge: Bridge) -> None:
    bridge.destroyed = True
    for member in list(bridge.channels):
        bridge.channels.remove(member)
        member.bridge = None
        pbx.emit(events.bridge_event("BridgeLeave", bridge, member))
        if member.pbx_running:
            member.wake("bridge-ended")
        else:
            pbx.reactor.callLater(0, _hangup_orphan, pbx, member)
    pbx.emit(events.bridge_event("BridgeDestroy", bridge))


def _hangup_orphan(pbx: "PBX", chan: Channel) -> None:
    if not chan.hung_up and chan.bridge is None and not chan.pbx_running:
        pbx.destroy(chan)
