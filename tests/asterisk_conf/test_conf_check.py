"""The configuration checker finds each kind of mistake it is there for (a seeded mistake
per check), so a clean run of test_conf_files means something."""
from __future__ import annotations

import textwrap

from cti.pbxsim.dialplan import Dialplan

from . import conf_check as cc

GOOD = """
[in]
exten => s,1,Answer()
 same => n,Playback(beep&welcome)
 same => n(menu),Read(CHOICE,main-menu,1)
 same => n,GotoIf($["${CHOICE}" = "1"]?bill,s,1:menu)
 same => n,Dial(PJSIP/6001,15,U(rec^${UNIQUEID})F(after^s^1))
 same => n,Gosub(sub,s,1(x))
[bill]
include => common
exten => s,1,SayNumber(12)
 same => n,Hangup()
[common]
exten => 0,1,Goto(in,s,menu)
[rec]
exten => s,1,MixMonitor(${ARG1}.wav)
 same => n,Return()
[after]
exten => s,1,Hangup()
[sub]
exten => s,1,Set(CTI_TIER=gold)
 same => n,Return()
"""


def checked(text: str) -> Dialplan:
    return Dialplan.from_text(textwrap.dedent(text))


def all_modules() -> cc.Modules:
    return cc.Modules(autoload=True, loaded=set(), noload=set())


def test_a_correct_dialplan_passes_every_check():
    plan = checked(GOOD)
    assert cc.target_problems(plan) == []
    assert cc.application_problems(plan, all_modules()) == []
    assert cc.sound_problems(plan, {"welcome", "main-menu"}, cc.core_sounds()) == []


def test_seeded_wrong_targets_are_each_found():
    plan = checked(GOOD.replace("?bill,s,1:menu", "?bil,s,1:menue")
                   .replace("F(after^s^1)", "F(after^s^2)")
                   .replace("U(rec^", "U(record^")
                   .replace("Gosub(sub,s,1(x))", "Gosub(subr,s,1(x))")
                   .replace("include => common", "include => commons"))
    problems = "\n".join(cc.target_problems(plan))
    for expected in ("no context 'bil'", "no in,s,menue", "no after,s,2", "no context 'record'",
                     "no context 'subr'", "unknown context 'commons'"):
        assert expected in problems


def test_seeded_unknown_application_and_unloaded_module_are_found():
    plan = checked(GOOD.replace("SayNumber(12)", "SayNumbr(12)"))
    assert [p.split(": ", 1)[1] for p in cc.application_problems(plan, all_modules())] == \
        ["no application 'SayNumbr' in Asterisk 22"]
    no_read = cc.Modules(autoload=True, loaded=set(), noload={"app_read.so"})
    assert ["Read needs app_read.so, which modules.conf does not load"] == \
        [p.split(": ", 1)[1] for p in cc.application_problems(checked(GOOD), no_read)]
    only_listed = cc.Modules(autoload=False, loaded={"app_playback.so"}, noload=set())
    missing = {p.split(" needs ")[1].split(",")[0] for p in cc.application_problems(checked(GOOD), only_listed)}
    assert missing == {"app_read.so", "app_dial.so", "app_stack.so", "app_mixmonitor.so"}


def test_seeded_missing_sound_is_found():
    problems = cc.sound_problems(checked(GOOD), {"welcome"}, cc.core_sounds())
    assert len(problems) == 1 and "'main-menu'" in problems[0]


def test_seeded_variable_nobody_sets_is_found(tmp_path):
    code = tmp_path / "code"
    code.mkdir()
    (code / "route.py").write_text("async def route(session):\n"
                                   "    await session.set_variable(V.SKILL, 'billing')\n")
    reads = {"TIER": "CTI_TIER", "SKILL": "CTI_SKILL", "AGENT": "CTI_AGENT"}
    by_code = cc.code_sets(code, reads)
    assert by_code == {"CTI_SKILL"}
    problems = cc.variable_problems(reads, cc.dialplan_sets(checked(GOOD)), by_code)
    assert problems == ["channel variable CTI_AGENT (AGENT) is read by ctid but set nowhere"]


def test_seeded_unknown_options_and_values_are_found(tmp_path):
    dahdi = tmp_path / "chan_dahdi.conf"
    dahdi.write_text("[channels]\nsignalling = pri_cpe\nswichtype = euroisdn\n"
                     "[r2](!)\nmfcr2_variant = china\n[span3](r2)\nchannel => 63-77\n")
    problems = cc.option_problems(dahdi)
    assert len(problems) == 2
    assert "no option 'swichtype'" in problems[0] and "mfcr2_variant = china" in problems[1]
    pjsip = tmp_path / "pjsip.conf"
    pjsip.write_text("[t](!)\ntype = endpoint\n[6001](t)\ncontext = x\ndirectmedia = no\n"
                     "[6001]\ntype = aor\nmax_contacts = 1\n[x]\ntype = trunk\n")
    problems = cc.option_problems(pjsip)
    assert len(problems) == 2 and "endpoint has no option 'directmedia'" in problems[0]
    assert "unknown pjsip object type 'trunk'" in problems[1]
    manager = tmp_path / "manager.conf"
    manager.write_text("[general]\nenabled = yes\nsecret = x\n[ctid]\nsecret = x\nread = call\n"
                       "eventfilter = !Event: VarSet\nwritetimout = 100\n")
    problems = cc.option_problems(manager)
    assert [p.split(": ", 1)[1] for p in problems] == [
        "manager.conf [general] has no option 'secret'", "manager.conf [ctid] has no option 'writetimout'"]
