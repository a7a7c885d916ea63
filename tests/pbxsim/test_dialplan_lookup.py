"""Finding the step to run: patterns, Asterisk's best-match order, includes, caller id, labels."""
import random

import pytest

from cti.pbxsim.dialplan import Dialplan, GotoError, parse_goto
from cti.pbxsim.dialplan.patterns import compile_pattern, sort_key


def one_context(*extens: str) -> Dialplan:
    lines = ["[c]"] + [f"exten => {name},1,NoOp({name})" for name in extens]
    return Dialplan.from_text("\n".join(lines) + "\n")


def winner(dp: Dialplan, number: str) -> str | None:
    step = dp.find("c", number, 1)
    return step.exten if step else None


@pytest.mark.parametrize("pattern, number, matches", [
    ("_X.", "1", False),
    ("_X.", "12", True),
    ("_X!", "1", True),
    ("_X!", "", False),
    ("_!", "", True),
    ("_NXXNXXXXXX", "2125551212", True),
    ("_NXXNXXXXXX", "1125551212", False),
    ("_NXXNXXXXXX", "212555121", False),
    ("_[1-5]XX", "512", True),
    ("_[1-5]XX", "612", False),
    ("_[13-5]X", "21", False),
    ("_[13-5]X", "41", True),
    ("_ZX", "09", False),
    ("_zx", "19", True),
    ("_1XXX", "1001", True),
    ("_1XXX", "10010", False),
    ("_1-XX X", "1234", True),       # dashes and spaces are ignored
    ("_9.", "9*#+", True),
    ("_9.X", "9a", True),            # everything after "." is ignored
    ("_a[bc]", "ac", True),
    ("_a[bc]", "Ac", False),         # literals are case-sensitive
])
def test_pattern_matching(pattern, number, matches):
    assert (compile_pattern(pattern).fullmatch(number) is not None) is matches


def test_exact_names_ignore_dashes():
    dp = one_context("555-1212")
    assert winner(dp, "5551212") == "555-1212"
    assert winner(dp, "555-1212") == "555-1212"


class TestBestMatchOrder:
    def test_exact_before_any_pattern(self):
        assert winner(one_context("_X.", "_1XXX", "1001"), "1001") == "1001"

    def test_fewer_choices_first(self):
        dp = one_context("_X.", "_XXXX", "_NXXX", "_1XXX")
        assert winner(dp, "1001") == "_1XXX"
        assert winner(dp, "2001") == "_NXXX"
        assert winner(dp, "0001") == "_XXXX"
        assert winner(dp, "00012") == "_X."

    def test_sets_rank_by_their_size(self):
        dp = one_context("_NXX", "_[2-4]XX", "_[23]XX")
        assert winner(dp, "212") == "_[23]XX"
        assert winner(dp, "412") == "_[2-4]XX"
        assert winner(dp, "512") == "_NXX"

    def test_dot_before_bang(self):
        dp = one_context("_1!", "_1.")
        assert winner(dp, "12") == "_1."
        assert winner(dp, "1") == "_1!"

    def test_order_does_not_depend_on_file_order(self):
        names = ["_X.", "_XXXX", "_NXXX", "_1XXX", "_10XX", "1001", "_[1-2]XXX", "_1!"]
        expected = winner(one_context(*names), "1001"), winner(one_context(*names), "1002")
        for seed in range(10):
            shuffled = names[:]
            random.Random(seed).shuffle(shuffled)
            dp = one_context(*shuffled)
            assert (winner(dp, "1001"), winner(dp, "1002")) == expected == ("1001", "_10XX")

    def test_sort_key_matches_asterisk_ext_cmp(self):
        # position by position: a literal, then the smallest set ([0-5] has 6 members, X 10)
        ordered = ["100", "_1[0-5]X", "_1XX", "_NXX", "_ZXX", "_XXX", "_X.", "_X!"]
        assert sorted(reversed(ordered), key=sort_key) == ordered

    def test_an_extension_without_the_priority_falls_through_to_the_next_match(self):
        dp = Dialplan.from_text("[c]\nexten => 6001,hint,PJSIP/6001\n"
                                "exten => _6XXX,1,Dial(PJSIP/${EXTEN})\n")
        assert dp.find("c", "6001", 1).exten == "_6XXX"
        assert dp.hint("c", "6001") == "PJSIP/6001"
        assert dp.hint("c", "6002") is None


class TestIncludes:
    DIALPLAN = """
[from-trunk]
include => internal
include => fallback
exten => 100,1,NoOp(trunk 100)
[internal]
exten => _1XX,1,NoOp(internal)
exten => 150,hint,PJSIP/150
include => from-trunk
[fallback]
exten => _X.,1,NoOp(fallback)
exten => _X.,2,NoOp(fallback 2)
"""

    @pytest.fixture()
    def dp(self):
        return Dialplan.from_text(self.DIALPLAN)

    def test_own_extensions_first_then_includes_in_order(self, dp):
        assert dp.find("from-trunk", "100", 1).data == "trunk 100"
        assert dp.find("from-trunk", "101", 1).context == "internal"
        assert dp.find("from-trunk", "2000", 1).context == "fallback"

    def test_priority_missing_in_a_context_continues_into_includes(self, dp):
        assert dp.find("from-trunk", "100", 2).data == "fallback 2"

    def test_include_loops_terminate(self, dp):
        assert dp.find("internal", "999", 1).data == "fallback"
        assert dp.find("internal", "abc", 1) is None

    def test_hints_through_includes_and_unknown_contexts(self, dp):
        assert dp.hint("from-trunk", "150") == "PJSIP/150"
        assert dp.find("nosuch", "100", 1) is None
        assert not dp.exists("nosuch", "100")


def test_caller_id_variants_are_tried_first():
    dp = Dialplan.from_text("[c]\nexten => 100,1,NoOp(anyone)\n"
                            "exten => 100/_555XXXX,1,NoOp(vip)\n"
                            "exten => 100/(555) 0000,1,NoOp(boss)\n")
    assert dp.find("c", "100", 1, callerid="5551234").data == "vip"
    assert dp.find("c", "100", 1, callerid="5550000").data == "boss"
    assert dp.find("c", "100", 1, callerid="4441234").data == "anyone"
    assert dp.find("c", "100", 1).data == "anyone"


@pytest.fixture(scope="module")
def goto_dialplan():
    return Dialplan.from_text("[c]\nexten => s,1,NoOp()\nsame => n(loop),Wait(1)\nsame => n,Goto(loop)\n"
                              "[d]\nexten => _X.,1(top),NoOp()\n")


class TestGotoTargets:
    @pytest.fixture()
    def dp(self, goto_dialplan):
        return goto_dialplan

    def test_label_in_the_current_extension(self, dp):
        target = parse_goto(["loop"], ("c", "s"))
        assert target == ("c", "s", "loop")
        assert dp.resolve_priority(*target) == 2

    def test_label_in_a_pattern_extension_elsewhere(self, dp):
        context, exten, priority = parse_goto(["d", "1234", "top"], ("c", "s"))
        assert dp.resolve_priority(context, exten, priority) == 1

    def test_numeric_and_relative(self, dp):
        assert dp.resolve_priority("c", "s", 3) == 3
        assert dp.resolve_priority("c", "s", "+1", current_priority=2) == 3
        assert dp.resolve_priority("c", "s", "-1", current_priority=2) == 1

    def test_unknown_label(self, dp):
        with pytest.raises(GotoError, match="valid label"):
            dp.resolve_priority("c", "s", "nowhere")
        with pytest.raises(GotoError, match="current priority"):
            dp.resolve_priority("c", "s", "+1")

    def test_matching_extension_gives_all_priorities(self, dp):
        ext = dp.matching_extension("c", "s")
        assert sorted(ext.steps) == [1, 2, 3] and ext.labels == {"loop": 2}


def test_lookup_cache_stays_bounded():
    dp = one_context("_X.")
    for n in range(10_000):
        assert dp.find("c", str(10 + n), 1) is not None
    assert len(dp.contexts["c"]._cache) <= 4096
