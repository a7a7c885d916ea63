"""The AGI boundary's exceptions: one hierarchy, one stable code per failure.

Everything that can go wrong between ctid and Asterisk on a FastAGI connection maps to one class
here, so a route (or the daemon) can tell "the caller hung up" from "we sent a bad command" from
"the peer is not speaking AGI". Each class carries a stable ``code`` string for logs and metrics;
the class names and codes do not change once released.

=====================  =======================  ============================================
class                  code                     raised when
=====================  =======================  ============================================
``AGIHangup``          ``agi.hangup``           ``HANGUP`` notice / ``200 result=-1`` from a
                                                command the hangup interrupted / the peer
                                                closed the connection under a pending command
``AGIDeadChannel``     ``agi.dead-channel``     ``511 Command Not Permitted on a dead channel``
``AGIUnknownCommand``  ``agi.unknown-command``  ``510 Invalid or unknown command``
``AGIUsageError``      ``agi.usage``            ``520`` multi-line usage reply
``AGICommandFailed``   ``agi.command-failed``   ``200 result=-1``/``-2`` that means a plain
                                                failure (missing sound file, unknown app)
``AGIProtocolError``   ``agi.protocol``         bytes that are not AGI
``AGITimeout``         ``agi.timeout``          no header / no reply within the time limit
``AGIArgumentError``   ``agi.bad-argument``     a command word we refuse to send (newline:
                                                command injection)
=====================  =======================  ============================================

Note that the AGI protocol cannot tell a hangup from a ``Redirect`` that moved the channel away
while a command was pending: both look like ``AGIHangup`` (see :mod:`cti.net.fastagi`).
"""
from __future__ import annotations

from typing import Any


class AGIError(Exception):
    """Base of every AGI failure. ``result`` is the reply that caused it, when there was one."""

    code = "agi.error"

    def __init__(self, message: str = "", *, command: str | None = None, result: Any = None):
        super().__init__(message or self.__class__.__doc__.strip().splitlines()[0])
        self.command = command
        self.result = result

    def __str__(self) -> str:
        text = super().__str__()
        return f"{text} (command: {self.command})" if self.command else text


class AGIHangup(AGIError):
    """The channel hung up, or left the AGI (a Redirect looks the same), or the peer vanished."""

    code = "agi.hangup"


class AGIDeadChannel(AGIError):
    """Asterisk answered 511: the command is not permitted on a dead channel."""

    code = "agi.dead-channel"


class AGIUnknownCommand(AGIError):
    """Asterisk answered 510: invalid or unknown command."""

    code = "agi.unknown-command"


class AGIUsageError(AGIError):
    """Asterisk answered 520: invalid command syntax; ``usage`` holds its usage text."""

    code = "agi.usage"

    def __init__(self, message: str = "", *, usage: str = "", **kwargs: Any):
        super().__init__(message, **kwargs)
        self.usage = usage


class AGICommandFailed(AGIError):
    """The command ran and failed (e.g. ``STREAM FILE`` of a missing file, ``EXEC`` of no app)."""

    code = "agi.command-failed"


class AGIProtocolError(AGIError):
    """The peer sent bytes that are not AGI, or a reply we cannot match to a command."""

    code = "agi.protocol"


class AGITimeout(AGIError):
    """The AGI header or a command's reply did not arrive in time."""

    code = "agi.timeout"


class AGIArgumentError(AGIError, ValueError):
    """A command word we refuse to send (newline, NUL, too long): guards against injection."""

    code = "agi.bad-argument"


#: The exceptions that mean "the channel is no longer ours to drive".
CHANNEL_GONE = (AGIHangup, AGIDeadChannel)
