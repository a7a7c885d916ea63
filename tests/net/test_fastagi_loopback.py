"""FastAGI over a real TCP connection on loopback: a fake Asterisk built from the protocol
module's Asterisk side talks to FastAGIFactory serving the real route registry."""
from __future__ import annotations

import pytest_twisted
from twisted.internet import defer, protocol, reactor
from twisted.internet.task import deferLater
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol

from cti.net.fastagi import FastAGIFactory
from cti.protocol.agi import AGICommandParser, encode_environment, encode_result
from cti.services.agi_routes import build_routes
from tests.net.test_fastagi import ENV


class FakeAsterisk(protocol.Protocol):
    """Sends an environment, answers every command like Asterisk, and records them."""

    def __init__(self, env: dict, header: bytes | None = None):
        self.env = env
        self.header = header
        self.parser = AGICommandParser()
        self.commands: list[tuple[str, ...]] = []
        self.variables: dict[str, str] = {}
        self.done: defer.Deferred[None] = defer.Deferred()

    def connectionMade(self) -> None:
        if self.header is not None:  # a broken client: half a header, then gone
            self.transport.write(self.header)
            self.transport.loseConnection()
        else:
            self.transport.write(encode_environment(self.env))

    def dataReceived(self, data: bytes) -> None:
        for command in self.parser.feed(data):
            self.commands.append(command.words)
            self.transport.write(self.answer(command.words))

    def answer(self, words: tuple[str, ...]) -> bytes:
        if words[:2] == ("GET", "VARIABLE"):
            return encode_result(1, "5553000")
        if words[:3] == ("GET", "FULL", "VARIABLE"):
            return encode_result(1, "hotline,10010,2")
        if words[:2] == ("SET", "VARIABLE"):
            self.variables[words[2]] = words[3]
        return encode_result(1)

    def connectionLost(self, reason=None) -> None:
        self.done.callback(None)


@defer.inlineCallbacks
def converse(port, client: FakeAsterisk):
    endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port, timeout=5)
    yield connectProtocol(endpoint, client)
    yield client.done.addTimeout(10, reactor)
    return client


@pytest_twisted.inlineCallbacks
def test_probe_over_a_real_tcp_connection_survives_a_broken_client_before_it():
    port = reactor.listenTCP(0, FastAGIFactory(build_routes(), header_timeout=5.0),
                             interface="127.0.0.1")
    try:
        broken = yield converse(port, FakeAsterisk(ENV, header=b"agi_network: yes\nagi_netw"))
        assert broken.commands == []
        client = yield converse(port, FakeAsterisk(ENV))
        assert client.commands[0] == ("GET", "VARIABLE", "CALLERID(num)")
        assert client.variables == {"CTI_PROBE": "ok"}
        assert client.commands[-1][0] == "VERBOSE" and len(client.commands) == 4
    finally:
        yield port.stopListening()


class SilentAsterisk(FakeAsterisk):
    """Sends its environment and then never answers a command: a route waits on it."""

    def dataReceived(self, data: bytes) -> None:
        for command in self.parser.feed(data):
            self.commands.append(command.words)


@pytest_twisted.inlineCallbacks
def test_close_sessions_hangs_up_every_open_session_as_a_process_exit_would():
    waiting = defer.Deferred()

    async def slow(session):
        await session.get_data("cti/menu/main", 60_000, 1)      # never answered
        waiting.callback("route went on")                         # must not happen

    factory = FastAGIFactory({"slow": slow}, clock=reactor)
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    try:
        clients = [SilentAsterisk(dict(ENV, agi_network_script="slow")) for _ in range(2)]
        for client in clients:
            endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port, timeout=5)
            yield connectProtocol(endpoint, client)
        deadline = reactor.seconds() + 5
        while sum(len(c.commands) for c in clients) < 2 and reactor.seconds() < deadline:
            yield deferLater(reactor, 0.02)
        assert len(factory.open) == 2
        assert factory.close_sessions() == 2
        for client in clients:
            yield client.done.addTimeout(5, reactor)         # Asterisk sees the hang-up
        assert not factory.open and not waiting.called
    finally:
        yield port.stopListening()
