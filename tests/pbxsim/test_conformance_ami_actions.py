"""``ami-actions`` replayed against the AMI server and the real engine.

The client side of the capture runs against the simulator with the capture's dialplan and
users. What this test holds the AMI server to is the action/response part of the stream:
every response, every list item and list-complete event, every event carrying the session's
``ActionID`` (``OriginateResponse``), the login events and the ``RequestBadFormat`` security
events. The channel events the calls produce are the engine's to match and are left out here.

Documented exceptions (``docs/decisions/0003-pbxsim-conformance.md``):

* the app_queue actions (``QueueStatus``, ``QueueSummary``, ``QueueAdd``, ``QueuePause``,
  ``QueueRemove``) are not simulated: ctid runs its own ACD and never sends them. The
  simulator answers them as unknown actions; :func:`test_queue_actions_are_unknown_commands`
  pins that.
* ``Command`` output is the engine's CLI text: for ``core show version`` (build host and date)
  the reply is compared without its ``Output`` lines; ``queue show`` is not a CLI command of
  the engine, so only its ``ActionID`` and ``Message`` are compared.
"""
from __future__ import annotations

import itertools

import pytest
from twisted.internet.task import Clock

from cti.pbxsim import engine
from cti.pbxsim.ami import AMIServerFactory, load_manager_conf
from cti.pbxsim.dialplan.dialplan import Dialplan
from cti.protocol.ami_message import Message

from .conformance import (CAPTURES, MANAGER_CONF, assert_conforms, captured_server_messages,
                          parse_server_stream, replay)

CAPTURE = "ami-actions"
QUEUE_ACTIONS = ("QueueStatus", "QueueSummary", "QueueAdd", "QueuePause", "QueueRemove")
QUEUE_IDS = ("qstatus", "qsummary", "qadd", "qpause", "qremove")
CLI_TEXT_EXCEPTIONS = {"cmd-version", "cmd-queue-show"}
SESSION_EVENTS = {"FullyBooted", "SuccessfulAuth", "RequestBadFormat"}


def _is_queue_step(message: Message) -> bool:
    if (message.get("ActionID") or "").startswith(QUEUE_IDS):
        return True
    return message.name == "RequestBadFormat" and message["RequestType"].endswith(QUEUE_ACTIONS)


def _action_part(messages: list[Message]) -> list[Message]:
    return [m for m in messages
            if (m.kind == "response" or m.get("ActionID") or m.name in SESSION_EVENTS)
            and not _is_queue_step(m)]


def _shape(message: Message) -> Message:
    """A ``Command`` reply without its ``Output`` lines (engine CLI text), and without its
    ``Response`` for a CLI command the engine does not have."""
    dropped = {"Output", "Response"} if message["ActionID"] == "cmd-queue-show" else {"Output"}
    return Message.of([(k, v) for k, v in message.headers if k not in dropped])


def _for_comparison(messages: list[Message]) -> list[Message]:
    out = []
    for m in messages:
        out.append(_shape(m) if m.get("ActionID") in CLI_TEXT_EXCEPTIONS else m)
    return out


@pytest.fixture(scope="module")
def streams() -> tuple[list[Message], list[Message]]:
    clock = Clock()
    clock.advance(1795360160.0)
    dialplan = Dialplan.from_files([CAPTURES / "config" / "extensions.conf"])
    pbx = engine.PBX(dialplan, reactor=clock)
    factory = AMIServerFactory(load_manager_conf(MANAGER_CONF), pbx=pbx, clock=clock)
    run = replay(factory, clock, CAPTURE, settle=3.0)
    assert run.transport.disconnecting  # Logoff closed it
    _, sent = parse_server_stream(run.sent)
    _, want = captured_server_messages(CAPTURE)
    return want, sent


def test_action_replies_match_asterisk(streams) -> None:
    want, sent = streams
    expected, actual = _action_part(want), _action_part(sent)
    assert len(expected) == 45  # every reply, list item and session event of the session
    assert_conforms(_for_comparison(expected), _for_comparison(actual))


def test_command_replies_keep_their_shape_where_the_cli_text_differs(streams) -> None:
    want, sent = streams
    by_id = {m.get("ActionID"): m for m in sent if m.kind == "response"}
    version = by_id["cmd-version"]
    assert version["Response"] == "Success" and version["Message"] == "Command output follows"
    assert version.getall("Output")[0].startswith("Asterisk 22.10.1 built by ")
    assert by_id["cmd-bad"].getall("Output") == [
        "No such command 'no such cli command' (type 'core show help no such' for other "
        "possible commands)"]


def test_queue_actions_are_unknown_commands(streams) -> None:
    _, sent = streams
    replies = [m for m in sent if m.kind == "response" and _is_queue_step(m)]
    assert len(replies) == 11
    for reply in replies:
        assert reply["Response"] == "Error"
        assert reply["Message"].startswith("Invalid/unknown command: Queue")
    bad_format = [m for m in sent if m.name == "RequestBadFormat" and _is_queue_step(m)]
    assert len(bad_format) == 11


@pytest.mark.parametrize("action_id, event", [
    ("mixmon-1", "MixMonitorStart"), ("stopmixmon-1", "MixMonitorStop"),
    ("hangup-1", "SoftHangupRequest"), ("orig-1", "Newchannel")])
def test_reply_precedes_the_events_it_causes(streams, action_id: str, event: str) -> None:
    for messages in streams:  # Asterisk's order first, then the simulator's
        names = [(m.name, m.get("ActionID")) for m in messages]
        reply_at = next(i for i, m in enumerate(messages)
                        if m.kind == "response" and m.get("ActionID") == action_id)
        first_event = next(i for i, (name, _) in enumerate(names) if name == event)
        assert reply_at < first_event, (action_id, event)


def test_originate_outcomes_in_capture_order(streams) -> None:
    want, sent = streams

    def outcomes(messages):
        return [(m["ActionID"], m["Response"], m["Reason"]) for m in messages
                if m.name == "OriginateResponse"]
    assert outcomes(sent) == outcomes(want) == [
        ("orig-1", "Success", "4"), ("orig-async-busy", "Failure", "5"),
        ("orig-async-noanswer", "Failure", "3")]


def test_nothing_is_sent_twice(streams) -> None:
    _, sent = streams
    ids = [m.get("ActionID") for m in sent if m.kind == "response"]
    assert [k for k, g in itertools.groupby(sorted(filter(None, ids))) if len(list(g)) > 1] == []
