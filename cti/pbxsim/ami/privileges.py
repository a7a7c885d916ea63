"""AMI privilege classes: the bit table behind ``read =``/``write =``, ``Events:`` and ``Privilege:``.

Asterisk keeps one bit per class (``manager.h``: ``EVENT_FLAG_SYSTEM`` ...). A user's ``read``
classes decide which events reach it, its ``write`` classes which actions it may run, and a
session's ``Events:`` mask narrows the read classes further. An event is delivered only when
*all* of its classes are in both (``(readperm & category) == category``), exactly as
``manager.c:process_events`` does.
"""
from __future__ import annotations

from cti.protocol.ami_message import Message

SYSTEM = 1 << 0
CALL = 1 << 1
LOG = 1 << 2
VERBOSE = 1 << 3
COMMAND = 1 << 4
AGENT = 1 << 5
USER = 1 << 6
CONFIG = 1 << 7
DTMF = 1 << 8
REPORTING = 1 << 9
CDR = 1 << 10
DIALPLAN = 1 << 11
ORIGINATE = 1 << 12
AGI = 1 << 13
CC = 1 << 14
AOC = 1 << 15
TEST = 1 << 16
SECURITY = 1 << 17
MESSAGE = 1 << 18

CLASSES: dict[str, int] = {
    "system": SYSTEM, "call": CALL, "log": LOG, "verbose": VERBOSE, "command": COMMAND,
    "agent": AGENT, "user": USER, "config": CONFIG, "dtmf": DTMF, "reporting": REPORTING,
    "cdr": CDR, "dialplan": DIALPLAN, "originate": ORIGINATE, "agi": AGI, "cc": CC,
    "aoc": AOC, "test": TEST, "security": SECURITY, "message": MESSAGE,
}
ALL = 0
for _bit in CLASSES.values():
    ALL |= _bit


def classes_to_mask(text: str) -> int:
    """``read``/``write`` value (``system,call``, ``all``, empty) -> bit mask (``get_perm``)."""
    mask = 0
    for word in text.split(","):
        word = word.strip().lower()
        if word == "all":
            mask |= ALL
        else:
            mask |= CLASSES.get(word, 0)
    return mask


_TRUE = {"yes", "true", "y", "t", "1", "on"}
_FALSE = {"no", "false", "n", "f", "0", "off"}


def events_mask(text: str) -> int | None:
    """An ``Events:``/``EventMask:`` value -> mask, or None when it is empty (``strings_to_mask``).

    All digits is a raw number; ``off``/``no`` is 0; ``on``/``yes`` is every class; anything
    else is a list of class names (unknown names count for nothing).
    """
    text = text.strip()
    if not text:
        return None
    if text.isdigit():
        return int(text)
    if text.lower() in _FALSE:
        return 0
    if text.lower() in _TRUE:
        return ALL
    return classes_to_mask(text)


def event_category(event: Message) -> int:
    """The classes an event belongs to, from its ``Privilege:`` header (``call,all`` -> CALL).

    An event without the header belongs to no class and so passes every mask, as an event of
    category 0 does in Asterisk.
    """
    privilege = event.get("Privilege")
    if not privilege:
        return 0
    mask = 0
    for word in privilege.split(","):
        word = word.strip().lower()
        if word != "all":
            mask |= CLASSES.get(word, 0)
    return mask
