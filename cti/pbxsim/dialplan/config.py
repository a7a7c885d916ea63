"""The ``extensions.conf`` file syntax (``main/config.c``): text in, categories of directives out.

Sans-IO: :class:`ConfigReader` reads text it is given; ``#include`` goes through a loader
callback, which is the only place a file is opened (see
:meth:`~cti.pbxsim.dialplan.dialplan.Dialplan.from_files`).

Handled as Asterisk does:

* ``;`` starts a comment, ``\\;`` is a literal ``;`` (the backslash is dropped), ``;-- ... --;``
  is a block comment that may span lines and nest;
* ``[name]``, ``[name](!)`` (a template: not a context itself), ``[name](tmpl1,tmpl2)``
  (starts with a copy of those categories' lines), ``[name](+)`` (adds to the earlier one);
* ``key => value`` and ``key = value`` (both sides stripped);
* ``#include "file"`` / ``#include <file>`` / ``#include file`` (relative to the including
  file, glob patterns allowed), ``#tryinclude`` (a missing file is fine), ``#exec`` (never
  run: noted and skipped).

Stricter than Asterisk, which only logs a warning and carries on: a line without ``=``, a line
before any ``[category]``, an unknown ``#`` directive, junk after ``]``, an unterminated block
comment, an unknown template, and a missing ``#include`` file all raise
:class:`~cti.pbxsim.dialplan.errors.DialplanSyntaxError` with the ``file:line``.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import DialplanIncludeError, DialplanSyntaxError

#: (include argument, name of the including file, must exist) -> [(text, name), ...]
IncludeLoader = Callable[[str, str, bool], list[tuple[str, str]]]

_DIRECTIVE_RE = re.compile(r"#\s*(\S+)\s*(.*)\Z")


@dataclass(slots=True)
class Directive:
    """One ``key => value`` line of a category, with where it came from."""

    key: str
    value: str
    source: str


@dataclass(slots=True)
class Category:
    """A ``[name]`` section: its directives in file order."""

    name: str
    source: str
    directives: list[Directive] = field(default_factory=list)
    is_template: bool = False


def strip_comments(line: str, block_depth: int) -> tuple[str, int]:
    """Remove ``;`` comments from one line; returns (text, block comment depth after the line)."""
    out: list[str] = []
    i, n = 0, len(line)
    while i < n:
        if block_depth:
            end = line.find("--;", i)
            start = line.find(";--", i)
            if start >= 0 and (end < 0 or start < end) and line[start + 3:start + 4] != "-":
                block_depth, i = block_depth + 1, start + 3
                continue
            if end < 0:
                break
            block_depth, i = block_depth - 1, end + 3
            continue
        semi = line.find(";", i)
        if semi < 0:
            out.append(line[i:])
            break
        if semi > i and line[semi - 1] == "\\":
            out.append(line[i:semi - 1] + ";")
            i = semi + 1
            continue
        out.append(line[i:semi])
        if line[semi + 1:semi + 3] == "--" and line[semi + 3:semi + 4] != "-":
            block_depth, i = 1, semi + 3
            continue
        break
    return "".join(out), block_depth


class ConfigReader:
    """Reads one or more config texts into :attr:`categories` (templates left out)."""

    def __init__(self, load_include: IncludeLoader | None = None) -> None:
        self.categories: list[Category] = []
        self.notes: list[str] = []
        self._load_include = load_include
        self._templates: dict[str, Category] = {}
        self._named: dict[str, Category] = {}
        self._current: Category | None = None
        self._reading: list[str] = []

    def read(self, text: str, name: str) -> None:
        if name in self._reading:
            raise DialplanIncludeError(f"'{name}' includes itself (via {' -> '.join(self._reading)})")
        self._reading.append(name)
        depth, depth_started = 0, ""
        for lineno, raw in enumerate(text.splitlines(), 1):
            source = f"{name}:{lineno}"
            was_in_block = depth
            line, depth = strip_comments(raw, depth)
            if depth and not was_in_block:
                depth_started = source
            line = line.strip()
            if not line:
                continue
            if line[0] == "[":
                self._open_category(line, source)
            elif line[0] == "#":
                self._hash_directive(line, source, name)
            else:
                self._add_directive(line, source)
        if depth:
            raise DialplanSyntaxError("unterminated ';--' block comment", depth_started or name)
        self._reading.pop()

    def _open_category(self, line: str, source: str) -> None:
        close = line.find("]")
        if close < 0:
            raise DialplanSyntaxError(f"no closing ']' in {line!r}", source)
        name = line[1:close].strip()
        if not name:
            raise DialplanSyntaxError("empty category name", source)
        rest = line[close + 1:].strip()
        options: list[str] = []
        if rest.startswith("("):
            end = rest.find(")")
            if end < 0:
                raise DialplanSyntaxError(f"no closing ')' in category options {line!r}", source)
            options = [opt.strip() for opt in rest[1:end].split(",") if opt.strip()]
            rest = rest[end + 1:].strip()
        if rest:
            raise DialplanSyntaxError(f"unexpected text {rest!r} after category header", source)
        key = name.lower()
        if "+" in options:
            existing = self._named.get(key) or self._templates.get(key)
            if existing is None:
                raise DialplanSyntaxError(f"category '{name}' extended with (+) but never defined", source)
            self._current = existing
            return
        category = Category(name, source, is_template="!" in options)
        for option in options:
            if option == "!":
                continue
            base = self._templates.get(option.lower()) or self._named.get(option.lower())
            if base is None:
                raise DialplanSyntaxError(f"template '{option}' of category '{name}' does not exist", source)
            category.directives.extend(base.directives)
        if category.is_template:
            self._templates[key] = category
        else:
            self.categories.append(category)
            self._named[key] = category
        self._current = category

    def _hash_directive(self, line: str, source: str, including: str) -> None:
        m = _DIRECTIVE_RE.match(line)
        word, arg = (m.group(1).lower(), m.group(2).strip()) if m else ("", "")
        if word in ("exec", "tryexec"):
            self.notes.append(f"{source}: #{word} {arg} is not run by the simulator; skipped")
            return
        if word not in ("include", "tryinclude"):
            raise DialplanSyntaxError(f"unknown directive {line!r}", source)
        if len(arg) >= 2 and (arg[0], arg[-1]) in (('"', '"'), ("<", ">")):
            arg = arg[1:-1]
        if not arg:
            raise DialplanSyntaxError(f"#{word} needs a file name", source)
        if self._load_include is None:
            raise DialplanIncludeError(f"#{word} {arg}: no files to include from a text dialplan", source)
        try:
            included = self._load_include(arg, including, word == "include")
        except DialplanIncludeError as exc:
            raise DialplanIncludeError(exc.message, source) from None
        for text, name in included:
            self.read(text, name)

    def _add_directive(self, line: str, source: str) -> None:
        equals = line.find("=")
        if equals < 0:
            raise DialplanSyntaxError(f"no '=' in {line!r}", source)
        key, value = line[:equals].strip(), line[equals + 1:]
        if value.startswith(">"):
            value = value[1:]
        if not key:
            raise DialplanSyntaxError(f"nothing before '=' in {line!r}", source)
        if self._current is None:
            raise DialplanSyntaxError(f"{line!r} comes before any [category]", source)
        self._current.directives.append(Directive(key, value.strip(), source))
