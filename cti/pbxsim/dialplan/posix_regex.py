"""POSIX extended regular expressions (``regcomp(REG_EXTENDED)``) rewritten for Python's ``re``.

Only what differs in practice: bracket expressions (``[[:digit:]]``, ``[=a=]``, ``[.-.]``, and
a backslash that is literal inside brackets) and the GNU word boundaries ``\\<`` / ``\\>``.
Everything else is passed through; Python rejecting a pattern counts as a bad regex.
"""
from __future__ import annotations

import re


def posix_to_python(pattern: str) -> str:
    """Translate a POSIX extended regex to Python's dialect (bracket classes, ``\\<``/``\\>``)."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            out.append(r"\b" if nxt in "<>" else c + nxt)
            i += 2
        elif c == "[":
            i = _translate_bracket(pattern, i, out)
        else:
            out.append(c)
            i += 1
    return "".join(out)


_POSIX_CLASSES = {
    "alpha": "a-zA-Z", "digit": "0-9", "alnum": "a-zA-Z0-9", "upper": "A-Z", "lower": "a-z",
    "space": r" \t\n\r\f\v", "blank": r" \t", "punct": r"!-/:-@\[-`{-~", "xdigit": "0-9A-Fa-f",
    "cntrl": r"\x00-\x1f\x7f", "print": r"\x20-\x7e", "graph": r"\x21-\x7e",
}


def _translate_bracket(pattern: str, start: int, out: list[str]) -> int:
    i, n = start + 1, len(pattern)
    parts = ["["]
    if i < n and pattern[i] == "^":
        parts.append("^")
        i += 1
    first = True
    while i < n and (pattern[i] != "]" or first):
        first = False
        if pattern.startswith("[:", i):
            end = pattern.find(":]", i + 2)
            if end < 0:
                raise re.error("unterminated character class")
            name = pattern[i + 2:end]
            if name not in _POSIX_CLASSES:
                raise re.error(f"unknown character class {name}")
            parts.append(_POSIX_CLASSES[name])
            i = end + 2
        elif pattern.startswith(("[=", "[."), i):
            end = pattern.find(pattern[i + 1] + "]", i + 2)
            if end < 0:
                raise re.error("unterminated collating element")
            parts.append(re.escape(pattern[i + 2:end]))
            i = end + 2
        else:
            ch = pattern[i]
            parts.append("\\" + ch if ch in "\\[]^" else ch)
            i += 1
    if i >= n:
        raise re.error("brackets ([ ]) not balanced")
    out.append("".join(parts) + "]")
    return i + 1
