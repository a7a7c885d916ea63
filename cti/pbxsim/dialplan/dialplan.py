"""A loaded dialplan and its lookups: the step at (context, exten, priority), labels, hints.

Lookup follows ``pbx.c`` ``pbx_find_extension`` with Asterisk's default matcher
(``extenpatternmatchnew = no``): in a context, the matching extensions are tried best first and
the first one **that has the wanted priority** wins (so ``exten => 6001,hint,...`` does not hide
``_6XXX,1``); then each ``include =>`` is searched in order, depth first, each context once.
"""
from __future__ import annotations

import glob
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

from .builder import DialplanBuilder
from .config import ConfigReader
from .errors import DialplanIncludeError, GotoError
from .model import PRIORITY_HINT, Context, Extension, Step

T = TypeVar("T")
_MAX_INCLUDE_DEPTH = 128


class Dialplan:
    """``extensions.conf`` loaded: :attr:`general`, :attr:`globals`, :attr:`contexts`, :attr:`notes`.

    :attr:`notes` lists what was read but is not simulated (``switch``, ``#exec``, caller-id
    matches, time-conditional includes, missing included contexts...), as ``file:line: text``.
    """

    def __init__(self, contexts: dict[str, Context], globals_: dict[str, str],
                 general: dict[str, str], notes: list[str]) -> None:
        self.contexts = contexts
        self.globals = globals_
        self.general = general
        self.notes = notes

    # --- loading -------------------------------------------------------------------------------

    @classmethod
    def from_text(cls, text: str, name: str = "<text>") -> "Dialplan":
        """Load from a string; ``#include`` is not available (raises DialplanIncludeError)."""
        reader = ConfigReader()
        reader.read(text, name)
        return cls._build(reader)

    @classmethod
    def from_files(cls, paths: Iterable[Path | str]) -> "Dialplan":
        """Load files in order (like one file made of them); ``#include`` relative to the includer.

        Sources read ``<path relative to the first file's directory>:<line>``.
        """
        paths = [Path(p) for p in paths]
        base = paths[0].resolve().parent if paths else Path.cwd()
        names: dict[str, Path] = {}

        def display(path: Path) -> str:
            resolved = path.resolve()
            try:
                name = str(resolved.relative_to(base))
            except ValueError:
                name = str(resolved)
            names[name] = resolved
            return name

        def load_include(target: str, including: str, required: bool) -> list[tuple[str, str]]:
            directory = names[including].parent
            pattern = target if os.path.isabs(target) else str(directory / target)
            matched = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else (
                [pattern] if os.path.exists(pattern) else [])
            if not matched and required:
                raise DialplanIncludeError(f"#include '{target}': no such file ({pattern})")
            return [(_read(Path(p)), display(Path(p))) for p in matched]

        reader = ConfigReader(load_include)
        for path in paths:
            if not path.exists():
                raise DialplanIncludeError(f"dialplan file {path} does not exist")
            reader.read(_read(path), display(path))
        return cls._build(reader)

    @classmethod
    def _build(cls, reader: ConfigReader) -> "Dialplan":
        builder = DialplanBuilder()
        builder.build(reader.categories)
        return cls(builder.contexts, builder.globals, builder.general, reader.notes + builder.notes)

    # --- lookups -------------------------------------------------------------------------------

    def find(self, context: str, exten: str, priority: int, callerid: str | None = None) -> Step | None:
        """The step run at ``context,exten,priority`` for a caller ``callerid``, or None."""
        return self._search(context, exten, callerid, lambda ext: ext.steps.get(priority))

    def exists(self, context: str, exten: str, priority: int = 1, callerid: str | None = None) -> bool:
        return self.find(context, exten, priority, callerid) is not None

    def label_priority(self, context: str, exten: str, label: str,
                       callerid: str | None = None) -> int | None:
        """The priority carrying ``n(label)`` in the extension matching ``exten``, or None."""
        return self._search(context, exten, callerid, lambda ext: ext.labels.get(label))

    def hint(self, context: str, exten: str) -> str | None:
        """The device(s) of ``exten => <exten>,hint,<devices>``, pattern and includes honoured."""
        return self._search(context, exten, None, lambda ext: ext.hint)

    def iter_hints(self) -> Iterator[tuple[str, str, str]]:
        """Every hint as (context, extension name, devices), for ExtensionStateList."""
        for context in self.contexts.values():
            for ext in context.extensions:
                if ext.hint is not None:
                    yield context.name, ext.name, ext.hint

    def matching_extension(self, context: str, exten: str, priority: int = 1,
                           callerid: str | None = None) -> Extension | None:
        """The extension (with all its priorities) that serves ``exten`` at ``priority``."""
        return self._search(context, exten, callerid,
                            lambda ext: ext if priority in ext.steps else None)

    def resolve_priority(self, context: str, exten: str, target: int | str,
                         current_priority: int | None = None, callerid: str | None = None) -> int:
        """A :func:`~cti.pbxsim.dialplan.args.parse_goto` priority made absolute.

        ``int`` stays; ``"+n"``/``"-n"`` moves from ``current_priority``; anything else is a label
        looked up in ``context,exten``.  Raises :class:`GotoError` for an unknown label.
        """
        if isinstance(target, int):
            return target
        if target[:1] in "+-" and target[1:].isdigit():
            if current_priority is None:
                raise GotoError(f"relative priority '{target}' needs the current priority")
            return current_priority + int(target)
        found = self.label_priority(context, exten, target, callerid)
        if found is None:
            raise GotoError(f"priority '{target}' must be a number > 0, or valid label "
                            f"(in {context},{exten})")
        return found

    def _search(self, context: str, exten: str, callerid: str | None,
                pick: Callable[[Extension], T | None]) -> T | None:
        visited: set[str] = set()

        def walk(name: str, depth: int) -> T | None:
            if name in visited or depth > _MAX_INCLUDE_DEPTH:
                return None
            visited.add(name)
            ctx = self.contexts.get(name)
            if ctx is None:
                return None
            for ext in ctx.candidates(exten, callerid):
                found = pick(ext)
                if found is not None:
                    return found
            for included in ctx.includes:
                found = walk(included, depth + 1)
                if found is not None:
                    return found
            return None

        return walk(context, 0)


def _read(path: Path) -> str:
    # Asterisk reads config bytes as they are; latin-1 keeps every byte as one character.
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


__all__ = ["Dialplan", "PRIORITY_HINT"]
