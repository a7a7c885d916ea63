"""``Goto``/``GotoIf`` (and AGI ``SET PRIORITY``) as Asterisk runs them, seen in ``Newexten``.

Reference: ``pbx_builtin_goto``/``pbx_parseable_goto``, ``pbx_builtin_gotoif``,
``pbx_checkcondition`` and ``ast_explicit_goto`` in Asterisk 22's ``main/pbx*.c`` and
``res_agi.c``. Each step a real Asterisk runs publishes one ``Newexten`` carrying the step's
location and its data after substitution (``AppData: 0?noroute`` in the captures), so the list
of ``(Exten, Priority, Application, AppData)`` is what a test compares.
"""
from __future__ import annotations

import logging

import pytest
from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from cti.pbxsim.dialplan import Dialplan
from cti.pbxsim.engine import PBX
from cti.pbxsim.engine.pbx import InvalidPriority

DIALPLAN = """
[t]
exten => fwd,1,Goto(+2)
 same => n,NoOp(skipped)
 same => n,NoOp(landed)
 same => n,Hangup()
exten => back,1,Set(i=0)
 same => n,Set(i=$[${i} + 1])
 same => n,GotoIf($[${i} < 3]?-1)
 same => n,Hangup()
exten => cross,1,NoOp(cross)
 same => n,Goto(far,+2)
exten => far,1,NoOp(far 1)
 same => n,NoOp(far 2)
 same => n,NoOp(far 3)
 same => n,NoOp(far 4)
 same => n,Hangup()
exten => under,1,NoOp(under)
 same => n,Goto(-9)
 same => n,NoOp(after)
 same => n,Hangup()
exten => labels,1,Goto(ahead)
 same => n,NoOp(skipped)
 same => n(ahead),Goto(u,555,top)
exten => lost,1,Wait(1)
 same => n,Goto(nowhere)
 same => n,NoOp(never)
exten => lostif,1,Wait(1)
 same => n,GotoIf(1?u,555,nowhere:t,fwd,1)
 same => n,NoOp(never)
exten => empty,1,Wait(1)
 same => n,Goto()
 same => n,NoOp(never)
exten => cond,1,GotoIf(${COND}?yes,1:no,1)
exten => onlyfalse,1,GotoIf(${COND}?:no,1)
 same => n,Hangup()
exten => onlytrue,1,GotoIf(${COND}?yes,1)
 same => n,Hangup()
exten => yes,1,Hangup()
exten => no,1,Hangup()
exten => h,1,NoOp(h of t)
exten => agi,1,NoOp(before agi)
 same => n,AGI(agi://ctid/route)
 same => n,NoOp(after agi)
 same => n,Hangup()

[hh]
exten => s,1,Hangup(17)
exten => h,1,NoOp(h of hh)
 same => n,GotoIf($["${HANGUPCAUSE}" = "17"]?done)
 same => n,NoOp(skipped in h)
 same => n(done),NoOp(h done)

[u]
exten => _5XX,1,NoOp(pattern start)
 same => n(top),NoOp(label in a pattern)
 same => n,Hangup()
exten => agi,1,NoOp(u 1)
 same => n,NoOp(u 2)
 same => n,NoOp(u 3)
 same => n(mark),NoOp(u mark)
 same => n,Hangup()
"""


class World:
    """A PBX on a :class:`Clock`; FastAGI sessions are answered with scripted lines."""

    def __init__(self, agi_lines: tuple[str, ...] = ()):
        self.clock = Clock()
        self.agi_lines = agi_lines
        self.agi_transport = StringTransport()
        self.pbx = PBX(Dialplan.from_text(DIALPLAN), reactor=self.clock, seed=7,
                       agi_connector=self.connect)
        self.events = []
        self.pbx.subscribe(self.events.append)

    def connect(self, host, port, proto):
        proto.makeConnection(self.agi_transport)
        self.agi_transport.clear()                   # the environment block
        for line in self.agi_lines:
            proto.dataReceived(line.encode() + b"\n")
        self.clock.callLater(0, proto.readConnectionLost)
        return defer.succeed(proto)

    def agi_replies(self) -> str:
        return self.agi_transport.value().decode()

    def call(self, exten: str, seconds: float = 5, context: str = "t", **variables: str):
        handle = self.pbx.place_call("5550100", context, exten, variables=variables)
        self.clock.advance(0)
        for _ in range(int(seconds * 10)):
            self.clock.advance(0.1)
        return handle

    def steps(self, handle) -> list[tuple[str, str, str, str, str]]:
        return [(m["Context"], m["Extension"], m["Priority"], m["Application"], m["AppData"])
                for m in self.events if m.name == "Newexten" and m["Channel"] == handle.name]

    def hangups(self, handle) -> list[str]:
        return [m["Cause"] for m in self.events if m.name == "Hangup" and m["Channel"] == handle.name]


def h_steps():
    return [("t", "h", "1", "NoOp", "h of t")]


# -- relative priorities ----------------------------------------------------------------------
def test_plus_n_is_relative_to_the_goto_step():
    world = World()
    call = world.call("fwd")
    assert world.steps(call) == [("t", "fwd", "1", "Goto", "+2"),
                                 ("t", "fwd", "3", "NoOp", "landed"),
                                 ("t", "fwd", "4", "Hangup", ""), *h_steps()]


def test_minus_n_loops_back_until_the_condition_fails():
    world = World()
    call = world.call("back")
    assert world.steps(call) == [("t", "back", "1", "Set", "i=0"),
                                 ("t", "back", "2", "Set", "i=1"),
                                 ("t", "back", "3", "GotoIf", "1?-1"),
                                 ("t", "back", "2", "Set", "i=2"),
                                 ("t", "back", "3", "GotoIf", "1?-1"),
                                 ("t", "back", "2", "Set", "i=3"),
                                 ("t", "back", "3", "GotoIf", "0?-1"),
                                 ("t", "back", "4", "Hangup", ""), *h_steps()]


def test_relative_priority_into_another_extension_counts_from_the_current_one():
    world = World()
    call = world.call("cross")
    assert world.steps(call)[:3] == [("t", "cross", "1", "NoOp", "cross"),
                                     ("t", "cross", "2", "Goto", "far,+2"),
                                     ("t", "far", "4", "NoOp", "far 4")]


def test_a_relative_priority_below_zero_is_not_set_so_the_next_step_runs():
    # ast_explicit_goto only sets a priority > -1; the loop then adds one as usual
    world = World()
    call = world.call("under")
    assert world.steps(call)[:4] == [("t", "under", "1", "NoOp", "under"),
                                     ("t", "under", "2", "Goto", "-9"),
                                     ("t", "under", "3", "NoOp", "after"),
                                     ("t", "under", "4", "Hangup", "")]


# -- labels -----------------------------------------------------------------------------------
def test_labels_in_this_extension_and_in_a_pattern_of_another_context():
    world = World()
    call = world.call("labels")
    assert world.steps(call) == [("t", "labels", "1", "Goto", "ahead"),
                                 ("t", "labels", "3", "Goto", "u,555,top"),
                                 ("u", "555", "2", "NoOp", "label in a pattern"),
                                 ("u", "555", "3", "Hangup", "")]   # no h in [u]
    assert world.hangups(call) == ["16"] and world.pbx.channels() == []


@pytest.mark.parametrize("exten, app, data", [("lost", "Goto", "nowhere"),
                                              ("lostif", "GotoIf", "1?u,555,nowhere:t,fwd,1"),
                                              ("empty", "Goto", "")])
def test_a_goto_that_leads_nowhere_fails_and_hangs_up(caplog, exten, app, data):
    world = World()
    with caplog.at_level(logging.WARNING, logger="cti.pbxsim.engine"):
        call = world.call(exten, seconds=10)
    assert world.steps(call) == [("t", exten, "1", "Wait", "1"),
                                 ("t", exten, "2", app, data), *h_steps()]
    assert call.ended.called and call.ended_at == pytest.approx(1.0, abs=0.15)
    assert world.hangups(call) == ["16"] and world.pbx.channels() == []
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(call.name in text and "hanging up" in text for text in warnings), warnings


def test_a_goto_in_the_h_extension_is_followed():
    world = World()
    call = world.call("s", context="hh")
    assert world.steps(call) == [("hh", "s", "1", "Hangup", "17"),
                                 ("hh", "h", "1", "NoOp", "h of hh"),
                                 ("hh", "h", "2", "GotoIf", "1?done"),
                                 ("hh", "h", "4", "NoOp", "h done")]
    assert world.hangups(call) == ["17"]


# -- GotoIf -------------------------------------------------------------------------------------
@pytest.mark.parametrize("condition, truth", [
    ("1", True), ("0", False), ("", False), ("-1", True), ("007", True),
    ("0abc", False),            # sscanf("%d") reads the leading 0
    ("0.5", False),             # ... and stops at the dot: not a float
    (" ", True),                # not empty, and no number to read: any other text is true
    (" 0x", False), ("abc", True), ("yes", True), ("+3", True),
])
def test_gotoif_truth_follows_pbx_checkcondition(condition, truth):
    world = World()
    call = world.call("cond", COND=condition)
    branch = "yes" if truth else "no"
    assert world.steps(call) == [("t", "cond", "1", "GotoIf", f"{condition}?yes,1:no,1"),
                                 ("t", branch, "1", "Hangup", ""), *h_steps()]


@pytest.mark.parametrize("condition, expected", [
    ("1", ("t", "onlyfalse", "2", "Hangup", "")),   # the true branch is empty: go on
    ("0", ("t", "no", "1", "Hangup", "")),
])
def test_gotoif_with_only_a_false_branch(condition, expected):
    world = World()
    call = world.call("onlyfalse", COND=condition)
    assert world.steps(call) == [("t", "onlyfalse", "1", "GotoIf", f"{condition}?:no,1"),
                                 expected, *h_steps()]


@pytest.mark.parametrize("condition, expected", [
    ("1", ("t", "yes", "1", "Hangup", "")),
    ("0", ("t", "onlytrue", "2", "Hangup", "")),    # no false branch: go on
])
def test_gotoif_with_only_a_true_branch(condition, expected):
    world = World()
    call = world.call("onlytrue", COND=condition)
    assert world.steps(call)[:2] == [("t", "onlytrue", "1", "GotoIf", f"{condition}?yes,1"),
                                     expected]


# -- AGI SET CONTEXT / EXTENSION / PRIORITY ------------------------------------------------------
def test_agi_set_context_and_extension_go_on_after_the_agi_step():
    world = World(agi_lines=("SET CONTEXT u", "SET EXTENSION agi"))
    call = world.call("agi")
    assert world.steps(call)[:3] == [("t", "agi", "1", "NoOp", "before agi"),
                                     ("t", "agi", "2", "AGI", "agi://ctid/route"),
                                     ("u", "agi", "3", "NoOp", "u 3")]


def test_agi_set_priority_takes_a_label_of_the_new_place():
    world = World(agi_lines=("SET CONTEXT u", "SET EXTENSION agi", "SET PRIORITY mark"))
    call = world.call("agi")
    assert world.agi_replies().split("\n")[:3] == ["200 result=0"] * 3
    assert world.steps(call)[2] == ("u", "agi", "4", "NoOp", "u mark")


def test_agi_set_priority_with_an_unknown_label_is_a_usage_error_and_moves_nothing():
    world = World(agi_lines=("SET PRIORITY nowhere",))
    call = world.call("agi")
    assert world.agi_replies().startswith("520-Invalid command syntax.")
    assert world.steps(call)[2] == ("t", "agi", "3", "NoOp", "after agi")


# -- AMI Redirect / Originate priorities --------------------------------------------------------
def test_redirect_and_originate_take_a_number_or_a_label_and_refuse_anything_else():
    world = World()
    call = world.call("lost", seconds=0)                 # in Wait(1)
    with pytest.raises(InvalidPriority):
        world.pbx.redirect(call.name, "u", "555", "nowhere")
    with pytest.raises(InvalidPriority):
        world.pbx.originate("Local/555@u", context="u", exten="555", priority="nowhere")
    assert [c.name for c in world.pbx.channels()] == [call.name]   # nothing was created
    assert world.pbx.priority_number("u", "555", "top") == 2
    assert world.pbx.priority_number("u", "555", " 3") == 3
    assert world.pbx.priority_number("u", "555", None) == 1
