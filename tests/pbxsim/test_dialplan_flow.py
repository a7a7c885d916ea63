"""The API used the way the engine uses it: walk the captured dialplan's CTI flow step by step.

The walker here handles only the flow-control applications (Set, Goto, GotoIf) and records the
rest, so the test checks that find/substitute/evaluate/split_args/parse_goto*/resolve_priority
fit together into what a real Asterisk did in the captures.
"""
from pathlib import Path

import pytest

from cti.pbxsim.dialplan import (Dialplan, check_condition, parse_goto, parse_gotoif, parse_set,
                                 split_args, substitute)

CAPTURE_DIALPLAN = Path(__file__).parents[1] / "fixtures" / "asterisk-captures" / "config" / "extensions.conf"


@pytest.fixture(scope="module")
def dialplan() -> Dialplan:
    return Dialplan.from_files([CAPTURE_DIALPLAN])


def walk(dialplan, context, exten, variables, stop_at=("MusicOnHold", "AGI", "Dial", "Hangup"), limit=500,
         endless=False):
    """Run steps from (context, exten, 1); return [(context, exten, priority, app, args)] run.

    Stops after an application in ``stop_at``; after ``limit`` steps it fails, unless the flow
    is expected to loop (``endless``).
    """
    priority, ran = 1, []

    def resolve(name):
        return {"EXTEN": exten, "CONTEXT": context, "PRIORITY": str(priority)}.get(name, variables.get(name))

    def call_function(name, args):
        return {"CALLERID": {"num": "5551234", "all": "<5551234>"}}.get(name, {}).get(args)

    for _ in range(limit):
        step = dialplan.find(context, exten, priority)
        assert step is not None, f"fell off the dialplan at {context},{exten},{priority}"
        data = substitute(step.data, resolve, call_function)
        ran.append((context, exten, priority, step.app, split_args(data)))
        if step.app in stop_at:
            return ran
        if step.app == "Set":
            name, value = parse_set(data)
            variables[name] = value
        elif step.app in ("Goto", "GotoIf"):
            target = data
            if step.app == "GotoIf":
                condition, if_true, if_false = parse_gotoif(data)
                target = if_true if check_condition(condition) else if_false
            if target:
                context, exten, where = parse_goto(split_args(target), (context, exten))
                priority = dialplan.resolve_priority(context, exten, where, priority)
                continue
        priority += 1
    assert endless, "step limit reached"
    return ran


def test_inbound_call_reaches_the_wait_loop(dialplan):
    variables = {"UNIQUEID": "1795362961.7", "AGI_HOST": dialplan.globals["AGI_HOST"]}
    ran = walk(dialplan, "cti-inbound", "20010", variables, stop_at=("AGI",))
    assert ran[-1][3:] == ("AGI", ["agi://127.0.0.1:4573/inbound", "cti-1795362961.7", "5551234"])
    assert variables["CTI_CALL_ID"] == "cti-1795362961.7"
    # after the AGI the channel goes on to the Goto and lands on the MOH loop
    ran = walk(dialplan, "cti-inbound", "20010", variables, stop_at=("MusicOnHold",))
    assert [r[:3] for r in ran[-3:]] == [("cti-inbound", "20010", 6), ("cti-wait", "s", 1), ("cti-wait", "s", 2)]
    assert ran[-1][4] == ["default", "30"]


def test_no_answer_goes_back_to_cti_wait(dialplan):
    variables = {"CTI_CALL_ID": "cti-1", "CTI_TARGET": "Local/3001@agents", "DIALSTATUS": "NOANSWER"}
    ran = walk(dialplan, "cti-connect", "s", variables, stop_at=("MusicOnHold", "Hangup"))
    apps = [r[3] for r in ran]
    assert apps == ["NoOp", "MixMonitor", "Dial", "NoOp", "GotoIf", "NoOp", "MusicOnHold"]
    assert ran[2][4] == ["Local/3001@agents", "15"]
    assert ran[-1][:2] == ("cti-wait", "s")


def test_answered_dial_falls_through_to_hangup(dialplan):
    variables = {"CTI_CALL_ID": "cti-1", "CTI_TARGET": "PJSIP/6001", "DIALSTATUS": "ANSWER"}
    ran = walk(dialplan, "cti-connect", "s", variables, stop_at=("Hangup",))
    assert ran[-1][:4] == ("cti-connect", "s", 6, "Hangup")


def test_failed_agi_in_the_wait_loop_falls_back_to_moh(dialplan):
    variables = {"AGISTATUS": "FAILURE", "CTI_CALL_ID": "cti-1", "AGI_HOST": "127.0.0.1:4573"}
    ran = walk(dialplan, "cti-wait-agi", "s", variables, stop_at=("MusicOnHold",))
    assert ran[1][3:] == ("AGI", ["agi://127.0.0.1:4573/wait-announce", "cti-1"])
    assert ran[-1][:4] == ("cti-wait", "s", 2, "MusicOnHold")


def test_working_agi_keeps_the_caller_in_the_announcement_loop(dialplan):
    variables = {"AGISTATUS": "SUCCESS", "CTI_CALL_ID": "cti-1", "AGI_HOST": "127.0.0.1:4573"}
    ran = walk(dialplan, "cti-wait-agi", "s", variables, stop_at=(), limit=9, endless=True)
    assert [r[2] for r in ran] == [1, 2, 3, 4, 5, 2, 3, 4, 5]


def test_hotline_without_a_target_plays_noroute(dialplan):
    variables = {"UNIQUEID": "1", "AGI_HOST": "127.0.0.1:4573", "AGISTATUS": "SUCCESS"}
    ran = walk(dialplan, "hotline", "10010", variables, stop_at=("Playback", "Dial"))
    assert ran[-1][2:] == (13, "Playback", ["ss-noservice"])


def test_dtmf_handset_loops_sixty_times(dialplan):
    variables: dict[str, str] = {}
    ran = walk(dialplan, "callers", "102", variables, stop_at=("Hangup",), limit=1000)
    assert sum(1 for r in ran if r[3] == "SendDTMF") == 60
    assert variables["i"] == "60"
    assert ran[-1][:4] == ("callers", "102", 9, "Hangup")
