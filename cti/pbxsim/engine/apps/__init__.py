"""Dialplan applications, one module per family, registered by (lower-case) name.

An application is ``async def app(pbx, chan, data) -> None``. It returns to go on with the
next priority, raises :class:`AppHangup` to end the dialplan (Asterisk's ``return -1``), and
lets :class:`~cti.pbxsim.engine.channel.Interruption` through when a hangup or redirect stops
what it waits for.
"""
from __future__ import annotations

from typing import Awaitable, Callable

APPLICATIONS: dict[str, Callable[..., Awaitable[None]]] = {}


class AppHangup(Exception):
    """The application ended the call (``Hangup``, ``Dial`` after an answered call, ...)."""


class UnknownApplication(Exception):
    """The dialplan names an application the simulator does not have."""


def application(*names: str):
    def register(func):
        for name in names:
            APPLICATIONS[name.lower()] = func
        return func
    return register


from . import basic, dial, media, queue  # noqa: E402,F401  (registration side effects)
from .. import agi_client  # noqa: E402,F401
