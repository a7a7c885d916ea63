"""A basic two-party bridge, as Dial builds one: enter, leave, dissolve when one side goes."""
from __future__ import annotations

from dataclasses import dataclass, field

from .channel import Channel


@dataclass(eq=False)
class Bridge:
    uniqueid: str
    channels: list[Channel] = field(default_factory=list)
    destroyed: bool = False

    def others(self, chan: Channel) -> list[Channel]:
        return [c for c in self.channels if c is not chan]
