"""Loading extensions.conf: the real Asterisk's dialplan from the captures, and the file syntax."""
from pathlib import Path

import pytest

from cti.pbxsim.dialplan import Dialplan, DialplanIncludeError, DialplanSyntaxError
from cti.pbxsim.dialplan.config import strip_comments

CAPTURE_DIALPLAN = Path(__file__).parents[1] / "fixtures" / "asterisk-captures" / "config" / "extensions.conf"


@pytest.fixture(scope="module")
def capture() -> Dialplan:
    return Dialplan.from_files([CAPTURE_DIALPLAN])


def steps_of(dialplan: Dialplan, context: str, exten: str) -> list[tuple[int, str | None, str, str]]:
    ext = dialplan.contexts[context].find_extension(exten, None)
    assert ext is not None
    return [(s.priority, s.label, s.app, s.data) for s in sorted(ext.steps.values(), key=lambda s: s.priority)]


class TestCaptureDialplan:
    def test_every_context_globals_and_general(self, capture):
        assert list(capture.contexts) == [
            "hotline", "agents", "callers", "default", "cti-inbound", "cti-wait", "cti-wait-agi",
            "cti-connect", "cti-xfer", "cti-hold", "cti-wrap", "supervisor"]
        assert capture.globals == {"AGI_HOST": "127.0.0.1:4573"}
        assert capture.general == {"static": "yes", "writeprotect": "yes", "clearglobalvars": "no"}
        assert capture.notes == []

    def test_hotline_10010_steps_in_order(self, capture):
        assert steps_of(capture, "hotline", "10010") == [
            (1, None, "NoOp", "Hotline call from ${CALLERID(all)} uid=${UNIQUEID}"),
            (2, None, "Answer", ""),
            (3, None, "Set", "ACD_TARGET="),
            (4, None, "AGI", "agi://${AGI_HOST}/route,hotline,${CALLERID(num)}"),
            (5, None, "NoOp", "AGISTATUS=${AGISTATUS} ACD_TARGET=${ACD_TARGET}"),
            (6, None, "GotoIf", '$["${ACD_TARGET}" = ""]?noroute'),
            (7, None, "Set", "RECFILE=acd-${UNIQUEID}"),
            (8, None, "MixMonitor", "${RECFILE}.wav,b"),
            # the trailing "; g: continue in dialplan ..." comment is gone
            (9, None, "Dial", "${ACD_TARGET},20,g"),
            (10, None, "NoOp", "DIALSTATUS=${DIALSTATUS} MIXMONITOR_FILENAME=${MIXMONITOR_FILENAME}"),
            (11, None, "StopMixMonitor", ""),
            (12, None, "Hangup", ""),
            (13, "noroute", "Playback", "ss-noservice"),
            (14, None, "Hangup", ""),
        ]

    def test_sources_are_file_and_line(self, capture):
        step = capture.find("hotline", "10010", 9)
        assert step.source == "extensions.conf:21"
        assert capture.find("cti-connect", "s", 5).source == "extensions.conf:177"

    def test_cti_flow_steps(self, capture):
        assert capture.find("cti-connect", "s", 5).data == '$["${DIALSTATUS}" != "ANSWER"]?cti-wait,s,1'
        assert capture.find("cti-connect", "s", 5).app == "GotoIf"
        assert capture.find("cti-wait-agi", "s", 4).data == '$["${AGISTATUS}" = "FAILURE"]?cti-wait,s,1'
        assert capture.find("cti-inbound", "20010", 6).app == "Goto"
        assert capture.find("cti-inbound", "20010", 6).data == "cti-wait,s,1"
        assert capture.find("cti-inbound", "20020", 5).data == "cti-wait-agi,s,1"
        assert capture.find("cti-wait", "s", 3) == capture.find("cti-wait", "s", 3)
        assert (capture.find("cti-wait", "s", 3).app, capture.find("cti-wait", "s", 3).data) == ("Goto", "loop")

    def test_loop_labels(self, capture):
        assert capture.label_priority("cti-wait", "s", "loop") == 2
        assert capture.label_priority("cti-wait-agi", "s", "loop") == 2
        assert capture.label_priority("callers", "102", "loop") == 5
        assert capture.label_priority("hotline", "10010", "noroute") == 13
        assert capture.find("callers", "102", 5).label == "loop"

    def test_hint_and_dial_of_the_sip_phone(self, capture):
        assert capture.hint("agents", "6001") == "PJSIP/6001"
        assert capture.find("agents", "6001", 1).data == "PJSIP/6001,20"
        assert capture.find("agents", "6001", 2).app == "Hangup"
        assert list(capture.iter_hints()) == [("agents", "6001", "PJSIP/6001")]

    def test_agent_patterns(self, capture):
        assert capture.find("agents", "1001", 1).exten == "_1XXX"
        assert capture.find("agents", "1001", 4).data == "30"
        assert capture.find("agents", "2002", 4).data == "8"
        assert capture.find("agents", "3001", 2).app == "Ringing"
        assert capture.find("agents", "4001", 1).app == "Busy"
        assert capture.find("agents", "4001", 2) is None
        assert capture.find("agents", "5001", 1) is None
        assert capture.find("agents", "10001", 1) is None

    def test_h_and_s_extensions(self, capture):
        assert capture.find("hotline", "h", 1).data == "hotline h-exten ${CHANNEL} cause=${HANGUPCAUSE}"
        assert capture.find("default", "s", 2).app == "Hangup"


class TestFileSyntax:
    def test_escaped_semicolon_and_block_comments(self):
        dp = Dialplan.from_text(
            "[c]\n"
            "exten => 1,1,NoOp(a\\;b) ; real comment\n"
            ";-- a block comment\n"
            "exten => 1,2,NoOp(hidden)\n"
            "--;\n"
            "exten => 1,2,NoOp(after ;-- inline --; block)\n")
        assert dp.find("c", "1", 1).data == "a;b"
        assert dp.find("c", "1", 2).data == "after  block"

    def test_strip_comments_nesting(self):
        assert strip_comments("a ;-- x ;-- y --; z --; b", 0) == ("a  b", 0)
        assert strip_comments("a ;-- open", 0) == ("a ", 1)
        assert strip_comments("still --; out", 1) == (" out", 0)

    def test_equals_forms_and_whitespace(self):
        dp = Dialplan.from_text("[c]\n  exten=100 , 1 , NoOp(x)\nexten =>  100,n,Wait( 1 )\n")
        assert dp.find("c", "100", 1).app == "NoOp"
        assert dp.find("c", "100", 2).data == " 1 "

    def test_app_without_parentheses_and_nested_parentheses(self):
        dp = Dialplan.from_text("[c]\nexten => 1,1,Answer\nexten => 1,n,Set(X=$[(1+2)*3])\n")
        assert (dp.find("c", "1", 1).app, dp.find("c", "1", 1).data) == ("Answer", "")
        assert dp.find("c", "1", 2).data == "X=$[(1+2)*3]"

    def test_n_continues_from_the_previous_line_and_s_repeats_it(self):
        dp = Dialplan.from_text("[c]\nexten => 1,5,NoOp(a)\nsame => n,NoOp(b)\nexten => 1,n+2,NoOp(c)\n")
        assert [p for p in sorted(dp.contexts["c"].find_extension("1", None).steps)] == [5, 6, 9]

    def test_label_as_a_priority(self):
        dp = Dialplan.from_text("[c]\nexten => 1,1(start),NoOp(a)\nexten => 1,start+1,NoOp(b)\n")
        assert dp.find("c", "1", 2).data == "b"

    def test_templates_and_additions(self):
        dp = Dialplan.from_text(
            "[base](!)\nexten => s,1,NoOp(from template)\n"
            "[child](base)\nexten => s,2,NoOp(own)\n"
            "[other]\nexten => 1,1,NoOp(x)\n"
            "[child](+)\nexten => s,3,NoOp(added)\n")
        assert "base" not in dp.contexts
        assert [dp.find("child", "s", p).data for p in (1, 2, 3)] == ["from template", "own", "added"]

    def test_repeated_context_sections_merge(self):
        dp = Dialplan.from_text("[c]\nexten => 1,1,NoOp(a)\n[d]\nexten => 1,1,NoOp(d)\n[c]\nexten => 2,1,NoOp(b)\n")
        assert dp.exists("c", "1") and dp.exists("c", "2")

    def test_extension_name_uses_globals(self):
        dp = Dialplan.from_text("[globals]\nBASE=77\nFULL=${BASE}01\n[c]\nexten => ${FULL},1,NoOp()\n")
        assert dp.globals == {"BASE": "77", "FULL": "7701"}
        assert dp.exists("c", "7701")

    def test_commas_inside_a_pattern_set(self):
        dp = Dialplan.from_text("[c]\nexten => _[1,2]XX,1,NoOp(set)\n")
        assert dp.find("c", "150", 1).exten == "_[1,2]XX"
        assert dp.find("c", "250", 1) is not None
        assert dp.find("c", ",50", 1) is not None  # a comma is a member of that set, as in Asterisk

    def test_ignored_directives_are_noted(self):
        dp = Dialplan.from_text(
            "[c]\nswitch => Realtime/c@ext\nignorepat => 9\ninclude => d,09:00-17:00,mon-fri,*,*\n"
            "include => nowhere\nexten => _.,1,NoOp()\nexten => 100/555,1,NoOp(vip)\n#exec /bin/true\n[d]\n")
        notes = "\n".join(dp.notes)
        for expected in ("#exec", "switch", "ignorepat", "time condition", "'nowhere', which does not exist",
                         "strongly discouraged", "caller id"):
            assert expected in notes
        assert dp.contexts["c"].includes == ["d", "nowhere"]


class TestIncludes:
    def test_relative_and_glob_includes(self, tmp_path):
        (tmp_path / "extensions.conf").write_text('[globals]\nX=1\n#include "extensions.d/*.conf"\n#include <tail.conf>\n')
        (tmp_path / "extensions.d").mkdir()
        (tmp_path / "extensions.d" / "a.conf").write_text("[a]\nexten => s,1,NoOp(a)\n")
        (tmp_path / "extensions.d" / "b.conf").write_text("[b]\nexten => s,1,NoOp(b)\n")
        (tmp_path / "tail.conf").write_text("exten => s,2,NoOp(still in b)\n")
        dp = Dialplan.from_files([tmp_path / "extensions.conf"])
        assert dp.find("a", "s", 1).source == "extensions.d/a.conf:2"
        assert dp.find("b", "s", 2).data == "still in b"
        assert dp.find("b", "s", 2).source == "tail.conf:1"

    def test_several_files_and_tryinclude(self, tmp_path):
        (tmp_path / "one.conf").write_text("[one]\nexten => 1,1,NoOp()\n#tryinclude missing.conf\n")
        (tmp_path / "two.conf").write_text("[two]\nexten => 2,1,Goto(one,1,1)\n")
        dp = Dialplan.from_files([tmp_path / "one.conf", tmp_path / "two.conf"])
        assert dp.exists("one", "1") and dp.exists("two", "2")

    def test_missing_include_is_an_error_with_its_line(self, tmp_path):
        (tmp_path / "extensions.conf").write_text("[c]\n\n#include nothere.conf\n")
        with pytest.raises(DialplanIncludeError) as caught:
            Dialplan.from_files([tmp_path / "extensions.conf"])
        assert caught.value.source == "extensions.conf:3"
        assert "nothere.conf" in str(caught.value)

    def test_include_loop_is_an_error(self, tmp_path):
        (tmp_path / "a.conf").write_text("[c]\n#include b.conf\n")
        (tmp_path / "b.conf").write_text("#include a.conf\n")
        with pytest.raises(DialplanIncludeError, match="includes itself"):
            Dialplan.from_files([tmp_path / "a.conf"])

    def test_missing_top_level_file(self, tmp_path):
        with pytest.raises(DialplanIncludeError, match="does not exist"):
            Dialplan.from_files([tmp_path / "absent.conf"])

    def test_include_from_text_is_refused(self):
        with pytest.raises(DialplanIncludeError, match="text dialplan"):
            Dialplan.from_text("#include other.conf\n")


@pytest.mark.parametrize("text, line, fragment", [
    ("[c]\nexten 1,1,NoOp()\n", 2, "no '='"),
    ("exten => 1,1,NoOp()\n", 1, "before any [category]"),
    ("[c\n", 1, "no closing ']'"),
    ("[c] junk\n", 1, "unexpected text"),
    ("[c](nosuch)\n", 1, "template 'nosuch'"),
    ("[c](+)\n", 1, "never defined"),
    ("[c]\n#frobnicate\n", 2, "unknown directive"),
    ("[c]\nexten => 1,n,NoOp()\n", 2, "first entry"),
    ("[c]\nsame => n,NoOp()\n", 2, "no extension before it"),
    ("[c]\nexten => 1,1,NoOp()\nexten => 1,1,NoOp(again)\n", 3, "already has priority 1"),
    ("[c]\nexten => 1,1(a),NoOp()\nexten => 1,2(a),NoOp()\n", 3, "label 'a' already used"),
    ("[c]\nexten => 1,1(a,NoOp()\n", 2, "label missing"),
    ("[c]\nexten => 1,1,NoOp(x\n", 2, "no closing parenthesis"),
    ("[c]\nexten => 1,one,NoOp()\n", 2, "invalid priority/label 'one'"),
    ("[c]\nexten => 1,0,NoOp()\n", 2, "invalid priority"),
    ("[c]\nexten => 1,hint,SIP/1\nsame => n,NoOp()\n", 3, "after a hint"),
    ("[c]\nexten => 1,hint,SIP/1\nexten => 1,hint,SIP/2\n", 3, "already has a hint"),
    ("[c]\nexten => _1[23,1,NoOp()\n", 2, "wrong usage of []"),
    ("[c]\nfrobnicate => 1\n", 2, "unknown directive 'frobnicate'"),
    ("[c]\nexten => ,1,NoOp()\n", 2, "extension name is empty"),
    ("[c]\n;-- never closed\n", 2, "unterminated"),
])
def test_broken_dialplans_raise_with_file_and_line(text, line, fragment):
    with pytest.raises(DialplanSyntaxError) as caught:
        Dialplan.from_text(text, name="bad.conf")
    assert caught.value.source == f"bad.conf:{line}"
    assert fragment in str(caught.value)
    assert str(caught.value).startswith(f"bad.conf:{line}: ")


def test_unknown_applications_are_not_a_load_error():
    dp = Dialplan.from_text("[c]\nexten => 1,1,NoSuchApplication(whatever)\n")
    assert dp.find("c", "1", 1).app == "NoSuchApplication"


def test_includes_relative_to_a_config_dir(tmp_path):
    """Asterisk resolves ``#include ctid/x.conf`` against its config dir, not the includer's."""
    (tmp_path / "etc" / "ctid").mkdir(parents=True)
    (tmp_path / "etc" / "ctid" / "x.conf").write_text("[x]\nexten => s,1,NoOp()\n")
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "extensions.conf").write_text('#include "ctid/x.conf"\n')
    with pytest.raises(DialplanIncludeError):
        Dialplan.from_files([tmp_path / "repo" / "extensions.conf"])
    dp = Dialplan.from_files([tmp_path / "repo" / "extensions.conf"], config_dir=tmp_path / "etc")
    assert dp.exists("x", "s")


def test_check_targets_finds_gotos_that_lead_nowhere(capture):
    assert capture.check_targets() == []
    dp = Dialplan.from_text(
        "[c]\nexten => s,1,Goto(nowhere)\n"
        'same => n,GotoIf($["?" = "x"]?d,s,1:s,9)\n'
        "same => n,Goto(${X},1)\nsame => n,Goto(+1)\n"
        "[d]\nexten => _X.,1,Goto(top)\nsame => n(top),Goto(1)\n", name="t.conf")
    assert dp.check_targets() == [
        "t.conf:2: Goto(nowhere): no priority or label 'nowhere' in c,s",
        't.conf:3: GotoIf($["?" = "x"]?d,s,1:s,9): d,s,1 does not exist',
        't.conf:3: GotoIf($["?" = "x"]?d,s,1:s,9): no priority or label \'9\' in c,s',
    ]
