"""Application arguments as Asterisk's applications read them, and ``Goto``/``GotoIf`` targets.

The engine substitutes a step's data first (:func:`~cti.pbxsim.dialplan.substitution.substitute`)
and then splits it here, in that order, exactly as Asterisk does.

* :func:`split_args` is ``__ast_app_separate_args`` (``AST_STANDARD_APP_ARGS``): commas split,
  except inside ``( )``, ``[ ]`` or double quotes; double quotes are removed; a backslash makes
  the next character literal and is removed.  ``""`` gives no argument at all, a trailing comma
  an extra empty one.
* :func:`parse_goto` is ``ast_parseable_goto``: ``[[context,]exten,]priority`` where priority is
  a number, a label, or ``+n``/``-n`` relative to the current priority.
* :func:`parse_gotoif` is ``pbx_builtin_gotoif``'s split: ``condition?[true][:false]``.
* :func:`check_condition` is ``pbx_checkcondition``: empty is false, a leading integer is its
  own truth, any other text is true.
"""
from __future__ import annotations

import re

from .errors import GotoError

_SCANF_INT = re.compile(r"\s*([+-]?\d+)")
_PRIORITY_NUMBER = re.compile(r"\s*([+-]?\d+)\s*\Z")


def split_args(data: str, delimiter: str = ",", remove_chars: bool = True,
               max_args: int | None = None) -> list[str]:
    """Split application data into arguments (see the module docstring).

    ``max_args`` mirrors the array size of ``AST_DECLARE_APP_ARGS``: when that many arguments
    have been cut, the rest of the text, untouched, becomes the last one.  ``remove_chars=False``
    keeps quotes and backslashes (``AST_NONSTANDARD_RAW_ARGS``).
    """
    args: list[str] = []
    if not data:
        return args
    n = len(data)
    pos = 0
    ended_on_delimiter = False
    while pos < n and (max_args is None or len(args) < max_args - 1):
        current: list[str] = []
        paren = bracket = 0
        quote = False
        ended_on_delimiter = False
        while pos < n:
            ch = data[pos]
            if ch == "(":
                paren += 1
            elif ch == ")":
                paren = max(paren - 1, 0)
            elif ch == "[":
                bracket += 1
            elif ch == "]":
                bracket = max(bracket - 1, 0)
            elif ch == '"' and delimiter != '"':
                quote = not quote
                if remove_chars:
                    pos += 1
                    continue
            elif ch == "\\":
                if pos + 1 < n:
                    if not remove_chars:
                        current.append(ch)
                    current.append(data[pos + 1])
                    pos += 2
                    continue
                if remove_chars:
                    pos += 1
                    continue
            elif ch == delimiter and not paren and not quote and not bracket:
                pos += 1
                ended_on_delimiter = True
                break
            current.append(ch)
            pos += 1
        args.append("".join(current))
    if pos < n:
        args.append(data[pos:])
    elif ended_on_delimiter:
        args.append("")
    return args


def check_condition(condition: str | None) -> bool:
    """``pbx_checkcondition``: "" is false, "0"/" 0x" false, "5" true, "abc" true."""
    if not condition:
        return False
    m = _SCANF_INT.match(condition)
    if m:
        return int(m.group(1)) != 0
    return True


def parse_gotoif(data: str) -> tuple[str, str | None, str | None]:
    """Split ``GotoIf`` data into (condition, target if true, target if false); empty is None."""
    condition, _, branches = data.partition("?")
    true_target, _, false_target = branches.partition(":")
    return condition, true_target or None, false_target or None


def parse_goto(args: list[str], current: tuple[str, str]) -> tuple[str, str, int | str]:
    """Resolve ``Goto([[context,]exten,]priority)`` arguments against (context, exten).

    The priority is an ``int`` when absolute, else a ``str``: a label, or ``"+n"``/``"-n"`` for
    a jump relative to the current priority (resolve both with
    :meth:`~cti.pbxsim.dialplan.dialplan.Dialplan.resolve_priority`).  Arguments after the third
    are ignored and an empty context or extension means the current one, as Asterisk does
    (``ast_explicit_goto``).  Raises :class:`GotoError` when there is no priority.
    """
    if not args or not "".join(args).strip():
        raise GotoError("Goto requires an argument ([[context,]extension,]priority)")
    context, exten = current
    if len(args) == 1:
        priority = args[0]
    elif len(args) == 2:
        exten, priority = args[0] or exten, args[1]
    else:
        context, exten, priority = args[0] or context, args[1] or exten, args[2]
    if not priority.strip():
        raise GotoError(f"Goto priority is empty in {','.join(args)!r}")
    sign = priority[0] if priority[0] in "+-" else ""
    body = priority[1:] if sign else priority
    m = _PRIORITY_NUMBER.match(body)
    if m:
        number = int(m.group(1))
        return context, exten, f"{sign}{number}" if sign else number
    return context, exten, body


def parse_set(data: str) -> tuple[str, str] | None:
    """``Set(name=value)``: split at the first ``=``; quotes are kept.  None without ``=``."""
    name, sep, value = data.partition("=")
    return (name, value) if sep else None
