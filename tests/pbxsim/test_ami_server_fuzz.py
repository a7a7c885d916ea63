"""Garbage through the AMI server's protocol: it never raises and keeps answering."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cti.protocol.ami_message import Message

from .ami_helpers import Client, FakePBX, make_factory

_HEADER_NAMES = ["Action", "ActionID", "Channel", "Variable", "Value", "Events", "EventMask",
                 "Username", "Secret", "AuthType", "Key", "Async", "Priority", "Cause", "X"]
_ACTIONS = ["Login", "Ping", "Getvar", "Setvar", "Hangup", "Redirect", "Originate", "Status",
            "CoreShowChannels", "Events", "Challenge", "Command", "MixMonitor", "Nope", ""]

blocks = st.lists(st.tuples(st.sampled_from(_HEADER_NAMES),
                            st.one_of(st.sampled_from(_ACTIONS), st.text(max_size=20))),
                  max_size=6)


def _wire(pairs) -> bytes:
    text = "".join(f"{k}: {v}\r\n" for k, v in pairs) + "\r\n"
    return text.encode("utf-8", "surrogatepass")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunks=st.lists(st.one_of(st.binary(max_size=200), blocks.map(_wire)), max_size=12),
       login_first=st.booleans())
def test_any_input_is_answered_without_crashing(chunks: list[bytes], login_first: bool) -> None:
    pbx = FakePBX(None)
    pbx.add("Local/1@x-00000000;1")
    factory, clock = make_factory(pbx=pbx)
    client = Client(factory)
    if login_first:
        client.login()
    for chunk in chunks:
        if client.closed:
            break
        client.send(raw=chunk)
        clock.advance(1)
    assert all(isinstance(m, Message) for m in client.read())  # well-formed AMI only
    if not client.closed:
        # still alive and in step: a fresh block after the garbage gets its own answer
        # (unless the unfinished block it completes was a failed Login, which closes)
        client.send(raw=b"\r\n\r\n")
        client.send(raw=Message.of([("Action", "Logoff"), ("ActionID", "end")]).encode())
        clock.advance(1)
        replies = client.read()
        assert all(isinstance(m, Message) for m in replies)
        assert client.closed
        assert any(m.get("ActionID") == "end" or m.get("Message") == "Authentication failed"
                   for m in replies)
