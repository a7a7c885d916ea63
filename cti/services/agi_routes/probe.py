"""The ``probe`` route: proves the FastAGI path to ctid works, from inside a call.

``AGI(agi://ctid/probe)`` in any dialplan (a health-check extension, or the first step of a new
context) makes ctid read the caller and the channel's dialplan position, set ``CTI_PROBE=ok``
on the channel, and write one ``VERBOSE`` line (ctid's version, the call) to the Asterisk log. The
dialplan checks ``${CTI_PROBE}`` (or ``${AGISTATUS}``) to know that ctid answered and ran
commands, not merely accepted the connection. It is also the session the FastAGI benchmark
drives: four commands, like the ACD routing session captured on Asterisk.
"""
from __future__ import annotations

from typing import Any, Callable

from cti import __version__
from cti.domain.privacy import mask_number

SCRIPT = "probe"
PROBE = "CTI_PROBE"  # "ok" once ctid has run the probe on this channel


def make_route(**deps: Any) -> Callable:
    """The probe needs no service; ``deps`` is accepted like every route factory's."""
    return probe


async def probe(session) -> None:
    caller = await session.get_variable("CALLERID(num)")
    position = await session.get_full_variable("${CONTEXT},${EXTEN},${PRIORITY}")
    await session.set_variable(PROBE, "ok")
    await session.verbose(
        f"ctid {__version__} probe ok: uniqueid={session.uniqueid} "
        f"caller={mask_number(caller) or '-'} at {position}", 3)
