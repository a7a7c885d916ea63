"""What panoramisk 1.4 does as shipped, shown on panoramisk itself: the defects AMIClient fixes.

These run panoramisk's own ``AMIProtocol`` and ``Manager`` against an in-memory transport, with
the same inputs as the client tests in ``test_ami_client.py``. They prove those tests would
fail against plain panoramisk. If a panoramisk release fixes one of these, its test here fails,
and the matching fix in ``cti/net/ami_client.py`` can be reconsidered.
"""
from __future__ import annotations

import asyncio

import pytest
import pytest_twisted
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.manager import Manager
from panoramisk.message import Message as PanoramiskMessage
from twisted.internet import defer, reactor, task

from cti.protocol.ami_message import Message


class MemoryTransport:
    def __init__(self):
        self.written = b""
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True


def linked_manager(**config) -> tuple[Manager, AMIProtocol, MemoryTransport]:
    manager = Manager(loop=asyncio.get_event_loop(), **config)
    protocol = AMIProtocol()
    transport = MemoryTransport()
    protocol.connection_made(transport)
    protocol.factory, protocol.encoding = manager, "utf8"
    manager.protocol = protocol
    return manager, protocol, transport


def test_split_utf8_character_is_dropped():
    manager, protocol, _ = linked_manager()
    names = []
    manager.register_event("Newchannel", lambda m, event: names.append(event["CallerIDName"]))
    raw = Message.of([("Event", "Newchannel"), ("CallerIDName", "张三")]).encode()
    cut = raw.index("张".encode()) + 1
    protocol.data_received(raw[:cut])
    protocol.data_received(raw[cut:])
    assert names == ["三"]  # 张 is gone: each read is decoded on its own with errors='ignore'


def test_listener_exception_escapes_and_loses_the_rest_of_the_chunk():
    manager, protocol, _ = linked_manager()
    seen = []

    def explode(m, event):
        raise ValueError("listener bug")

    manager.register_event("Newchannel", explode)
    manager.register_event("Hangup", lambda m, event: seen.append(event.event))
    chunk = (Message.of([("Event", "Newchannel"), ("Channel", "PJSIP/6001-1")]).encode()
             + Message.of([("Event", "Hangup"), ("Channel", "PJSIP/6001-1")]).encode())
    with pytest.raises(ValueError):  # out of data_received: asyncio then closes the link
        protocol.data_received(chunk)
    assert seen == []


@pytest_twisted.ensureDeferred
async def test_pending_originate_is_sent_again_after_reconnect():
    manager, protocol, transport = linked_manager()
    protocol.send({"Action": "Originate", "Channel": "Local/103@callers", "Async": "true"})
    assert transport.written.count(b"Action: Originate") == 1
    protocol.close()  # the link drops before any answer
    assert [a["Action"] for a in manager.awaiting_actions] == ["Originate"]
    _, manager.protocol, new_transport = linked_manager()  # the next link
    await defer.ensureDeferred(manager.send_awaiting_actions())  # what FullyBooted triggers
    assert new_transport.written.count(b"Action: Originate") == 1  # dialled a second time


def test_refused_login_is_silent():
    manager, _, _ = linked_manager()
    refused = asyncio.get_event_loop().create_future()
    refused.set_result(PanoramiskMessage({"Response": "Error",
                                          "Message": "Authentication failed"}))
    try:
        assert manager.login(refused) is False  # no exception, no callback, no log line
    finally:
        manager.close()
    assert manager.authenticated is False


def test_login_sends_the_secret_in_clear_and_no_challenge():
    manager = Manager(loop=asyncio.get_event_loop(), username="cti", secret="s3cret")
    protocol, transport = AMIProtocol(), MemoryTransport()
    protocol.connection_made(transport)
    connected = asyncio.get_event_loop().create_future()
    connected.set_result((transport, protocol))
    try:
        manager.connection_made(connected)
    finally:
        manager.close()
    assert b"Secret: s3cret" in transport.written
    assert b"Challenge" not in transport.written and b"AuthType" not in transport.written


@pytest_twisted.ensureDeferred
async def test_action_future_has_no_timeout_and_ping_answer_is_never_read():
    manager, protocol, transport = linked_manager(ping_interval=0)
    future = protocol.send({"Action": "Getvar", "Variable": "FOO"})
    assert not hasattr(future, "timeout")
    assert manager.ping() is None  # what its timer calls: a write; the answer is not kept
    manager.pinger.cancel()
    await task.deferLater(reactor, 0.02, lambda: None)
    assert not future.done()  # still waiting, and it will wait forever
    assert transport.written.count(b"Action: Ping") == 1
