"""``eventfilter`` against the captures: the same call seen by ``cti`` and by ``cti_filtered``.

``ami-agi-route-call`` is a call seen by user ``cti`` (no filters); ``ami-eventfilter`` is the
same scenario seen by ``cti_filtered`` (``!Event: VarSet``, ``!Event: Newexten``). Every event
of the first capture is offered to a ``cti_filtered`` session of the simulator, and what
comes out must be, event for event, what Asterisk sent in the second capture.

The two captures are two real calls, so a few events raced differently on Asterisk (a
``DialBegin`` before or after a ``Newstate``): the comparison is of the multiset of normalised
events, and separately of the order of the simulator's output against its input.
"""
from __future__ import annotations

from collections import Counter

from twisted.internet.task import Clock

from cti.pbxsim.ami import AMIServerFactory, load_manager_conf
from cti.protocol.ami_message import Message

from .conformance import (MANAGER_CONF, assert_conforms, captured_server_messages,
                          load_chunks, loopback_transport, normalise, parse_server_stream)

LOGIN_EVENTS = {"FullyBooted", "SuccessfulAuth"}  # made by the login, not by the call


def _run() -> tuple[list[Message], list[Message], list[Message]]:
    _, unfiltered = captured_server_messages("ami-agi-route-call")
    _, filtered = captured_server_messages("ami-eventfilter")
    clock = Clock()
    factory = AMIServerFactory(load_manager_conf(MANAGER_CONF), clock=clock)
    transport = loopback_transport()
    proto = factory.buildProtocol(transport.getPeer())
    proto.makeConnection(transport)
    login = next(c for c in load_chunks("ami-eventfilter") if c.direction == "tx")
    proto.dataReceived(login.data)
    offered = []
    for message in unfiltered:
        if message.kind == "event" and message.name not in LOGIN_EVENTS:
            if message.name == "OriginateResponse":  # the two runs used different ActionIDs
                message = Message.of([(k, "orig-agi-route-filtered" if k == "ActionID" else v)
                                      for k, v in message.headers])
            offered.append(message)
            factory.broadcast(message)
    _, sent = parse_server_stream(transport.value())
    return offered, filtered, sent


def test_filtered_session_gets_exactly_what_asterisk_sent_cti_filtered() -> None:
    _, filtered, sent = _run()
    want = Counter(normalise(m) for m in filtered if m.kind == "event")
    got = Counter(normalise(m) for m in sent if m.kind == "event")
    assert sum(got.values()) == 62
    assert got == want


def test_login_reply_and_login_events_are_not_filtered() -> None:
    _, filtered, sent = _run()
    assert_conforms(filtered[:3], sent[:3])
    assert [m.name for m in sent[:3]] == ["Success", "FullyBooted", "SuccessfulAuth"]


def test_filter_keeps_the_order_of_the_stream() -> None:
    offered, _, sent = _run()
    kept = [m for m in offered if m.name not in ("VarSet", "Newexten")]
    assert [m for m in sent if m.kind == "event" and m.name not in LOGIN_EVENTS] == kept
    dropped = Counter(m.name for m in offered) - Counter(m.name for m in kept)
    assert dropped == Counter({"VarSet": 30, "Newexten": 24})
