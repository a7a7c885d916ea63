"""AMI users as ``manager.conf`` declares them: secret, read/write classes, ACL, event filters.

``parse_manager_conf(text)`` reads the Asterisk file format (``[section]``, ``key = value``,
``;`` comments) into a :class:`ManagerConfig`: the ``[general]`` settings the server uses and
one :class:`Account` per other section. Only what the simulator acts on is kept; other keys
(``writetimeout``, ``displayconnects``...) are accepted and ignored.

ACL rules follow ``acl.c``: ``deny``/``permit`` lines are applied in order, the last one that
matches the address wins, and an address no rule matches is allowed. Event filters follow the
legacy ``eventfilter = [!]regex`` form: ``!`` excludes, anything else includes, and the
pattern is searched in the whole event text (``manager.c:match_filter``).
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path

from . import privileges


class ManagerConfigError(ValueError):
    """A manager.conf line that cannot be understood."""


@dataclass(frozen=True)
class AclRule:
    permit: bool
    network: ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class EventFilter:
    """One legacy ``eventfilter``: a regex searched in the event text; ``exclude`` if ``!``."""

    pattern: re.Pattern[str]
    exclude: bool

    @classmethod
    def parse(cls, text: str) -> "EventFilter":
        exclude = text.startswith("!")
        source = text[1:] if exclude else text
        try:
            return cls(re.compile(source), exclude)
        except re.error as exc:
            raise ManagerConfigError(f"bad eventfilter regex {text!r}: {exc}") from exc

    def matches(self, event_text: str) -> bool:
        return self.pattern.search(event_text) is not None


def filters_pass(filters: tuple[EventFilter, ...], event_text: str) -> bool:
    """Whether an event passes a session's filters (``manager.c:match_filter``).

    No filters: everything passes. Only includes: an include must match. Only excludes: no
    exclude may match. Both: an include must match and then no exclude.
    """
    if not filters:
        return True
    includes = [f for f in filters if not f.exclude]
    excludes = [f for f in filters if f.exclude]
    if includes and not any(f.matches(event_text) for f in includes):
        return False
    return not any(f.matches(event_text) for f in excludes)


@dataclass(frozen=True)
class Account:
    username: str
    secret: str | None
    read: int = 0
    write: int = 0
    acl: tuple[AclRule, ...] = ()
    eventfilters: tuple[EventFilter, ...] = ()

    def allows(self, address: str) -> bool:
        """Whether the ACL lets a client connect from ``address`` (an IP, no port)."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return not self.acl
        allowed = True
        for rule in self.acl:
            if ip.version == rule.network.version and ip in rule.network:
                allowed = rule.permit
        return allowed


@dataclass(frozen=True)
class ManagerConfig:
    accounts: dict[str, Account] = field(default_factory=dict)
    port: int = 5038
    bindaddr: str = "0.0.0.0"
    authtimeout: float = 30.0
    timestampevents: bool = False

    def account(self, username: str) -> Account | None:
        return self.accounts.get(username)


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError as exc:
        raise ManagerConfigError(f"bad ACL network {text!r}") from exc


def _sections(text: str) -> list[tuple[str, list[tuple[str, str]]]]:
    sections: list[tuple[str, list[tuple[str, str]]]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            end = line.find("]")
            if end < 0:
                raise ManagerConfigError(f"line {number}: unterminated section {raw!r}")
            sections.append((line[1:end].strip(), []))
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ManagerConfigError(f"line {number}: expected 'key = value', got {raw!r}")
        if not sections:
            raise ManagerConfigError(f"line {number}: setting outside any section")
        sections[-1][1].append((key.strip().lstrip(">").strip().lower(),
                                value.strip().lstrip(">").strip()))
    return sections


def parse_manager_conf(text: str) -> ManagerConfig:
    general: dict[str, str] = {}
    accounts: dict[str, Account] = {}
    for name, pairs in _sections(text):
        if name.lower() == "general":
            general.update(pairs)
            continue
        secret: str | None = None
        read = write = 0
        acl: list[AclRule] = []
        filters: list[EventFilter] = []
        for key, value in pairs:
            if key == "secret":
                secret = value
            elif key == "read":
                read = privileges.classes_to_mask(value)
            elif key == "write":
                write = privileges.classes_to_mask(value)
            elif key in ("permit", "deny"):
                acl.append(AclRule(key == "permit", _network(value)))
            elif key == "eventfilter":
                filters.append(EventFilter.parse(value))
            elif key.startswith("eventfilter("):
                raise ManagerConfigError(
                    f"[{name}]: advanced 'eventfilter(...)' filters are not simulated; "
                    "use the legacy 'eventfilter = [!]regex' form")
        accounts[name] = Account(name, secret, read, write, tuple(acl), tuple(filters))
    return ManagerConfig(
        accounts=accounts,
        port=int(general.get("port", "5038")),
        bindaddr=general.get("bindaddr", "0.0.0.0"),
        authtimeout=float(general.get("authtimeout", "30")),
        timestampevents=general.get("timestampevents", "no").lower() in ("yes", "true", "on", "1"),
    )


def load_manager_conf(path: str | Path) -> ManagerConfig:
    return parse_manager_conf(Path(path).read_text(encoding="utf-8"))
