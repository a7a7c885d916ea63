"""Replaying real Asterisk captures against the simulator, and comparing what comes back.

The captures in ``tests/fixtures/asterisk-captures/`` are the ground truth. A conformance test
feeds the client side (``tx`` chunks of ``NAME.jsonl``) to the simulator's AMI server through
a ``StringTransport``, advancing a ``task.Clock`` by the time that passed between chunks in the
capture, then compares the blocks the simulator wrote with the ``rx`` side, message by message:
same messages, same order, same header names in the same order, same values.

Some values can never be equal between two runs of the same scenario, on Asterisk itself
either. :func:`normalise` replaces exactly those with a placeholder, on both sides, so that
everything else is compared verbatim:

* **identifiers minted at run time**: ``Uniqueid``/``Linkedid`` (and every prefixed form:
  ``DestUniqueid``, ``LocalOneLinkedid``...) are ``<epoch>.<counter>``; the 8-hex-digit
  sequence number in Local/PJSIP channel names (``Local/103@callers-00000000;1``); bridge
  ids (UUIDs); ``SessionID`` (a C pointer in Asterisk); ``Challenge`` (a random number);
  a numeric ``CommandId`` (the random id Asterisk gives each AGI command; a ``CommandId``
  the client chose, like AsyncAGI's ``cmd-1``, is kept).
  A ``<unknown>`` stays as it is: it says "no channel" and must match.
* **wall-clock times**: ``Timestamp`` (Ping), ``EventTV``/``SessionTV`` (security events),
  ``CoreStartup*``/``CoreReload*`` (dates of the PBX start), ``StartTime``/``AnswerTime``/
  ``EndTime`` (CDR).
* **elapsed times that depend on scheduling**: ``Uptime``/``LastReload`` (seconds since
  start), ``Duration`` and ``Seconds`` (channel age), ``BillableSeconds``, ``HoldTime``,
  ``TalkTime``, ``RingTime``; and the ``login was N secs ago`` of ``queue show`` output.
* **the client's TCP port** in ``RemoteAddress`` (``IPV4/TCP/127.0.0.1/47500``): the address
  is kept, the ephemeral port is not.

Nothing else is normalised: header names, their order, every other value, and message order
must match exactly. Differences the simulator keeps on purpose are listed and tested in
``docs/decisions/0003-pbxsim-conformance.md``.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from cti.protocol.ami import AMIParser, Banner, ProtocolError
from cti.protocol.ami_message import Message

CAPTURES = Path(__file__).resolve().parent.parent / "fixtures" / "asterisk-captures"
MANAGER_CONF = CAPTURES / "config" / "manager.conf"

Normalised = tuple[tuple[str, str], ...]

_UID = re.compile(r"^\d+\.\d+$")
_CHANNEL_SEQ = re.compile(r"-[0-9a-f]{8}(?=;\d|$|,|\)|/)")
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_SECS_AGO = re.compile(r"\b\d+ secs? ago\b")

_TIME_HEADERS = {"timestamp", "eventtv", "sessiontv", "corestartupdate", "corestartuptime",
                 "corereloaddate", "corereloadtime", "starttime", "answertime", "endtime"}
_ELAPSED_HEADERS = {"uptime", "lastreload", "duration", "seconds", "billableseconds",
                    "holdtime", "talktime", "ringtime"}
_ID_HEADERS = {"sessionid": "<session>", "challenge": "<challenge>"}


def normalise_value(name: str, value: str) -> str:
    """One header value with its volatile part replaced (see the module docstring)."""
    key = name.lower()
    if key in _TIME_HEADERS:
        return "<time>" if value else value
    if key in _ELAPSED_HEADERS:
        return "<elapsed>" if value else value
    if key in _ID_HEADERS:
        return _ID_HEADERS[key]
    if key == "commandid" and value.isdigit():
        return "<commandid>"
    if (key.endswith("uniqueid") or key.endswith("linkedid")) and _UID.match(value):
        return "<uid>"
    if key == "remoteaddress":
        return re.sub(r"/\d+$", "/<port>", value)
    value = _CHANNEL_SEQ.sub("-<seq>", value)
    value = _UUID.sub("<uuid>", value)
    return _SECS_AGO.sub("<n> secs ago", value)


def normalise(message: Message) -> Normalised:
    return tuple((name, normalise_value(name, value)) for name, value in message.headers)


# -- captures ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Chunk:
    t: float
    direction: str  # "rx": Asterisk -> client; "tx": client -> Asterisk
    data: bytes


def load_chunks(name: str) -> list[Chunk]:
    lines = (CAPTURES / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    return [Chunk(obj["t"], obj["dir"], obj["data"].encode("latin-1"))
            for obj in map(json.loads, filter(None, lines))]


def parse_server_stream(data: bytes) -> tuple[str | None, list[Message]]:
    """(banner text, messages) of what a server sent; a malformed block fails the test."""
    banner = None
    messages: list[Message] = []
    parser = AMIParser(expect_banner=True)
    for item in parser.feed(data) + parser.close():
        if isinstance(item, Banner):
            banner = item.text
        elif isinstance(item, ProtocolError):
            raise AssertionError(f"unreadable block from the server: {item.reason}: {item.raw!r}")
        else:
            messages.append(item)
    return banner, messages


def captured_server_messages(name: str) -> tuple[str | None, list[Message]]:
    return parse_server_stream(b"".join(c.data for c in load_chunks(name) if c.direction == "rx"))


# -- replay --------------------------------------------------------------------------------
def loopback_transport(client_port: int = 47500) -> StringTransport:
    return StringTransport(hostAddress=IPv4Address("TCP", "127.0.0.1", 5038),
                           peerAddress=IPv4Address("TCP", "127.0.0.1", client_port))


def advance(clock: Clock, seconds: float, step: float = 0.05) -> None:
    """Move the clock forward in small steps so that timers set by timers run in order."""
    while seconds > 1e-9:
        delta = min(step, seconds)
        clock.advance(delta)
        seconds -= delta


@dataclass
class Replay:
    transport: StringTransport
    protocol: object

    @property
    def sent(self) -> bytes:
        return self.transport.value()


def replay(factory, clock: Clock, name: str, settle: float = 3.0,
           before_chunk: Callable[[int, Chunk], None] | None = None) -> Replay:
    """Feed the client side of capture ``name`` to a new session of ``factory``, with the
    capture's own pacing, then let ``settle`` more seconds pass."""
    transport = loopback_transport()
    proto = factory.buildProtocol(transport.getPeer())
    proto.makeConnection(transport)
    chunks = load_chunks(name)
    previous = chunks[0].t if chunks else 0.0
    for index, chunk in enumerate(chunks):
        if chunk.direction != "tx":
            continue
        advance(clock, chunk.t - previous)
        previous = chunk.t
        if before_chunk is not None:
            before_chunk(index, chunk)
        if not transport.disconnecting:
            proto.dataReceived(chunk.data)
    advance(clock, settle)
    return Replay(transport, proto)


# -- comparison ----------------------------------------------------------------------------
def describe(messages: Iterable[Normalised]) -> str:
    return "\n\n".join("\n".join(f"{k}: {v}" for k, v in m) for m in messages)


def assert_conforms(expected: Sequence[Message], actual: Sequence[Message]) -> None:
    """Field-by-field comparison after :func:`normalise`; the failure names the first
    differing message and header."""
    want = [normalise(m) for m in expected]
    got = [normalise(m) for m in actual]
    for index, (w, g) in enumerate(zip(want, got)):
        if w != g:
            detail = []
            for i in range(max(len(w), len(g))):
                wh = w[i] if i < len(w) else None
                gh = g[i] if i < len(g) else None
                if wh != gh:
                    detail.append(f"  header {i}: Asterisk {wh!r}, simulator {gh!r}")
            raise AssertionError(
                f"message {index} differs:\n" + "\n".join(detail)
                + f"\n--- Asterisk:\n{describe([w])}\n--- simulator:\n{describe([g])}")
    if len(want) != len(got):
        extra = want[len(got):] if len(want) > len(got) else got[len(want):]
        who = "Asterisk sent" if len(want) > len(got) else "the simulator sent"
        raise AssertionError(f"{who} {len(extra)} more message(s):\n{describe(extra)}")
