"""From categories to contexts: what ``pbx/pbx_config.c`` does with each ``extensions.conf`` line.

* ``[general]`` options are kept as read; ``[globals]`` values are substituted with the
  globals defined before them (as Asterisk does at load).
* ``exten => name[/callerid],priority[(label)],App(data)``: the name is substituted with the
  globals and split off respecting ``[...]`` (``_[1,2]XX`` is one name); ``same => ...``
  reuses the last name; the priority is a number, ``n``/``next`` (last priority **of the
  context** + 1, so in practice the line before), ``s``/``same`` (the last one again), ``hint``,
  a label defined earlier in the extension, optionally ``+offset``; ``App(data)`` splits at the
  first ``(`` and the **last** ``)``; ``App`` alone has empty data.
* ``include => ctx[,timespec]`` (a time condition is noted and treated as always true);
  ``switch``/``lswitch``/``eswitch``/``ignorepat`` are noted and ignored (the simulator has
  no switches and no overlap dialling).

Asterisk logs a warning and drops the line for a malformed extension; we raise
:class:`~cti.pbxsim.dialplan.errors.DialplanSyntaxError`, since a dialplan that loses lines
is a broken dialplan.  Includes of contexts that do not exist are only noted (they may come
from other modules, like ``parkedcalls``).
"""
from __future__ import annotations

import re

from .errors import DialplanError, DialplanSyntaxError
from .config import Category, Directive
from .model import PRIORITY_HINT, Context, Extension, Step
from .patterns import shrink_callerid
from .substitution import substitute

_SCANF_INT = re.compile(r"\s*([+-]?\d+)")
_IGNORED_KEYS = {"switch", "lswitch", "eswitch", "ignorepat"}


def split_exten_name(value: str) -> tuple[str, str]:
    """``pbx_strsep(value, ",")``: the first field, skipping commas inside ``[...]`` and after ``\\``."""
    square = 0
    i, n = 0, len(value)
    while i < n:
        ch = value[i]
        if ch == "[":
            square += 1
        elif ch == "]":
            square = max(square - 1, 0)
        elif ch == "\\":
            i += 1
        elif ch == "," and not square:
            return value[:i], value[i + 1:]
        i += 1
    return value, ""


def split_application(text: str, source: str) -> tuple[str, str]:
    """``App(data)`` -> (App, data), at the first ``(`` and the last ``)``."""
    if "(" not in text:
        return text.strip(), ""
    app, _, rest = text.partition("(")
    if "${" in app or "$[" in app:
        return text.strip(), ""
    close = rest.rfind(")")
    if close < 0:
        raise DialplanSyntaxError(f"no closing parenthesis in '{text}'", source)
    return app.strip(), rest[:close]


class DialplanBuilder:
    """Turns categories into ``general``, ``globals`` and ``contexts``; collects ``notes``."""

    def __init__(self) -> None:
        self.general: dict[str, str] = {}
        self.globals: dict[str, str] = {}
        self.contexts: dict[str, Context] = {}
        self.notes: list[str] = []

    def build(self, categories: list[Category]) -> None:
        for category in categories:
            kind = category.name.lower()
            if kind == "general":
                self.general.update((d.key, d.value) for d in category.directives)
            elif kind == "globals":
                for d in category.directives:
                    self.globals[d.key] = self._expand_globals(d.value, d.source)
        for category in categories:
            if category.name.lower() not in ("general", "globals"):
                self._build_context(category)
        for context in self.contexts.values():
            for included in context.includes:
                if included not in self.contexts:
                    self.notes.append(f"{context.source}: context '{context.name}' includes "
                                      f"'{included}', which does not exist")

    def _expand_globals(self, text: str, source: str) -> str:
        problems: list[DialplanError] = []
        result = substitute(text, self.globals.get, lambda name, args: None, problems)
        self.notes.extend(f"{source}: {p.message}" for p in problems)
        return result

    def _build_context(self, category: Category) -> None:
        context = self.contexts.get(category.name)
        if context is None:
            context = self.contexts[category.name] = Context(category.name, category.source)
        last_name: str | None = None
        last_priority: int | None = None
        for d in category.directives:
            key = d.key.lower()
            if key.startswith("same"):
                if last_name is None:
                    raise DialplanSyntaxError(f"'{d.key}' with no extension before it in "
                                              f"context '{context.name}'", d.source)
                last_priority = self._add_line(context, last_name, d.value, last_priority, d)
            elif key == "exten":
                raw_name, rest = split_exten_name(d.value)
                last_name = self._expand_globals(raw_name.strip(), d.source)
                if not last_name:
                    raise DialplanSyntaxError("extension name is empty", d.source)
                last_priority = self._add_line(context, last_name, rest, last_priority, d)
            elif key == "include":
                target, _, timespec = self._expand_globals(d.value, d.source).partition(",")
                if timespec:
                    self.notes.append(f"{d.source}: time condition '{timespec}' on include "
                                      f"'{target.strip()}' is treated as always true")
                context.includes.append(target.strip())
            elif key in _IGNORED_KEYS:
                self.notes.append(f"{d.source}: '{d.key} => {d.value}' ignored by the simulator")
            else:
                raise DialplanSyntaxError(f"unknown directive '{d.key}' in context "
                                          f"'{context.name}'", d.source)

    def _add_line(self, context: Context, name: str, rest: str, last_priority: int | None,
                  d: Directive) -> int:
        exten_name, _, callerid = name.partition("/")
        cid = shrink_callerid(callerid) if "/" in name else None
        if cid is not None:
            self.notes.append(f"{d.source}: extension '{name}' matches on caller id")
        priority_text, _, app_text = rest.partition(",")
        priority_text = priority_text.strip()
        label = None
        if "(" in priority_text:
            priority_text, _, label_text = priority_text.partition("(")
            if ")" not in label_text:
                raise DialplanSyntaxError(f"label missing trailing ')' in '{rest}'", d.source)
            label = label_text[:label_text.index(")")]
            priority_text = priority_text.strip()
        priority_text, plus, offset_text = priority_text.partition("+")
        ext = context.extension(exten_name, cid, d.source)
        priority = self._priority(priority_text, ext, last_priority, d)
        if plus:
            m = _SCANF_INT.match(offset_text)
            priority += int(m.group(1)) if m else 0
        if priority == PRIORITY_HINT:
            if ext.hint is not None:
                raise DialplanSyntaxError(f"extension '{name}' in '{context.name}' already has a "
                                          f"hint (at {ext.hint_source})", d.source)
            ext.hint, ext.hint_source = app_text.strip(), d.source
            return priority
        if priority < 1:
            raise DialplanSyntaxError(f"invalid priority '{priority_text}' (after a hint, 'n' "
                                      f"and 's' have no number to follow)", d.source)
        if priority in ext.steps:
            raise DialplanSyntaxError(f"extension '{name}' in '{context.name}' already has "
                                      f"priority {priority} (at {ext.steps[priority].source})", d.source)
        if label is not None and label in ext.labels:
            raise DialplanSyntaxError(f"label '{label}' already used in extension '{name}' of "
                                      f"'{context.name}' (priority {ext.labels[label]})", d.source)
        if exten_name in ("_.", "_!"):
            self.notes.append(f"{d.source}: extension '{exten_name}' is strongly discouraged, "
                              f"use '_X{exten_name[1]}'")
        app, data = split_application(app_text, d.source)
        ext.steps[priority] = Step(context.name, exten_name, priority, label or None, app, data, d.source)
        if label:
            ext.labels[label] = priority
        return priority

    @staticmethod
    def _priority(text: str, ext: Extension, last_priority: int | None, d: Directive) -> int:
        if text == "hint":
            return PRIORITY_HINT
        if text in ("n", "next", "s", "same"):
            if last_priority is None:
                raise DialplanSyntaxError(f"can't use '{text}' priority on the first entry of "
                                          f"the context", d.source)
            return last_priority + 1 if text in ("n", "next") else last_priority
        m = _SCANF_INT.match(text)
        if m:
            return int(m.group(1))
        if text in ext.labels:
            return ext.labels[text]
        raise DialplanSyntaxError(f"invalid priority/label '{text}'", d.source)
