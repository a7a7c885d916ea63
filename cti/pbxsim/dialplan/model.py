"""What a loaded dialplan is made of: steps, extensions and contexts.

A :class:`Context` keeps its extensions in Asterisk's order (plain names first, then patterns by
specificity; a caller-id-matched variant before the plain one of the same name) and answers
"which extensions match this number, best first" with a dict lookup for plain names plus a scan
of the patterns, cached per number.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .patterns import NameMatcher, normalize_exten, sort_key

PRIORITY_HINT = -1
_CACHE_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class Step:
    """One priority of one extension: ``exten => <exten>,<priority>(<label>),<app>(<data>)``.

    ``context`` is where the step is written (an included context when found through
    ``include =>``), ``exten`` the extension's name as written (``_1XXX`` for a pattern),
    ``data`` the raw, unsubstituted application data, ``source`` ``file:line``.
    """

    context: str
    exten: str
    priority: int
    label: str | None
    app: str
    data: str
    source: str


@dataclass(slots=True)
class Extension:
    """All priorities of one extension name (and caller-id match, if any) in one context."""

    context: str
    name: str
    callerid: str | None
    source: str
    matcher: NameMatcher
    callerid_matcher: NameMatcher | None
    steps: dict[int, Step] = field(default_factory=dict)
    labels: dict[str, int] = field(default_factory=dict)
    hint: str | None = None
    hint_source: str | None = None

    def matches(self, exten: str, callerid: str | None) -> bool:
        if not self.matcher.matches(exten):
            return False
        if self.callerid_matcher is None:
            return True
        if not callerid:
            return not self.callerid  # an empty caller-id pattern matches "no caller id"
        return self.callerid_matcher.matches(callerid)

    def order(self) -> tuple:
        """Asterisk's sort position: name, then caller-id variants before the plain one."""
        if self.callerid is None:
            return (sort_key(self.name), 1, ())
        return (sort_key(self.name), 0, sort_key(self.callerid))

    def last_priority(self) -> int | None:
        return max(self.steps) if self.steps else None


class Context:
    """A ``[context]``: its extensions, its ``include =>`` list, and the lookup of a number."""

    def __init__(self, name: str, source: str) -> None:
        self.name = name
        self.source = source
        self.includes: list[str] = []
        self._by_key: dict[tuple[str, str | None], Extension] = {}
        self._exact: dict[str, list[Extension]] = {}
        self._patterns: list[Extension] = []
        self._has_callerid = False
        self._cache: dict[tuple[str, str | None], tuple[Extension, ...]] = {}

    @property
    def extensions(self) -> list[Extension]:
        """Every extension, in the order Asterisk tries them."""
        plain = [e for variants in self._exact.values() for e in variants]
        return sorted(plain, key=Extension.order) + list(self._patterns)

    def extension(self, name: str, callerid: str | None, source: str) -> Extension:
        """The extension ``name`` (+ caller-id match), created on first use."""
        key_name = name if name.startswith("_") else normalize_exten(name)
        key = (key_name, callerid)
        found = self._by_key.get(key)
        if found is not None:
            return found
        ext = Extension(
            context=self.name, name=name, callerid=callerid, source=source,
            matcher=NameMatcher.for_name(name, source),
            callerid_matcher=NameMatcher.for_name(callerid, source) if callerid is not None else None,
        )
        self._by_key[key] = ext
        if ext.matcher.is_pattern:
            self._patterns.append(ext)
            self._patterns.sort(key=Extension.order)
        else:
            variants = self._exact.setdefault(key_name, [])
            variants.append(ext)
            variants.sort(key=Extension.order)
        self._has_callerid = self._has_callerid or callerid is not None
        self._cache.clear()
        return ext

    def find_extension(self, name: str, callerid: str | None) -> Extension | None:
        """The extension registered under exactly this name (not a pattern match)."""
        key_name = name if name.startswith("_") else normalize_exten(name)
        return self._by_key.get((key_name, callerid))

    def candidates(self, exten: str, callerid: str | None = None) -> tuple[Extension, ...]:
        """Extensions matching ``exten`` (and ``callerid``), best match first."""
        key = (exten, callerid if self._has_callerid else None)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        found = [e for e in self._exact.get(normalize_exten(exten), ()) if e.matches(exten, callerid)]
        found.extend(e for e in self._patterns if e.matches(exten, callerid))
        result = tuple(found)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = result
        return result
