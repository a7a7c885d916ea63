"""Login, permission and session captures replayed against the simulator's AMI server.

Each test replays the client side of one capture and compares everything the simulator sent
with everything Asterisk sent (banner included), through the shared normaliser.
"""
from __future__ import annotations

import pytest
from twisted.internet.task import Clock

from cti.pbxsim.ami import BANNER, AMIServerFactory, load_manager_conf

from .conformance import (MANAGER_CONF, assert_conforms, captured_server_messages,
                          parse_server_stream, replay)

# The capture's Challenge; a Key computed from it is only valid if the server issues it again.
MD5_CAPTURE_CHALLENGE = 117877060


def make_factory(clock: Clock, **kwargs) -> AMIServerFactory:
    clock.advance(1795360160.0)  # the captures' epoch, so that dates look alike
    return AMIServerFactory(load_manager_conf(MANAGER_CONF), clock=clock, **kwargs)


@pytest.mark.parametrize("capture", ["ami-login", "ami-login-md5", "ami-login-bad",
                                     "ami-prelogin", "ami-readonly-user"])
def test_capture_replays_identically(capture: str) -> None:
    clock = Clock()
    factory = make_factory(clock, challenge_source=lambda: MD5_CAPTURE_CHALLENGE)
    run = replay(factory, clock, capture)
    banner, sent = parse_server_stream(run.sent)
    want_banner, want = captured_server_messages(capture)
    assert run.sent.startswith(BANNER)
    assert banner == want_banner
    assert_conforms(want, sent)
    # every one of these sessions ends with the server closing it (Goodbye or failed login)
    assert run.transport.disconnecting


def test_failed_login_is_answered_only_after_the_delay() -> None:
    clock = Clock()
    factory = make_factory(clock)
    run = replay(factory, clock, "ami-login-bad", settle=0.0)
    assert run.sent == BANNER
    clock.advance(0.99)
    assert run.sent == BANNER and not run.transport.disconnecting
    clock.advance(0.02)
    assert run.sent.endswith(b"Message: Authentication failed\r\n\r\n")
    assert run.transport.disconnecting


def test_login_failure_delay_is_configurable() -> None:
    clock = Clock()
    factory = make_factory(clock, login_failure_delay=0.0)
    run = replay(factory, clock, "ami-login-bad", settle=0.0)
    assert run.sent.endswith(b"Message: Authentication failed\r\n\r\n")
