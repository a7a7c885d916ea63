"""A scripted fake Asterisk Manager Interface on loopback, speaking from the real captures.

It says the banner, answers ``Challenge`` and ``Login`` (plain or MD5) as Asterisk 22 does,
refuses a wrong secret the way ``ami-login-bad.txt`` shows (a delay, ``Authentication failed``,
then it closes the TCP connection; the delay is configurable so tests stay fast), and replays
the replies recorded in ``ami-actions.txt`` for any other action, with the client's own
``ActionID`` put in. A test can also make it stay silent on chosen actions, stall a session
(a hung link), inject events or raw bytes split anywhere, and drop the connections.

It records every action it receives, so a test can count what really reached "Asterisk".
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable

from twisted.internet import defer, protocol, task
from twisted.internet.interfaces import IReactorTCP

from cti.protocol.ami_message import Message

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "asterisk-captures"
BLOCK_END = b"\r\n\r\n"
CHALLENGE = "117877060"  # the one in ami-login-md5.txt


def _blocks(data: bytes) -> list[bytes]:
    return [block + BLOCK_END for block in data.split(BLOCK_END) if block.strip()]


def _action_id(block: bytes) -> bytes | None:
    for line in block.split(b"\r\n"):
        if line.lower().startswith(b"actionid:"):
            return line.split(b":", 1)[1].strip()
    return None


def load_replies(transcript: Path = CAPTURES / "ami-actions.txt") -> dict[str, list[bytes]]:
    """Map each action name (lower case) to the server blocks that answered it, first seen.

    A transcript holds both directions in order; client blocks start with ``Action:``. The
    reply to an action is every following server block that carries the same ``ActionID``
    (the response and, for an EventList action, its items and its ``...Complete`` event), up
    to the next client block. ``Login`` also keeps the events that follow it (``FullyBooted``,
    ``SuccessfulAuth``) since Asterisk sends them to every new session.
    """
    data = transcript.read_bytes()
    rest = data.partition(b"\r\n")[2]  # after the banner line
    replies: dict[str, list[bytes]] = {}
    current: tuple[str, bytes | None] | None = None
    for block in _blocks(rest):
        if block.startswith(b"Action:"):
            name = block.split(b"\r\n", 1)[0].split(b":", 1)[1].strip().decode().lower()
            current = None if name in replies else (name, _action_id(block))
            if current:
                replies[name] = []
            continue
        if current is None:
            continue
        name, action_id = current
        if name == "login" or (action_id is not None and _action_id(block) == action_id):
            replies[name].append(block)
    return replies


def _with_action_id(block: bytes, action_id: str | None) -> bytes:
    if action_id is None:
        return block
    lines = block.split(b"\r\n")
    out = [
        b"ActionID: " + action_id.encode() if line.lower().startswith(b"actionid:") else line
        for line in lines
    ]
    return b"\r\n".join(out)


class FakeAMISession(protocol.Protocol):
    """One client connection: frames actions and answers them as Asterisk would."""

    def __init__(self, server: "FakeAMI"):
        self.server = server
        self.buffer = b""
        self.logged_in = False
        self.stalled = False
        self.challenge: str | None = None

    def connectionMade(self) -> None:
        self.server.sessions.append(self)
        self.server.connections += 1
        self.transport.write(self.server.banner)

    def connectionLost(self, reason=None) -> None:
        if self in self.server.sessions:
            self.server.sessions.remove(self)

    def dataReceived(self, data: bytes) -> None:
        self.buffer += data
        while BLOCK_END in self.buffer:
            block, self.buffer = self.buffer.split(BLOCK_END, 1)
            pairs = [line.decode("utf-8").split(":", 1) for line in block.split(b"\r\n") if line]
            action = Message.of((k.strip(), v.strip()) for k, v in pairs)
            self.server.received.append(action)
            if not self.stalled:
                self.answer(action)

    # -- answers ---------------------------------------------------------------------------
    def answer(self, action: Message) -> None:
        name = (action.get("Action") or "").lower()
        action_id = action.action_id
        if name in self.server.silent_actions:
            return
        if name == "challenge":
            self.challenge = CHALLENGE
            self.reply(action_id, ("Response", "Success"), ("Challenge", CHALLENGE))
        elif name == "login":
            self.login(action)
        elif not self.logged_in:
            self.reply(action_id, ("Response", "Error"), ("Message", "Permission denied"))
        elif name in self.server.replies:
            for block in self.server.replies[name]:
                self.transport.write(_with_action_id(block, action_id))
        else:
            message = f"Invalid/unknown command: {action.get('Action')}."
            self.reply(action_id, ("Response", "Error"), ("Message", message))

    def login(self, action: Message) -> None:
        server = self.server
        if (action.get("AuthType") or "").lower() == "md5":
            expected = hashlib.md5(f"{self.challenge}{server.secret}".encode()).hexdigest()
            good = self.challenge is not None and action.get("Key") == expected
        else:
            good = action.get("Secret") == server.secret
        good = good and action.get("Username") == server.username
        if good:
            self.logged_in = True
            for block in server.replies["login"]:
                self.transport.write(_with_action_id(block, action.action_id))
            return

        def refuse() -> None:
            self.reply(action.action_id, ("Response", "Error"), ("Message", "Authentication failed"))
            self.transport.loseConnection()

        server.reactor.callLater(server.login_fail_delay, refuse)

    def reply(self, action_id: str | None, *headers: tuple[str, str]) -> None:
        pairs = [headers[0]] + ([("ActionID", action_id)] if action_id else []) + list(headers[1:])
        self.transport.write(Message.of(pairs).encode())


class FakeAMI(protocol.Factory):
    """The server: listen on loopback, then script it from the test."""

    def __init__(self, reactor: IReactorTCP, *, username: str = "cti", secret: str = "cti",
                 login_fail_delay: float = 1.0):
        self.reactor = reactor
        self.username = username
        self.secret = secret
        self.login_fail_delay = login_fail_delay
        self.banner = (CAPTURES / "ami-login.server.txt").read_bytes().split(b"\r\n", 1)[0] + b"\r\n"
        self.replies = load_replies()
        self.silent_actions: set[str] = set()
        self.received: list[Message] = []
        self.sessions: list[FakeAMISession] = []
        self.connections = 0
        self.port = None

    def buildProtocol(self, addr) -> FakeAMISession:
        return FakeAMISession(self)

    def listen(self) -> int:
        self.port = self.reactor.listenTCP(0, self, interface="127.0.0.1")
        return self.port.getHost().port

    # -- what the test looks at --------------------------------------------------------------
    def actions(self, name: str) -> list[Message]:
        return [a for a in self.received if (a.get("Action") or "").lower() == name.lower()]

    @property
    def logged_in_sessions(self) -> list[FakeAMISession]:
        return [s for s in self.sessions if s.logged_in]

    # -- what the test does -------------------------------------------------------------------
    def stall(self) -> None:
        """The current sessions stop answering anything (a hung link); new ones are normal."""
        for session in self.sessions:
            session.stalled = True

    def drop(self) -> None:
        """Cut every current connection at once, as a PBX restart or a network fault would."""
        for session in list(self.sessions):
            session.transport.abortConnection()

    def inject(self, data: bytes | Message, split_at: Iterable[int] = (), gap: float = 0.01):
        """Send raw bytes (or a message) to every logged-in session, cut at ``split_at``.

        The pieces go straight to the socket (Twisted's write buffer would glue them back
        together), ``gap`` seconds apart with Nagle off, so each arrives in its own TCP read.
        Returns a Deferred that fires once the last piece is written.
        """
        raw = data.encode() if isinstance(data, Message) else data
        cuts = [0, *sorted(split_at), len(raw)]
        pieces = [raw[a:b] for a, b in zip(cuts, cuts[1:]) if b > a]
        sessions = self.logged_in_sessions

        async def send() -> None:
            for index, piece in enumerate(pieces):
                if index:
                    await task.deferLater(self.reactor, gap, lambda: None)
                for session in sessions:
                    session.transport.setTcpNoDelay(True)
                    session.transport.getHandle().sendall(piece)

        return defer.ensureDeferred(send())

    def close(self):
        self.drop()
        return defer.maybeDeferred(self.port.stopListening) if self.port else defer.succeed(None)
