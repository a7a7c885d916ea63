"""The AMI message: an ordered list of headers, the one type every AMI layer passes around.

AMI blocks are ``Name: value`` lines ended by a blank line. Header names are matched without
regard to case (Asterisk itself does), repeated headers are kept in order (``Output:`` of the
``Command`` action, ``Variable:`` of ``Originate``), and the wire order is preserved so that the
PBX simulator can write blocks byte-for-byte as Asterisk does.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Mapping, Union

Headers = Union[Mapping[str, object], Iterable[tuple[str, object]]]

EOL = b"\r\n"


@dataclass(frozen=True, slots=True)
class Message:
    """One AMI block: a response, an event or an action."""

    headers: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, headers: Headers) -> "Message":
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        return cls(tuple((str(k), "" if v is None else str(v)) for k, v in pairs))

    # -- lookup ------------------------------------------------------------------------------
    def get(self, name: str, default: str | None = None) -> str | None:
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return default

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def getall(self, name: str) -> list[str]:
        lname = name.lower()
        return [value for key, value in self.headers if key.lower() == lname]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.headers)

    # -- what it is --------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        """``response``, ``event``, ``action`` or ``unknown``, from the first header."""
        if not self.headers:
            return "unknown"
        first = self.headers[0][0].lower()
        return first if first in ("response", "event", "action") else "unknown"

    @property
    def name(self) -> str | None:
        """The value of the first header (the event, action or response name)."""
        return self.headers[0][1] if self.headers else None

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")

    @property
    def event_list(self) -> str | None:
        """``start``, ``Complete`` (as Asterisk spells them) or None."""
        return self.get("EventList")

    def as_dict(self) -> dict[str, str]:
        """First value of each header, in wire order; repeated headers collapse to the first."""
        out: dict[str, str] = {}
        for key, value in self.headers:
            out.setdefault(key, value)
        return out

    # -- wire --------------------------------------------------------------------------------
    def encode(self) -> bytes:
        return encode(self.headers)


def encode(headers: Headers) -> bytes:
    """Serialise headers as one AMI block, ``Name: value\\r\\n`` each and a blank line.

    Values must not contain CR or LF: a header value with a line break would let a caller's
    data (a caller id, a variable) inject headers or whole actions, so it is refused.
    """
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    out = bytearray()
    for key, value in pairs:
        text = "" if value is None else str(value)
        if "\r" in key or "\n" in key or "\r" in text or "\n" in text or ":" in key:
            raise ValueError(f"AMI header {key!r} has a line break or colon in it")
        out += f"{key}: {text}".encode("utf-8") + EOL
    out += EOL
    return bytes(out)
