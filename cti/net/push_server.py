"""The WebSocket endpoint of agent desktops and wallboards (autobahn, Twisted flavour).

A connection must authenticate with its first frame (``{"type": "auth", "data": {"token":
...}}``) within ``auth_timeout`` seconds; tokens never travel in URLs, so they stay out of
access logs. After that, the hub delivers frames by principal: an agent receives only frames
addressed to that agent, a supervisor those of their teams. Before authentication, any bad
frame (bad JSON, nested too deeply, not ``auth``, a wrong token) gets an ``error`` frame and the
connection is closed with code 4002. After it, a protocol violation (a frame that is not a
well-formed request) gets an ``error`` frame and counts: ``MAX_BAD_FRAMES`` of them close the
connection; a well-formed request that is refused ("cannot pause now", an unknown reason code)
is answered with an ``error`` frame and does not count. A client that does not finish the
WebSocket handshake within ``handshake_timeout`` seconds is dropped too (a slow-loris client). Nothing
a browser sends can raise out of here.

A session lives no longer than its token: the token is checked again with every frame the
browser sends and every ``recheck_interval`` seconds, and once it has expired or been revoked
the connection is told (``error`` ``session-expired``) and closed with code 4003.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any, Callable

from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol

from cti.domain.principal import Principal
from cti.protocol.push import FrameError, error_data, parse_client_frame, server_frame
from cti.services.control import ControlError

log = logging.getLogger(__name__)

MAX_BAD_FRAMES = 5


class Refused(Exception):
    """A well-formed request the server said no to: answered, never held against the client."""

    def __init__(self, error: FrameError):
        super().__init__(error.message)
        self.error = error


def parse_frame(payload: bytes, is_binary: bool):
    """:func:`parse_client_frame`, with JSON nested too deeply as a bad frame like any other."""
    try:
        return parse_client_frame(payload, is_binary=is_binary)
    except RecursionError:
        raise FrameError("bad-json", "not JSON: nested too deeply") from None


class PushProtocol(WebSocketServerProtocol):
    """Thin: decode, check, hand to the hub."""

    principal: Principal | None = None
    _token: str | None = None
    _auth_timer = None
    _recheck_timer = None
    _bad_frames = 0

    def onOpen(self) -> None:
        self._auth_timer = self.factory.hub.clock.callLater(
            self.factory.hub.auth_timeout, self._auth_expired)

    def _auth_expired(self) -> None:
        self._auth_timer = None
        if self.principal is None:
            self.sendClose(code=4001, reason="authentication required")

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        if self.state != self.STATE_OPEN:                      # closing: nothing more to say
            return
        try:
            frame = parse_frame(payload, isBinary)
            if self.principal is None:
                self._authenticate(frame)
            elif self._token_still_valid():
                self.factory.hub.handle(self, frame)
        except Refused as refused:                             # answered; not a violation
            self.send("error", error_data(refused.error))
        except FrameError as exc:
            self._bad_frames += 1
            self.send("error", error_data(exc))
            if self._bad_frames >= MAX_BAD_FRAMES or self.principal is None:
                self.sendClose(code=4002, reason=exc.code)
        except Exception:                                      # a bug of ours: log, keep serving
            log.exception("push: frame handler failed")
            self.send("error", {"code": "internal", "message": "internal error", "id": None})
            if self.principal is None:                         # a stranger is not kept waiting
                self.sendClose(code=4002, reason="internal")

    def _authenticate(self, frame) -> None:
        if frame.type != "auth":
            raise FrameError("unauthenticated", "the first frame must be auth", frame.id)
        principal = self.factory.hub.authenticate(frame.data.get("token"))
        if principal is None:
            raise FrameError("bad-token", "unknown or expired token", frame.id)
        self.principal, self._token = principal, frame.data.get("token")
        if self._auth_timer is not None and self._auth_timer.active():
            self._auth_timer.cancel()
        self._auth_timer = None
        self.factory.hub.attach(self)
        self.send("ack", {"id": frame.id, "user": principal.user, "role": principal.role})
        self._schedule_recheck()

    def _schedule_recheck(self) -> None:
        hub = self.factory.hub
        if hub.recheck_interval:
            self._recheck_timer = hub.clock.callLater(hub.recheck_interval, self._recheck)

    def _recheck(self) -> None:
        self._recheck_timer = None
        if self._token_still_valid():
            self._schedule_recheck()

    def _token_still_valid(self) -> bool:
        if self.factory.hub.authenticate(self._token) is not None:
            return True
        log.info("push: session of %s ended: token expired or revoked", self.principal.user)
        self.send("error", {"code": "session-expired", "message": "sign in again", "id": None})
        self.sendClose(code=4003, reason="session expired")
        return False

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        for timer in (self._auth_timer, self._recheck_timer):
            if timer is not None and timer.active():
                timer.cancel()
        self._auth_timer = self._recheck_timer = None
        if self.principal is not None:
            self.factory.hub.detach(self)

    def send(self, kind: str, data: dict[str, Any]) -> None:
        self.deliver(self.factory.hub.encode(kind, data))

    def deliver(self, frame: bytes) -> bool:
        """Send if the connection is open; a closing one is skipped, never an exception."""
        if self.state != self.STATE_OPEN:
            return False
        self.sendMessage(frame, isBinary=False)
        return True


class PushHub:
    """Knows who is connected and delivers frames by principal."""

    def __init__(self, authenticate: Callable[[str | None], Principal | None], clock,
                 *, auth_timeout: float = 10.0, recheck_interval: float = 30.0,
                 handshake_timeout: float = 5.0,
                 on_frame: Callable[[Principal, Any], dict | None] | None = None,
                 on_presence: Callable[[str, bool], None] | None = None):
        self.authenticate = authenticate
        self.clock = clock
        self.auth_timeout = auth_timeout
        self.handshake_timeout = handshake_timeout      # to finish the WebSocket handshake
        self.recheck_interval = recheck_interval
        self.on_frame = on_frame
        self.on_presence = on_presence      # (agent id, online): first desktop in, last one out
        self._seq = 0
        self._by_agent: dict[str, set[PushProtocol]] = defaultdict(set)
        self._by_team: dict[str, set[PushProtocol]] = defaultdict(set)
        self._admins: set[PushProtocol] = set()

    def encode(self, kind: str, data: dict[str, Any]) -> bytes:
        self._seq += 1
        return server_frame(kind, data, seq=self._seq, ts=self.clock.seconds())

    def attach(self, conn: PushProtocol) -> None:
        p = conn.principal
        if p.role == "admin":
            self._admins.add(conn)
        elif p.role == "supervisor":
            for team in p.teams:
                self._by_team[team].add(conn)
        if p.agent_id:
            first = not self._by_agent.get(p.agent_id)
            self._by_agent[p.agent_id].add(conn)
            if first:
                self._presence(p.agent_id, True)

    def detach(self, conn: PushProtocol) -> None:
        agent_id = conn.principal.agent_id if conn.principal else None
        for index in (self._by_agent, self._by_team):
            for key in list(index):
                index[key].discard(conn)
                if not index[key]:
                    del index[key]
        self._admins.discard(conn)
        if agent_id and agent_id not in self._by_agent:
            self._presence(agent_id, False)

    def recheck_sessions(self) -> int:
        """Check every signed-in connection's token now (a sign-out revoked one): those no
        longer valid are told and closed at once, not at their next periodic check. Returns
        how many were closed."""
        conns = set(self._admins)
        for index in (self._by_agent, self._by_team):
            for members in index.values():
                conns |= members
        closed = 0
        for conn in conns:
            if (conn.principal is not None and conn.state == conn.STATE_OPEN
                    and not conn._token_still_valid()):
                closed += 1
        return closed

    def _presence(self, agent_id: str, online: bool) -> None:
        if self.on_presence is not None:
            try:
                self.on_presence(agent_id, online)
            except Exception:
                log.exception("push: presence handler failed for agent %s", agent_id)

    def agent_connected(self, agent_id: str) -> bool:
        return bool(self._by_agent.get(agent_id))

    def send_to_agent(self, agent_id: str, kind: str, data: dict[str, Any],
                      *, team: str | None = None) -> int:
        """Send to the agent's own desktops (and to supervisors of ``team`` and admins).

        Returns how many of the *agent's own* connections got it.
        """
        frame = self.encode(kind, data)
        own = list(self._by_agent.get(agent_id, ()))
        delivered = sum(conn.deliver(frame) for conn in own)
        watchers = set(self._admins)
        if team is not None:
            watchers |= self._by_team.get(team, set())
        for conn in watchers - set(own):
            conn.deliver(frame)
        return delivered

    def handle(self, conn: PushProtocol, frame) -> None:
        if frame.type == "ping":
            conn.send("pong", {"id": frame.id})
            return
        if frame.type == "auth":
            raise FrameError("already-authenticated", "already authenticated", frame.id)
        if self.on_frame is None:
            raise FrameError("unsupported", f"{frame.type} is not handled here", frame.id)
        try:
            result = self.on_frame(conn.principal, frame)
        except FrameError as exc:
            raise Refused(exc) from None
        except ControlError as exc:
            raise Refused(FrameError(exc.code, exc.message, frame.id)) from None
        conn.send("ack", {"id": frame.id, **(result or {})})


def make_factory(hub: PushHub, url: str = "ws://127.0.0.1/push") -> WebSocketServerFactory:
    factory = WebSocketServerFactory(url)
    factory.protocol = PushProtocol
    factory.hub = hub
    factory.setProtocolOptions(maxMessagePayloadSize=64 * 1024, maxFramePayloadSize=64 * 1024,
                               autoPingInterval=20, autoPingTimeout=10,
                               openHandshakeTimeout=hub.handshake_timeout)
    return factory
