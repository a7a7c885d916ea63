"""Only the configured Asterisk boxes may open FastAGI sessions; anyone else is closed unread."""
from __future__ import annotations

import logging

import pytest
import pytest_twisted
from twisted.internet import defer, reactor
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from cti import app, config as cfg
from cti.net.fastagi import FastAGIFactory, mask_address, resolve_hosts
from cti.services.agi_routes import build_routes
from tests.net.test_fastagi import ENV
from tests.net.test_fastagi_loopback import FakeAsterisk, converse


def factory(allowed, routes=None):
    return FastAGIFactory(routes if routes is not None else build_routes(), clock=reactor,
                          allowed_hosts=allowed)


def test_a_peer_not_allowed_gets_no_protocol_and_is_logged_masked(caplog):
    f = factory({"10.0.0.5"})
    with caplog.at_level(logging.WARNING, logger="cti.net.fastagi"):
        assert f.buildProtocol(IPv4Address("TCP", "192.168.44.17", 40000)) is None
    assert f.refused == 1
    text = caplog.text
    assert "192.168.*.*" in text and "44.17" not in text


def test_a_scanner_is_logged_once_a_minute_not_once_a_connection(caplog):
    clock = Clock()
    f = FastAGIFactory(build_routes(), clock=clock, allowed_hosts={"10.0.0.5"})
    peer = IPv4Address("TCP", "203.0.113.9", 40000)
    with caplog.at_level(logging.WARNING, logger="cti.net.fastagi"):
        for _ in range(50):
            assert f.buildProtocol(peer) is None
        clock.advance(61)
        assert f.buildProtocol(peer) is None
    assert f.refused == 51
    assert len([r for r in caplog.records if "refused" in r.getMessage()]) == 2


def test_an_allowed_peer_is_served():
    f = factory({"10.0.0.5"})
    proto = f.buildProtocol(IPv4Address("TCP", "10.0.0.5", 40000))
    assert proto is not None
    transport = StringTransport(peerAddress=IPv4Address("TCP", "10.0.0.5", 40000))
    proto.makeConnection(transport)
    proto.connectionLost(None)


def test_ipv4_mapped_ipv6_peer_is_the_same_host():
    f = factory({"127.0.0.1"})
    assert f.buildProtocol(IPv6Address("TCP", "::ffff:127.0.0.1", 40000)) is not None
    assert f.buildProtocol(IPv6Address("TCP", "::1", 40000)) is None


def test_names_resolve_at_start_and_bad_names_are_a_config_error():
    assert resolve_hosts(["localhost", "10.0.0.5"]) >= {"127.0.0.1", "10.0.0.5"}
    with pytest.raises(ValueError, match="no-such-host.invalid"):
        resolve_hosts(["no-such-host.invalid"])
    config = cfg.load(environ={}, overrides=["fastagi.allowed_hosts=no-such-host.invalid"])
    with pytest.raises(cfg.ConfigError, match="fastagi.allowed_hosts"):
        app.fastagi_peers(config)


def test_default_is_the_ami_host_and_loopback():
    config = cfg.load(environ={}, overrides=["ami.host=10.1.2.3"])
    assert app.fastagi_peers(config) == {"10.1.2.3", "127.0.0.1"}


def test_mask_address():
    assert mask_address("10.20.30.40") == "10.20.*.*"
    assert mask_address("2001:db8::7") == "2001:0db8:0000:*"
    assert mask_address("not an address") == "*"


@pytest_twisted.inlineCallbacks
def test_a_real_connection_from_elsewhere_is_closed_before_anything_is_read():
    seen = []

    def route(session):
        seen.append(session.script)

    port = reactor.listenTCP(0, factory({"10.255.255.1"}, {"probe": route}),
                             interface="127.0.0.1")
    try:
        client = yield converse(port, FakeAsterisk(ENV))
        assert client.commands == [] and seen == []
        assert port.factory.refused == 1
    finally:
        yield port.stopListening()

    port = reactor.listenTCP(0, factory({"127.0.0.1"}, {"probe": route}), interface="127.0.0.1")
    try:
        yield converse(port, FakeAsterisk(ENV))
        assert seen == ["probe"]
    finally:
        yield port.stopListening()
