"""``${...}`` and ``$[...]`` substitution, as ``main/pbx_variables.c`` does it before every application.

* ``${NAME}`` asks ``resolve_var(NAME)``; an unknown variable (``None``) becomes ``""``.
* ``${NAME(args)}`` (a ``(`` anywhere in the name) calls ``call_function(NAME, args)`` with the
  text between the first ``(`` and the last ``)``, already substituted; ``None`` means the
  function failed or does not exist: nothing is inserted and a warning is reported.
* ``${X:offset}`` / ``${X:offset:length}`` take a substring of a variable or function result
  (the ``:`` outside parentheses); a negative offset counts from the end, a negative length
  leaves that many characters off the end; a non-numeric offset means the whole value, as C's
  ``sscanf`` would leave it.
* ``${${X}}``, ``${FOO_${N}}`` and ``$[...]`` inside are substituted first (recursively).
* ``$[expr]`` is substituted, then :func:`~cti.pbxsim.dialplan.expressions.evaluate`\\ d.
* **Backslashes are not special here** — Asterisk's substitution has no escapes: ``\\$`` and
  ``\\,`` pass through unchanged and the application's argument parser
  (:func:`~cti.pbxsim.dialplan.args.split_args`) is what removes the backslash later.  A ``$``
  not followed by ``{`` or ``[`` is literal.
* **Malformed input never raises**: an unbalanced ``${``/``$[`` takes the rest of the text as its
  body (Asterisk's "missing '}'" case) and is reported as a
  :class:`~cti.pbxsim.dialplan.errors.SubstitutionWarning` in ``warnings`` (or logged).  Nesting
  deeper than 32 levels is cut off with a warning instead of recursing further.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from .errors import DialplanError, SubstitutionWarning, report
from .expressions import evaluate

VariableResolver = Callable[[str], "str | None"]
FunctionCaller = Callable[[str, str], "str | None"]

INT_MAX = 2**31 - 1
_MAX_DEPTH = 32
_SCANF_INT = re.compile(r"\s*([+-]?\d+)")


def substitute(text: str, resolve_var: VariableResolver, call_function: FunctionCaller,
               warnings: list[DialplanError] | None = None) -> str:
    """Expand every ``${...}`` and ``$[...]`` in ``text`` (see the module docstring)."""
    if "$" not in text:
        return text
    return _Substituter(resolve_var, call_function, warnings).run(text, 0)


def substring(value: str, offset: int, length: int) -> str:
    """``ast_str_substring``: Asterisk's ``${VAR:offset:length}`` rules."""
    size = len(value)
    if offset == 0 and length >= size:
        return value
    if offset < 0:
        offset = max(size + offset, 0)
    if offset >= size:
        return ""
    value, size = value[offset:], size - offset
    if 0 <= length < size:
        return value[:length]
    if length < 0:
        return value[: size + length] if size > -length else ""
    return value


def split_variable_name(name: str) -> tuple[str, int, int, bool]:
    """``parse_variable_name``: (name, offset, length, is_function) from ``NAME(args):o:l``."""
    parens = 0
    is_function = False
    for i, ch in enumerate(name):
        if ch == "(":
            is_function, parens = True, parens + 1
        elif ch == ")":
            parens -= 1
        elif ch == ":" and parens == 0:
            offset, length = 0, INT_MAX
            rest = name[i + 1:]
            m = _SCANF_INT.match(rest)
            if m:
                offset = _clamp(int(m.group(1)))
                rest = rest[m.end():]
                if rest.startswith(":"):
                    m = _SCANF_INT.match(rest, 1)
                    if m:
                        length = _clamp(int(m.group(1)))
            return name[:i], offset, length, is_function
    return name, 0, INT_MAX, is_function


def _clamp(number: int) -> int:
    return max(-INT_MAX - 1, min(INT_MAX, number))


def _body_end(text: str, start: int, opener: str) -> tuple[int, bool, bool]:
    """Scan a ``${`` (opener "{") or ``$[`` (opener "[") body starting at ``start``.

    Returns (index just past the body, whether it was closed, whether it needs substitution),
    following the bracket counting of ``ast_str_substitute_variables_full``.
    """
    closer = "}" if opener == "{" else "]"
    depth, needs_sub, i, n = 1, False, start, len(text)
    while depth and i < n:
        ch = text[i]
        if ch == "$" and i + 1 < n and text[i + 1] in "{[":
            needs_sub = True
            if text[i + 1] == opener:
                depth += 1
            i += 1
        elif ch == opener:
            depth += 1
        elif ch == closer:
            depth -= 1
        i += 1
    return i, depth == 0, needs_sub


def expression_end(text: str) -> int:
    """Index just past the ``$[...]`` that ``text`` starts with (``len(text)`` if unclosed)."""
    return _body_end(text, 2, "[")[0]


class _Substituter:
    def __init__(self, resolve_var: VariableResolver, call_function: FunctionCaller,
                 warnings: list[DialplanError] | None) -> None:
        self.resolve_var, self.call_function, self.warnings = resolve_var, call_function, warnings

    def warn(self, message: str) -> None:
        report(self.warnings, SubstitutionWarning(message))

    def run(self, text: str, depth: int) -> str:
        if depth > _MAX_DEPTH:
            self.warn(f"substitution nested deeper than {_MAX_DEPTH} levels; left as is")
            return text
        out: list[str] = []
        pos, n = 0, len(text)
        while pos < n:
            dollar = text.find("$", pos)
            if dollar < 0:
                out.append(text[pos:])
                break
            kind = text[dollar + 1] if dollar + 1 < n else ""
            if kind not in ("{", "["):
                out.append(text[pos:dollar + 1])
                pos = dollar + 1
                continue
            out.append(text[pos:dollar])
            end, closed, needs_sub = _body_end(text, dollar + 2, kind)
            body = text[dollar + 2:end - 1] if closed else text[dollar + 2:end]
            if not closed:
                self.warn(f"error in extension logic (missing '{'}' if kind == '{' else ']'}') in {text!r}")
            if needs_sub:
                body = self.run(body, depth + 1)
            if kind == "{":
                out.append(self.expand_reference(body))
            else:
                out.append(evaluate(body, self.call_function, self.warnings))
            pos = end
        return "".join(out)

    def expand_reference(self, reference: str) -> str:
        name, offset, length, is_function = split_variable_name(reference)
        if is_function:
            open_paren = name.find("(")
            close_paren = name.rfind(")")
            func, args = name[:open_paren], name[open_paren + 1:]
            if close_paren > open_paren:
                args = name[open_paren + 1:close_paren]
            else:
                self.warn(f"can't find trailing parenthesis for function '{name}'")
            value = self.call_function(func, args)
            if value is None:
                self.warn(f"function '{func}' failed or is not available")
                return ""
        else:
            value = self.resolve_var(name)
            if value is None:
                return ""
        return substring(value, offset, length)
