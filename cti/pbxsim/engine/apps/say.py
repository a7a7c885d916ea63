"""The say applications: SayNumber, SayDigits, SayAlpha, SayUnixTime.

Which files each plays comes from :mod:`cti.pbxsim.engine.say` (Asterisk's ``main/say.c``
rules for the channel's language); a file the PBX does not have is skipped, as ``say.c``
does after its warning. Digits pressed meanwhile are ignored (no escape digits).
"""
from __future__ import annotations

import logging

from cti.pbxsim.dialplan import split_args

from .. import say
from ..playback import stream
from . import application

log = logging.getLogger(__name__)


async def play_all(pbx, chan, files: list[str], escape: str = "") -> str | None:
    """Play ``files`` in turn; the escape digit that stopped them, else None."""
    for name in files:
        played = await stream(pbx, chan, name, escape)
        if played is not None and played.digit is not None:
            return played.digit
    return None


@application("SayNumber")
async def say_number(pbx, chan, data):
    args = split_args(data)
    text = args[0].strip() if args else ""
    try:
        number = int(text)
    except ValueError:
        log.warning("SayNumber: %r is not a number (channel %s)", text, chan.name)
        return
    await play_all(pbx, chan, say.number_files(number, chan.language))


@application("SayDigits")
async def say_digits(pbx, chan, data):
    await play_all(pbx, chan, say.digit_files(split_args(data)[0] if data else ""))


@application("SayAlpha")
async def say_alpha(pbx, chan, data):
    await play_all(pbx, chan, say.character_files(split_args(data)[0] if data else ""))


@application("SayUnixTime")
async def say_unixtime(pbx, chan, data):
    args = split_args(data)
    text = args[0].strip() if args else ""
    try:
        epoch = float(text) if text else pbx.wall_clock()
    except ValueError:
        epoch = pbx.wall_clock()
    await play_all(pbx, chan, say.unixtime_files(epoch, chan.language))
