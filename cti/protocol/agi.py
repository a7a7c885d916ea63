"""FastAGI wire format, sans-IO, in both directions: bytes in, objects out.

ctid's side (:class:`AGIServerParser`) reads what Asterisk sends on a FastAGI connection:

1. the environment block, ``agi_name: value`` lines ended by an empty line, as one
   :class:`Environment`;
2. then one reply per command sent: ``200 result=<r> [(data)] [endpos=N]`` as :class:`Result`;
   ``510``/``511`` one-liners as :class:`Result` with their code; the multi-line ``520-`` usage
   reply (ended by ``520 End of proper usage.``) as *one* :class:`Result` whose ``data`` is the
   usage text;
3. unsolicited ``HANGUP`` lines, which Asterisk writes after the reply of the command the hangup
   interrupted and again when the session ends, as :class:`HangupNotice`.

Lines end with a bare ``\\n`` (``\\r\\n`` is tolerated). Bytes may be split anywhere across reads.
Malformed input never raises: it becomes a :class:`ProtocolError` item, and the parser goes on.

:func:`format_command` writes one command line with Asterisk's quoting rules, and refuses
arguments that would smuggle a second command in (newline, NUL).

The Asterisk side (:func:`encode_environment`, :func:`encode_result`, :func:`encode_usage`,
:class:`AGICommandParser`) is here for the PBX simulator and the benchmarks, so both ends of the
wire share one definition of it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Union

from cti.agi_errors import AGIArgumentError

#: Asterisk reads command lines into a buffer of this size (``AGI_BUF_LEN`` in res_agi.c).
AGI_BUF_LEN = 2048
#: ``MAX_ARGS`` in res_agi.c: at most this many words minus one are kept.
MAX_ARGS = 128
#: A line longer than this is not AGI; it is reported and skipped (bounds our memory).
MAX_LINE = 64 * 1024
#: Environment variables and usage lines beyond these counts are reported and dropped.
MAX_ENV_VARS = 512
MAX_USAGE_LINES = 512

HANGUP_NOTICE = b"HANGUP\n"
INVALID_COMMAND = b"510 Invalid or unknown command\n"
DEAD_CHANNEL = b"511 Command Not Permitted on a dead channel or intercept routine\n"
USAGE_BEGIN = "520-Invalid command syntax.  Proper usage follows:"
USAGE_END = "520 End of proper usage."


# -- items ---------------------------------------------------------------------------------------
class Environment(dict):
    """The ``agi_*`` variables Asterisk sends first, keyed as on the wire (``agi_uniqueid``)."""

    @property
    def network_script(self) -> str:
        """The path part of ``agi://host[:port]/script`` (``agi_network_script``)."""
        return self.get("agi_network_script", "")

    @property
    def args(self) -> list[str]:
        """``agi_arg_1`` .. ``agi_arg_N`` in order, stopping at the first gap."""
        found = []
        n = 1
        while f"agi_arg_{n}" in self:
            found.append(self[f"agi_arg_{n}"])
            n += 1
        return found

    @property
    def uniqueid(self) -> str | None:
        return self.get("agi_uniqueid")

    @property
    def channel(self) -> str | None:
        return self.get("agi_channel")


@dataclass(frozen=True, slots=True)
class Result:
    """One reply to one command.

    ``code`` is 200 for a command that ran; then ``result`` is the text after ``result=`` (an
    empty string for ``GET DATA`` with no input), ``data`` the text in parentheses if any,
    ``endpos`` the ``endpos=`` sample offset if any. For 510/511 ``data`` is Asterisk's message;
    for 520 it is the usage text (lines joined with ``\\n``). ``raw`` is the reply's exact bytes.
    """

    code: int
    result: str | None
    data: str | None
    endpos: int | None
    raw: bytes

    @property
    def ok(self) -> bool:
        return self.code == 200

    @property
    def number(self) -> int | None:
        """``result`` as an integer, or None when it is empty or not a number."""
        try:
            return int(self.result)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None


@dataclass(frozen=True, slots=True)
class HangupNotice:
    """An unsolicited ``HANGUP`` line: the channel hung up (or left the AGI: see fastagi)."""

    raw: bytes = HANGUP_NOTICE


@dataclass(frozen=True, slots=True)
class ProtocolError:
    """Bytes that are not AGI. Reported as an item, never raised; the parser carries on."""

    reason: str
    raw: bytes


ServerItem = Union[Environment, Result, HangupNotice, ProtocolError]


@dataclass(frozen=True, slots=True)
class Command:
    """One command line as Asterisk splits it (see :func:`split_words`)."""

    words: tuple[str, ...]
    raw: bytes


# -- line splitting shared by both parsers --------------------------------------------------------
class _LineBuffer:
    """Cuts a byte stream into lines, bounding memory: over-long lines are reported and dropped.

    Each byte is scanned once, so a peer trickling a long line byte by byte costs linear time.
    """

    __slots__ = ("_buffer", "_skipping")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._skipping = False

    def feed(self, data: bytes) -> list[tuple[bytes | None, bytes]]:
        """``(line, raw)`` per complete line; ``line`` is None for an over-long line."""
        lines: list[tuple[bytes | None, bytes]] = []
        buffer = self._buffer
        start = 0
        scan_from = len(buffer)
        buffer += data
        while True:
            end = buffer.find(b"\n", max(start, scan_from))
            if end < 0:
                break
            raw = bytes(buffer[start:end + 1])
            start = end + 1
            if self._skipping:
                self._skipping = False
            elif len(raw) > MAX_LINE:
                lines.append((None, raw[:MAX_LINE]))
            else:
                lines.append((raw[:-1].removesuffix(b"\r"), raw))
        del buffer[:start]
        if not self._skipping and len(buffer) > MAX_LINE:
            lines.append((None, bytes(buffer[:MAX_LINE])))
            self._skipping = True
        if self._skipping:
            buffer.clear()
        return lines

    @property
    def pending(self) -> bytes:
        return bytes(self._buffer)


def _text(line: bytes) -> str:
    return line.decode("utf-8", "replace")


# -- ctid's side: what Asterisk sends -------------------------------------------------------------
ENVIRONMENT, RESULTS, USAGE = "environment", "results", "usage"

_ENV_LINE = re.compile(r"(agi_[A-Za-z0-9_]+):(?: (.*))?")
_REPLY_LINE = re.compile(r"([1-9][0-9]{2}) (.*)")
_RESULT_200 = re.compile(r"200 result=(\S*)(?: (.*))?")
_DATA_ENDPOS = re.compile(r"\((.*)\)(?:\s+endpos=(-?\d+))?")
_ENDPOS_ONLY = re.compile(r"endpos=(-?\d+)")
_ENDPOS_ANYWHERE = re.compile(r"(?:^|\s)endpos=(-?\d+)")


class AGIServerParser:
    """Asterisk → ctid. ``feed(bytes)`` returns the items completed by those bytes.

    The states and what moves between them, as a table (state, kind of line) → (handler, next):
    """

    _TRANSITIONS = {
        (ENVIRONMENT, "variable"): ("_on_variable", ENVIRONMENT),
        (ENVIRONMENT, "blank"): ("_on_environment_end", RESULTS),
        (ENVIRONMENT, "other"): ("_on_malformed", ENVIRONMENT),
        (RESULTS, "hangup"): ("_on_hangup", RESULTS),
        (RESULTS, "reply"): ("_on_reply", RESULTS),
        (RESULTS, "usage-begin"): ("_on_usage_begin", USAGE),
        (RESULTS, "other"): ("_on_malformed", RESULTS),
        (USAGE, "usage-end"): ("_on_usage_end", RESULTS),
        (USAGE, "other"): ("_on_usage_line", USAGE),
    }

    def __init__(self) -> None:
        self.state = ENVIRONMENT
        self._lines = _LineBuffer()
        self._environment = Environment()
        self._usage: list[bytes] = []
        self._items: list[ServerItem] = []

    def feed(self, data: bytes) -> list[ServerItem]:
        for line, raw in self._lines.feed(data):
            if line is None:
                self._items.append(ProtocolError(f"line longer than {MAX_LINE} bytes", raw))
                continue
            kind = self._classify(line)
            handler, next_state = self._TRANSITIONS[(self.state, kind)]
            getattr(self, handler)(line, raw)
            self.state = next_state
        items, self._items = self._items, []
        return items

    @property
    def pending(self) -> bytes:
        """Bytes of an unfinished line (for a caller that wants to report a truncated stream)."""
        return self._lines.pending

    def _classify(self, line: bytes) -> str:
        if self.state == ENVIRONMENT:
            if not line:
                return "blank"
            return "variable" if line.startswith(b"agi_") else "other"
        if self.state == USAGE:
            return "usage-end" if line.startswith(b"520 ") else "other"
        if line == b"HANGUP":
            return "hangup"
        if line.startswith(b"520-"):
            return "usage-begin"
        return "reply" if line[:1].isdigit() else "other"

    # -- handlers ----------------------------------------------------------------------------
    def _on_variable(self, line: bytes, raw: bytes) -> None:
        match = _ENV_LINE.fullmatch(_text(line))
        if match is None:
            self._items.append(ProtocolError("malformed environment line", raw))
        elif len(self._environment) >= MAX_ENV_VARS:
            self._items.append(ProtocolError("too many environment variables", raw))
        else:
            self._environment[match.group(1)] = match.group(2) or ""

    def _on_environment_end(self, line: bytes, raw: bytes) -> None:
        self._items.append(self._environment)
        self._environment = Environment()

    def _on_malformed(self, line: bytes, raw: bytes) -> None:
        where = "environment" if self.state == ENVIRONMENT else "reply"
        self._items.append(ProtocolError(f"not an AGI {where} line", raw))

    def _on_hangup(self, line: bytes, raw: bytes) -> None:
        self._items.append(HangupNotice(raw))

    def _on_reply(self, line: bytes, raw: bytes) -> None:
        text = _text(line)
        if text.startswith("200 "):
            item = _parse_200(text, raw)
        else:
            match = _REPLY_LINE.fullmatch(text)
            item = (Result(int(match.group(1)), None, match.group(2), None, raw) if match
                    else ProtocolError("malformed reply line", raw))
        self._items.append(item)

    def _on_usage_begin(self, line: bytes, raw: bytes) -> None:
        self._usage = [raw]

    def _on_usage_line(self, line: bytes, raw: bytes) -> None:
        if len(self._usage) > MAX_USAGE_LINES:
            self._items.append(ProtocolError("520 usage reply too long", raw))
            return
        self._usage.append(raw)

    def _on_usage_end(self, line: bytes, raw: bytes) -> None:
        block = self._usage + [raw]
        text = "\n".join(_text(r.rstrip(b"\n").removesuffix(b"\r")) for r in self._usage[1:])
        self._items.append(Result(520, None, text, None, b"".join(block)))
        self._usage = []


def _parse_200(text: str, raw: bytes) -> Result | ProtocolError:
    match = _RESULT_200.fullmatch(text)
    if match is None:
        return ProtocolError("200 reply without result=", raw)
    result, rest = match.group(1), (match.group(2) or "").strip()
    data = endpos = None
    if rest:
        with_data = _DATA_ENDPOS.fullmatch(rest)
        only_endpos = _ENDPOS_ONLY.fullmatch(rest)
        if with_data:
            data = with_data.group(1)
            endpos = int(with_data.group(2)) if with_data.group(2) is not None else None
        elif only_endpos:
            endpos = int(only_endpos.group(1))
        else:  # e.g. SPEECH RECOGNIZE's extra fields: keep what is certain, the rest is in raw
            anywhere = _ENDPOS_ANYWHERE.search(rest)
            endpos = int(anywhere.group(1)) if anywhere else None
    return Result(200, result, data, endpos, raw)


# -- commands: ctid → Asterisk --------------------------------------------------------------------
class Quoted(str):
    """A command word always sent in double quotes (e.g. a ``SET VARIABLE`` value)."""

    __slots__ = ()


_NEEDS_QUOTES = re.compile(r'[\s"\\]')
_FORBIDDEN = re.compile(r"[\r\n\x00]")


def quote(word: str, always: bool = False) -> str:
    """One word as Asterisk's ``parse_args`` reads it back: quoted if empty or if it holds
    whitespace, ``"`` or ``\\`` (escaped with a backslash inside the quotes)."""
    if not always and word and not _NEEDS_QUOTES.search(word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_command(*words: object) -> bytes:
    """One AGI command line, ``\\n``-terminated, e.g. ``format_command("SET", "VARIABLE",
    "ACD_TARGET", Quoted("Local/1001@agents"))`` → ``SET VARIABLE ACD_TARGET "Local/1001@agents"``.

    Raises :class:`AGIArgumentError` for a word holding CR, LF or NUL (it would end the command
    and start another: command injection), for a word that is not text or a number, for an empty
    command, and for a line Asterisk could not read whole.
    """
    if not words or words[0] in ("", None):
        raise AGIArgumentError("empty AGI command")
    if len(words) >= MAX_ARGS:
        raise AGIArgumentError(f"{len(words)} words: Asterisk keeps at most {MAX_ARGS - 1}")
    parts = []
    for word in words:
        if isinstance(word, bool) or not isinstance(word, (str, int)):
            raise AGIArgumentError(f"AGI argument must be text or an integer, not {word!r}")
        text = word if isinstance(word, str) else str(word)
        if _FORBIDDEN.search(text):
            raise AGIArgumentError(f"AGI argument holds CR, LF or NUL: {text!r}")
        parts.append(quote(text, always=isinstance(word, Quoted)))
    line = (" ".join(parts) + "\n").encode("utf-8")
    if len(line) >= AGI_BUF_LEN:
        raise AGIArgumentError(f"AGI command of {len(line)} bytes: Asterisk reads {AGI_BUF_LEN - 1}")
    return line


# -- the Asterisk side, for the PBX simulator --------------------------------------------------------
def split_words(line: str) -> tuple[str, ...]:
    """Split a command line exactly as res_agi.c's ``parse_args`` does: words separated by
    spaces or tabs; ``"`` toggles quoting (a quote after whitespace starts a word, so ``""``
    is an empty word); a backslash makes the next character literal."""
    words: list[str] = []
    current: list[str] | None = None
    quoted = escaped = False
    for char in line:
        if char == '"' and not escaped:
            quoted = not quoted
            if quoted and current is None:
                current = []
                words.append("")
        elif char in " \t" and not quoted and not escaped:
            if current is not None:
                words[-1] = "".join(current)
                current = None
        elif char == "\\" and not escaped:
            escaped = True
            continue
        else:
            if current is None:
                current = []
                words.append("")
            current.append(char)
        escaped = False
    if current is not None:
        words[-1] = "".join(current)
    return tuple(words[:MAX_ARGS - 1])


class AGICommandParser:
    """ctid → Asterisk: ``feed(bytes)`` returns the :class:`Command` lines completed so far.

    A blank line gives a :class:`Command` with no words (the simulator answers it as Asterisk
    would); an over-long line gives a :class:`ProtocolError`.
    """

    def __init__(self) -> None:
        self._lines = _LineBuffer()

    def feed(self, data: bytes) -> list[Command | ProtocolError]:
        commands: list[Command | ProtocolError] = []
        for line, raw in self._lines.feed(data):
            if line is None:
                commands.append(ProtocolError(f"line longer than {MAX_LINE} bytes", raw))
            else:
                commands.append(Command(split_words(_text(line)), raw))
        return commands


def _one_line(text: str, what: str) -> str:
    if _FORBIDDEN.search(text):
        raise ValueError(f"{what} holds CR, LF or NUL: {text!r}")
    return text


def encode_environment(env: Mapping[str, object]) -> bytes:
    """The environment block: ``agi_name: value`` lines and an empty line, in ``env``'s order."""
    lines = [f"{_one_line(str(k), 'name')}: {_one_line(str(v), 'value')}\n" for k, v in env.items()]
    return ("".join(lines) + "\n").encode("utf-8")


def encode_result(result: int | str = 0, data: str | None = None,
                  endpos: int | None = None) -> bytes:
    """A ``200`` reply: ``200 result=<result>[ (<data>)][ endpos=<endpos>]``."""
    line = f"200 result={_one_line(str(result), 'result')}"
    if data is not None:
        line += f" ({_one_line(data, 'data')})"
    if endpos is not None:
        line += f" endpos={int(endpos)}"
    return (line + "\n").encode("utf-8")


def encode_usage(usage: str) -> bytes:
    """The multi-line ``520`` reply around a command's usage text."""
    return f"{USAGE_BEGIN}\n{usage}\n{USAGE_END}\n".encode("utf-8")
