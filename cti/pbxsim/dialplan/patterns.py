"""Extension names and patterns: matching a dialled number, and Asterisk's "best match" order.

An extension name starting with ``_`` is a pattern (``pbx.c`` ``extension_match_core``):
``X`` = ``[0-9]``, ``Z`` = ``[1-9]``, ``N`` = ``[2-9]`` (either case), ``[...]`` a set with
``a-b`` ranges, ``.`` one or more of anything and ``!`` zero or more (both end the pattern:
what follows them is ignored), every other character literal; ``-`` and spaces are eye candy and
ignored.  In a plain name only ``-`` is ignored (``555-1212`` is ``5551212``).

Asterisk keeps a context's extensions sorted by ``ext_cmp``: plain names before patterns, and
patterns by specificity position by position (a literal before ``N`` before ``Z`` before ``X``
before a wider set, ``.`` and ``!`` last); :func:`sort_key` reproduces that order.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import DialplanSyntaxError

_DIGIT_SETS = {"X": "0123456789", "Z": "123456789", "N": "23456789"}
_END = 0x30000


def normalize_exten(name: str) -> str:
    """A plain extension name as Asterisk compares it (dashes ignored)."""
    return name.replace("-", "") if "-" in name else name


def _set_members(body: str) -> set[str]:
    """The characters of a ``[...]`` body (without the brackets), ``a-b`` ranges expanded."""
    members: set[str] = set()
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            lo, hi = ord(body[i]), ord(body[i + 2])
            members.update(chr(c) for c in range(lo, hi + 1))
            i += 3
        else:
            members.add(body[i])
            i += 1
    return members


def _pattern_atoms(pattern: str, source: str | None) -> list[tuple[str, set[str] | None]]:
    """Split a pattern body (after ``_``) into atoms: ("set", chars) or ("." / "!", None)."""
    atoms: list[tuple[str, set[str] | None]] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        upper = c.upper()
        if c in " -":
            i += 1
            continue
        if upper in _DIGIT_SETS:
            atoms.append(("set", set(_DIGIT_SETS[upper])))
        elif c in ".!":
            atoms.append((c, None))
            return atoms  # Asterisk stops reading the pattern here
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                raise DialplanSyntaxError(f"wrong usage of [] in the extension pattern '_{pattern}'", source)
            atoms.append(("set", _set_members(pattern[i + 1:end])))
            i = end
        else:
            atoms.append(("set", {c}))
        i += 1
    return atoms


def compile_pattern(name: str, source: str | None = None) -> re.Pattern[str]:
    """A regex that fullmatches exactly what the pattern ``name`` (with its ``_``) matches."""
    parts = []
    for kind, members in _pattern_atoms(name[1:], source):
        if kind == ".":
            parts.append(".+")
        elif kind == "!":
            parts.append(".*")
        else:
            assert members is not None
            if len(members) == 1:
                parts.append(re.escape(next(iter(members))))
            elif members:
                parts.append("[" + "".join(re.escape(m) for m in sorted(members)) + "]")
            else:
                parts.append("(?!)")  # an empty set matches nothing
    return re.compile("".join(parts), re.DOTALL)


def _position_weight(text: str, i: int) -> tuple[int, bytes, int]:
    """``ext_cmp_pattern_pos``: (weight, character-set bitmap, next index) at ``text[i]``."""
    while i < len(text) and text[i] in " -":
        i += 1
    if i >= len(text):
        return _END, bytes(32), i
    c = text[i]
    upper = c.upper()
    if c == ".":
        return 0x18000, bytes(32), i + 1
    if c == "!":
        return 0x28000, bytes(32), i + 1
    if upper in _DIGIT_SETS:
        members = set(_DIGIT_SETS[upper])
        nxt = i + 1
    elif c == "[":
        end = text.find("]", i + 1)
        if end < 0:
            return 0x40000, bytes(32), len(text)
        members = _set_members(text[i + 1:end])
        nxt = end + 1
        if not members:
            return _END, bytes(32), nxt
    else:
        members = {c}
        nxt = i + 1
        bitmap = bytearray(32)
        code = ord(c) & 0xFF
        bitmap[code // 8] = 1 << (7 - code % 8)
        return 0x0100 | code, bytes(bitmap), nxt
    bitmap = bytearray(32)
    for m in members:
        code = ord(m) & 0xFF
        bitmap[code // 8] |= 1 << (7 - code % 8)
    count = sum(bin(b).count("1") for b in bitmap)
    return (count << 8) | min(ord(m) & 0xFF for m in members), bytes(bitmap), nxt


def sort_key(name: str) -> tuple:
    """Order extension names as ``pbx.c`` ``ext_cmp`` does (smaller = tried first)."""
    if not name.startswith("_"):
        return (0, normalize_exten(name))
    positions = []
    text, i = name[1:], 0
    while True:
        weight, bitmap, i = _position_weight(text, i)
        positions.append((weight, bitmap))
        if weight == _END and i >= len(text):
            break
    return (1, tuple(positions))


@dataclass(frozen=True, slots=True)
class NameMatcher:
    """Matches one extension name (plain or ``_`` pattern) against dialled numbers."""

    name: str
    regex: re.Pattern[str] | None  # None for a plain name

    @classmethod
    def for_name(cls, name: str, source: str | None = None) -> "NameMatcher":
        if name.startswith("_"):
            return cls(name, compile_pattern(name, source))
        return cls(name, None)

    @property
    def is_pattern(self) -> bool:
        return self.regex is not None

    def matches(self, exten: str) -> bool:
        if self.regex is None:
            return normalize_exten(self.name) == normalize_exten(exten)
        return self.regex.fullmatch(exten) is not None


def shrink_callerid(cid: str) -> str:
    """``ast_shrink_phone_number`` for a caller-id match: drop ``( ) -`` and spaces."""
    if cid.startswith("_"):
        return cid.replace(" ", "")
    return "".join(ch for ch in cid if ch not in "()- .")
