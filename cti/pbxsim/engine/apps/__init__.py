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


class ExtenDigit(Exception):
    """The application returned a digit (``Background``, ``WaitExten``): the dialplan loop
    collects the rest of an extension from it, as ``__ast_pbx_run`` does."""

    def __init__(self, digit: str) -> None:
        super().__init__(digit)
        self.digit = digit


def application(*names: str):
    def register(func):
        for name in names:
            APPLICATIONS[name.lower()] = func
        return func
    return register


from . import basic, dial, input, media, queue, say  # noqa: E402,F401  (registration side effects)
from .. import agi_client, agi_media  # noqa: E402,F401
