"""Sans-IO AMI framing: bytes off the socket in; banner, messages and protocol errors out.

``AMIParser.feed(data)`` takes whatever one ``recv()`` returned and gives back the items that are
now complete, keeping the unfinished remainder for the next call:

* ``Banner`` -- the single line Asterisk greets a client with (``Asterisk Call Manager/11.0.0``).
  Only when the parser was built with ``expect_banner=True`` (the client side); the simulator's
  server reads actions with ``expect_banner=False``.
* ``Message`` -- one block of ``Name: value`` lines ended by a blank line, headers in wire order,
  repeated headers kept (``Output:`` of ``Command``).
* ``ProtocolError`` -- a block that could not be read (a line with no header name and colon, a
  block over ``max_block`` bytes). It is reported, never raised: ``feed`` does not raise on any
  input, and the parser carries on with the next block.

What the wire really holds (see ``tests/fixtures/asterisk-captures``):

* Lines end in ``\\r\\n``; a bare ``\\n`` is accepted as a line end too. ``PJSIPShowContacts``
  with no contacts sends ``Message: No Contacts found\\n\\r\\n\\r\\n``: the stray ``\\n`` ends the
  last line, the next ``\\r\\n`` ends the block, and the one after is an empty line between blocks,
  which carries nothing. The message keeps ``No Contacts found``.
* A header is split at its first colon, and one space after the colon is dropped (Asterisk's
  own reader also takes ``Name:value``). The name must be one printable word. The rest of the
  value is kept exactly, trailing spaces included (``Output:    Members: ``), and may be empty
  (``Value: ``).
* Text is decoded only once a block is complete, so a UTF-8 character split across two reads is
  never lost. A block that is not valid UTF-8 is decoded line by line, and a line that is not
  UTF-8 falls back to latin-1: a stray byte never costs a message.

For speed, all the complete blocks of one read are decoded and split in one go when they are
clean (valid UTF-8, well-formed headers: the normal case); anything else is read block by
block, which decides errors exactly. Both ways give the same items (``bulk=False`` forces the
second, for tests).

Phases: ``BANNER`` (first line, client side only) -> ``BLOCK``; ``BLOCK`` -> ``DISCARD`` when a
block grows past ``max_block``; ``DISCARD`` -> ``BLOCK`` at the next blank line, which is where
the parser finds its footing again. The outcome does not depend on how the bytes were chunked.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Union

from cti.protocol.ami_message import Message

__all__ = ["AMIParser", "Banner", "Item", "ProtocolError", "DEFAULT_MAX_BLOCK", "RAW_LIMIT"]

DEFAULT_MAX_BLOCK = 1 << 20
"""Largest block accepted, in bytes (those before the LF that ends its last line). Asterisk's
biggest replies (a ``DeviceStateChange`` dump, ``Command`` output) come as many small blocks; a
single block this large is garbage."""

RAW_LIMIT = 4096
"""At most this many bytes of an oversize block are kept in its ``ProtocolError.raw``."""

_NAMES_KEPT = 4096  # bound on the per-parser memo of header names already checked
_LF = 0x0A
_CR = 0x0D
_BLANK_LINE = re.compile(rb"\n\r?\n")  # the end of a line, then an empty line
_VERSION = re.compile(r"/\s*(\d[^\s/]*)\s*$")


@dataclass(frozen=True, slots=True)
class Banner:
    """The greeting line, e.g. ``Asterisk Call Manager/11.0.0`` (version ``11.0.0``)."""

    text: str
    version: str | None


@dataclass(frozen=True, slots=True)
class ProtocolError:
    """A block that could not be read; ``raw`` holds its bytes (if it was oversize, only its
    first ``min(RAW_LIMIT, max_block)``)."""

    reason: str
    raw: bytes


Item = Union[Banner, Message, ProtocolError]


class _Phase(enum.Enum):
    BANNER = "banner"
    BLOCK = "block"
    DISCARD = "discard"


class AMIParser:
    """Incremental AMI reader; one per connection and direction."""

    def __init__(self, expect_banner: bool = True, max_block: int = DEFAULT_MAX_BLOCK, *,
                 bulk: bool = True) -> None:
        """``bulk=False`` reads strictly block by block: the same items, only slower (the
        reference the bulk read is tested against)."""
        if max_block < 1:
            raise ValueError("max_block must be a positive number of bytes")
        self._max_block = max_block
        self._phase = _Phase.BANNER if expect_banner else _Phase.BLOCK
        self._buf = bytearray()
        # No line end starts before this offset of _buf: the search resumes here.
        self._scan = 0
        # Header names already checked; Asterisk uses a few hundred, so the check is a lookup.
        self._names: set[str] = set()
        self._bulk = bulk  # read all complete blocks of a feed at once when they are clean

    @property
    def buffered(self) -> int:
        """Bytes held back, waiting for the rest of their block."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Item]:
        """Take the next bytes of the stream; return the items they completed, in order."""
        if not data:
            return []
        buf = self._buf
        buf += data
        out: list[Item] = []
        pos, scan, n = 0, self._scan, len(buf)
        bulk = self._bulk
        while pos < n:
            phase = self._phase
            if phase is _Phase.BLOCK:
                pos = _skip_blank_lines(buf, pos, n)
                if pos >= n or (buf[pos] == _CR and pos + 1 >= n):
                    break  # nothing, or a lone CR whose next byte decides what it is
                if bulk:
                    bulk = False  # one try per feed: a region with a bad block goes block by block
                    end = _end_of_last_blank_line(buf, pos)
                    if end and end - pos <= self._max_block:
                        messages = self._read_clean_region(buf[pos:end])
                        if messages is not None:
                            out += messages
                            pos = end
                            scan = max(pos, n - 2)
                            continue
                match = _BLANK_LINE.search(buf, max(pos, scan))
                if match is None:
                    scan = max(pos, n - 2)
                    if n - pos > self._max_block + 2:  # 2: a partial terminator "\n\r"
                        out.append(self._oversize(buf, pos))
                        self._phase = _Phase.DISCARD
                        continue  # drop what is held now, not at the next read
                    break
                end = match.start() + 1  # keep the last line's LF inside the block
                if end - 1 - pos > self._max_block:
                    out.append(self._oversize(buf, pos))
                else:
                    out.append(self._read_block(bytes(buf[pos:end])))
                pos = match.end()
            elif phase is _Phase.DISCARD:
                match = _BLANK_LINE.search(buf, max(pos, scan))
                if match is None:
                    pos = scan = max(pos, n - 2)
                    break
                pos = match.end()
                self._phase = _Phase.BLOCK
            else:  # _Phase.BANNER
                eol = buf.find(b"\n", max(pos, scan))
                if eol < 0:
                    if n - pos > self._max_block:
                        out.append(self._oversize(buf, pos, "banner line"))
                        self._phase = _Phase.DISCARD
                    scan = n
                    break
                if eol - pos > self._max_block:
                    out.append(self._oversize(buf, pos, "banner line"))
                    self._phase = _Phase.DISCARD
                    continue  # the blank line that ends the discard may start at this LF
                out.append(_parse_banner(bytes(buf[pos:eol])))
                pos = eol + 1
                self._phase = _Phase.BLOCK
        if pos:
            del buf[:pos]
        self._scan = max(scan - pos, 0)
        return out

    def close(self) -> list[Item]:
        """The stream has ended: report an unfinished block, if any, and reset."""
        rest = bytes(self._buf)
        phase = self._phase
        self._buf.clear()
        self._scan = 0
        if phase is _Phase.DISCARD or not rest.strip(b"\r\n"):
            return []
        what = "banner line" if phase is _Phase.BANNER else "block"
        return [ProtocolError(f"stream ended inside a {what}", rest[:RAW_LIMIT])]

    def _read_clean_region(self, region: bytearray) -> list[Message] | None:
        """Every block of a region that ends at a blank line, or None if any of them is not
        clean UTF-8 with well-formed headers (then the exact block-by-block path decides).

        The same result as block by block: two LFs in a row once each CRLF became LF are
        exactly a blank line in the bytes, and UTF-8 valid as a whole is valid in every block.
        """
        try:
            text = region.decode("utf-8")
        except UnicodeDecodeError:
            return None
        messages = []
        for block in text.replace("\r\n", "\n").split("\n\n"):
            if block[:1] == "\n":
                block = block.lstrip("\n")  # more blank lines between two blocks
            if block:
                headers = self._headers(block.split("\n"))
                if headers is None:
                    return None
                messages.append(Message(headers))
        return messages

    def _read_block(self, block: bytes) -> Message | ProtocolError:
        """One block, every line ended by LF (CR before it optional)."""
        try:
            lines = block.decode("utf-8").replace("\r\n", "\n")[:-1].split("\n")
        except UnicodeDecodeError:
            lines = [_decode(line[:-1] if line.endswith(b"\r") else line)
                     for line in block[:-1].split(b"\n")]
        headers = self._headers(lines)
        if headers is None:
            bad = next(line for line in lines if not _is_header(line))
            return ProtocolError(f"not a 'Name: value' header line: {bad[:80]!r}", block)
        return Message(headers)

    def _headers(self, lines: list[str]) -> tuple[tuple[str, str], ...] | None:
        """``Name: value`` lines -> header pairs; None if a line is not a header."""
        names = self._names
        headers = []
        append = headers.append
        for line in lines:
            name, colon, value = line.partition(":")
            if not colon or name not in names:
                if not colon or not _is_name(name):
                    return None
                if len(names) < _NAMES_KEPT:
                    names.add(name)
            if value[:1] == " ":
                value = value[1:]
            append((name, value))
        return tuple(headers)

    def _oversize(self, buf: bytearray, pos: int, what: str = "block") -> ProtocolError:
        # Only the head that is surely inside the block, however the bytes were chunked.
        head = min(RAW_LIMIT, self._max_block)
        return ProtocolError(f"{what} longer than {self._max_block} bytes",
                             bytes(buf[pos:pos + head]))


def _skip_blank_lines(buf: bytearray, pos: int, n: int) -> int:
    """Step over empty lines between blocks; stop at content or at a CR not yet followed."""
    while pos < n:
        byte = buf[pos]
        if byte == _LF:
            pos += 1
        elif byte == _CR and pos + 1 < n and buf[pos + 1] == _LF:
            pos += 2
        else:
            break
    return pos


def _end_of_last_blank_line(buf: bytearray, pos: int) -> int:
    """Offset just past the last ``\\n\\r?\\n`` at or after pos; 0 if there is none."""
    crlf = buf.rfind(b"\n\r\n", pos)
    lf = buf.rfind(b"\n\n", pos)
    return max(crlf + 3 if crlf >= 0 else 0, lf + 2 if lf >= 0 else 0)


def _parse_banner(line: bytes) -> Banner:
    text = _decode(line[:-1] if line.endswith(b"\r") else line)
    match = _VERSION.search(text)
    return Banner(text, match.group(1) if match else None)


def _is_name(name: str) -> bool:
    """A header name is one printable word: no space, tab, CR or other control."""
    return bool(name) and " " not in name and name.isprintable()


def _is_header(line: str) -> bool:
    name, colon, _ = line.partition(":")
    return bool(colon) and _is_name(name)


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")
