"""A TCP proxy between ctid's AMI client and an AMI server that cuts the link on a chosen action.

It relays bytes both ways on loopback and reads the client's side as AMI actions (blocks ending
in a blank line). When it sees the chosen action (``Action: Redirect``, say) it cuts the link,
in one of two ways, the two faults a real link can have at that moment:

* ``deliver``: the action reaches the server, then the link is cut before the server's answer
  reaches the client (the client cannot know the action was carried out);
* ``drop``: the link is cut and the action never reaches the server.

It cuts once (``cut()`` arms it again). For ``down_for`` seconds after a cut it refuses new
connections (accepts and closes them), so the outage lasts as long as a test needs.
"""
from __future__ import annotations

import re

from twisted.internet import protocol, reactor as default_reactor

DELIVER = "deliver"
DROP = "drop"


class _ServerSide(protocol.Protocol):
    """The proxy's connection to the AMI server."""

    def __init__(self, client_side: "_ClientSide"):
        self.client_side = client_side

    def connectionMade(self):
        self.client_side.server_up(self)

    def dataReceived(self, data: bytes):
        if not self.client_side.cutting:
            self.client_side.transport.write(data)

    def connectionLost(self, reason=None):
        self.client_side.server_gone()


class _ClientSide(protocol.Protocol):
    """The connection from ctid (the AMI client)."""

    def __init__(self, proxy: "CutProxy"):
        self.proxy = proxy
        self.server: _ServerSide | None = None
        self.pending = b""             # client bytes waiting for the server connection
        self.block = b""               # the client's unfinished action
        self.cutting = False

    def connectionMade(self):
        if self.proxy.refusing():
            self.transport.abortConnection()
            return
        self.proxy.links.append(self)
        factory = protocol.ClientFactory()
        factory.protocol = lambda: _ServerSide(self)
        factory.clientConnectionFailed = lambda connector, reason: self.transport.loseConnection()
        self.proxy.reactor.connectTCP(self.proxy.host, self.proxy.port, factory)

    def server_up(self, server: _ServerSide):
        self.server = server
        if self.pending:
            server.transport.write(self.pending)
            self.pending = b""

    def server_gone(self):
        if not self.cutting:
            self.transport.loseConnection()

    def dataReceived(self, data: bytes):
        if self.cutting:
            return
        self.block += data
        while True:
            end = self.block.find(b"\r\n\r\n")
            if end < 0:
                return
            action, self.block = self.block[:end + 4], self.block[end + 4:]
            if self.proxy.armed and self.proxy.matches(action):
                self._cut(action)
                return
            self._forward(action)

    def _forward(self, data: bytes):
        if self.server is not None:
            self.server.transport.write(data)
        else:
            self.pending += data

    def _cut(self, action: bytes):
        self.proxy.armed = False
        self.cutting = True
        self.proxy.cuts.append((self.proxy.reactor.seconds(), self.proxy.mode, action))
        self.proxy.refuse_until = self.proxy.reactor.seconds() + self.proxy.down_for
        if self.proxy.mode == DELIVER:
            self._forward(action)            # the server gets the action...
        self.transport.abortConnection()     # ...the client never hears back
        if self.server is not None:
            self.server.transport.loseConnection()   # after what was written is flushed

    def connectionLost(self, reason=None):
        if self.server is not None and not self.cutting:
            self.server.transport.loseConnection()


class CutProxy(protocol.Factory):
    def __init__(self, host: str, port: int, action: str, mode: str = DELIVER, *,
                 down_for: float = 0.0, reactor=default_reactor):
        if mode not in (DELIVER, DROP):
            raise ValueError(f"mode must be {DELIVER!r} or {DROP!r}")
        self.host, self.port, self.mode, self.down_for = host, port, mode, down_for
        self.reactor = reactor
        self._action = re.compile(rb"(?im)^Action:[ \t]*" + re.escape(action.encode()) + rb"[ \t]*\r$")
        self.armed = False
        self.refuse_until = 0.0
        self.cuts: list[tuple[float, str, bytes]] = []
        self.links: list[_ClientSide] = []

    def buildProtocol(self, addr):
        return _ClientSide(self)

    def cut(self) -> None:
        """Cut the link at the next chosen action."""
        self.armed = True

    def matches(self, block: bytes) -> bool:
        return bool(self._action.search(block))

    def refusing(self) -> bool:
        return self.reactor.seconds() < self.refuse_until


def listen(proxy: CutProxy, reactor=default_reactor):
    """Listen on a free loopback port; returns the listening port."""
    return reactor.listenTCP(0, proxy, interface="127.0.0.1")
