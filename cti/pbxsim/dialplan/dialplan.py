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

from .args import parse_goto, parse_gotoif, split_args
from .builder import DialplanBuilder
from .config import ConfigReader
from .errors import DialplanIncludeError, GotoError
from .substitution import expression_end
from .model import PRIORITY_HINT, Context, Extension, Step
from .patterns import _pattern_atoms

T = TypeVar("T")
_MAX_INCLUDE_DEPTH = 128
_STEP_CACHE_LIMIT = 65536
_MISSING = object()


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
        # a loaded dialplan never changes, so a found step (or its absence) can be remembered
        self._step_cache: dict[tuple[str, str, int, str | None], Step | None] = {}

    # --- loading -------------------------------------------------------------------------------

    @classmethod
    def from_text(cls, text: str, name: str = "<text>") -> "Dialplan":
        """Load from a string; ``#include`` is not available (raises DialplanIncludeError)."""
        reader = ConfigReader()
        reader.read(text, name)
        return cls._build(reader)

    @classmethod
    def from_files(cls, paths: Iterable[Path | str], config_dir: Path | str | None = None) -> "Dialplan":
        """Load files in order (like one file made of them).

        A relative ``#include`` is looked up in ``config_dir`` when given (Asterisk's
        ``astetcdir``, e.g. ``/etc/asterisk``), else next to the including file.  Sources read
        ``<path relative to the first file's directory>:<line>``.
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
            directory = Path(config_dir) if config_dir is not None else names[including].parent
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
        key = (context, exten, priority, callerid)
        step = self._step_cache.get(key, _MISSING)
        if step is _MISSING:
            step = self._search(context, exten, callerid, lambda ext: ext.steps.get(priority))
            if len(self._step_cache) >= _STEP_CACHE_LIMIT:
                self._step_cache.clear()
            self._step_cache[key] = step
        return step  # type: ignore[return-value]

    def exists(self, context: str, exten: str, priority: int = 1, callerid: str | None = None) -> bool:
        return self.find(context, exten, priority, callerid) is not None

    def matchmore(self, context: str, typed: str, callerid: str | None = None) -> bool:
        """``ast_matchmore_extension``: could a longer extension of ``context`` (or its
        includes) begin with ``typed``? Decides whether more digits are read."""
        visited: set[str] = set()

        def walk(name: str, depth: int) -> bool:
            if name in visited or depth > _MAX_INCLUDE_DEPTH:
                return False
            visited.add(name)
            ctx = self.contexts.get(name)
            if ctx is None:
                return False
            if any(_could_extend(ext.name, typed) for ext in ctx.extensions):
                return True
            return any(walk(inc, depth + 1) for inc in ctx.includes)
        return walk(context, 0)

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

    def check_targets(self) -> list[str]:
        """``Goto``/``GotoIf`` targets written literally that lead nowhere, as ``file:line: ...``.

        Asterisk only finds these when a call gets there; the engine can log them at start.
        Targets built from variables (``${...}``) and relative priorities are not checked.
        """
        problems: list[str] = []
        for context in self.contexts.values():
            for ext in context.extensions:
                for step in sorted(ext.steps.values(), key=lambda s: s.priority):
                    for target in _literal_targets(step):
                        problem = self._target_problem(target, context.name, ext)
                        if problem:
                            problems.append(f"{step.source}: {step.app}({step.data}): {problem}")
        return problems

    def _target_problem(self, target: str, context: str, ext: Extension) -> str | None:
        try:
            to_context, to_exten, where = parse_goto(split_args(target), (context, ext.name))
            if isinstance(where, str) and where[:1] in "+-":
                return None
            if (to_context, to_exten) == (context, ext.name):  # same extension, maybe a pattern
                priority = where if isinstance(where, int) else ext.labels.get(where)
                if priority is None or priority not in ext.steps:
                    return f"no priority or label '{where}' in {context},{ext.name}"
                return None
            priority = self.resolve_priority(to_context, to_exten, where)
        except GotoError as exc:
            return exc.message
        if self.find(to_context, to_exten, priority) is None:
            return f"{to_context},{to_exten},{priority} does not exist"
        return None

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


def _literal_targets(step: Step) -> list[str]:
    app = step.app.lower()
    if app == "goto":
        targets = [step.data]
    elif app == "gotoif":
        condition_end = expression_end(step.data) if step.data.startswith("$[") else 0
        _, if_true, if_false = parse_gotoif(step.data[condition_end:])
        targets = [t for t in (if_true, if_false) if t]
    else:
        return []
    return [t for t in targets if "$" not in t]


def _could_extend(name: str, typed: str) -> bool:
    """Does the extension ``name`` match some string longer than ``typed`` that starts with it?"""
    if not name.startswith("_"):
        return len(name) > len(typed) and name.startswith(typed)
    atoms = _pattern_atoms(name[1:], None)
    for i, ch in enumerate(typed):
        if i >= len(atoms):
            return False
        kind, members = atoms[i]
        if kind in ".!":
            return True
        if ch not in (members or set()):
            return False
    return len(atoms) > len(typed)


def _read(path: Path) -> str:
    # Asterisk reads config bytes as they are; latin-1 keeps every byte as one character.
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


__all__ = ["Dialplan", "PRIORITY_HINT"]
