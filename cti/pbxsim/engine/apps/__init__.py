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


def split_arguments(data: str) -> list[str]:
    """Split application data on commas outside quotes and parentheses; quotes are removed
    (``ast_app_separate_args``)."""
    out, depth, quote, cur = [], 0, False, []
    for ch in data:
        if ch == '"':
            quote = not quote
            continue
        elif not quote and ch in "([":
            depth += 1
        elif not quote and ch in ")]" and depth:
            depth -= 1
        elif ch == "," and not quote and depth == 0:
            out.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    out.append("".join(cur))
    return out


from . import basic, dial, media, queue  # noqa: E402,F401  (registration side effects)
from .. import agi_client  # noqa: E402,F401
