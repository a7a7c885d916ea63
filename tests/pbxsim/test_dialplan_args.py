"""How applications read their data: argument splitting, GotoIf/Goto targets, conditions, Set."""
import pytest

from cti.pbxsim.dialplan import GotoError, check_condition, parse_goto, parse_gotoif, parse_set, split_args


@pytest.mark.parametrize("data, args", [
    ("", []),
    ("a", ["a"]),
    ("a,b,c", ["a", "b", "c"]),
    ("a,,c", ["a", "", "c"]),
    ("a,", ["a", ""]),
    (",", ["", ""]),
    ("Local/1001@agents,20,g", ["Local/1001@agents", "20", "g"]),
    ("agi://127.0.0.1:4573/route,hotline,5551234", ["agi://127.0.0.1:4573/route", "hotline", "5551234"]),
    ("agi://127.0.0.1:4573/demo,arg one,arg2", ["agi://127.0.0.1:4573/demo", "arg one", "arg2"]),
    ('"a,b",c', ["a,b", "c"]),
    ('a"b"c', ["abc"]),
    ("a\\,b,c", ["a,b", "c"]),
    ("x\\\\y", ["x\\y"]),
    ("a\\", ["a"]),
    ("f(x,y),z", ["f(x,y)", "z"]),
    ("[a,b],c", ["[a,b]", "c"]),
    ("a)b,c", ["a)b", "c"]),
    ("a(b,c", ["a(b,c"]),
    ('"a(b",c', ['a(b,c']),               # the ( inside the quotes still counts, as in Asterisk
    (" a , b ", [" a ", " b "]),
])
def test_split_args(data, args):
    assert split_args(data) == args


def test_split_args_options():
    assert split_args("a,b,c,d", max_args=2) == ["a", "b,c,d"]
    assert split_args('"x",b,"c,d"', max_args=2) == ["x", 'b,"c,d"']
    assert split_args("a", max_args=1) == ["a"]
    assert split_args('"a,b",c\\,d', remove_chars=False) == ['"a,b"', "c\\,d"]
    assert split_args("x=1=2", delimiter="=") == ["x", "1", "2"]


@pytest.mark.parametrize("data, parsed", [
    ("1?cti-wait,s,1", ("1", "cti-wait,s,1", None)),
    ("0?a:b", ("0", "a", "b")),
    ("1?:b", ("1", None, "b")),
    ("1", ("1", None, None)),
    ("?x", ("", "x", None)),
    ("x?a:b:c", ("x", "a", "b:c")),
])
def test_parse_gotoif(data, parsed):
    assert parse_gotoif(data) == parsed


@pytest.mark.parametrize("args, target", [
    (["cti-wait", "s", "1"], ("cti-wait", "s", 1)),
    (["loop"], ("cti-wait-agi", "s", "loop")),
    (["100", "2"], ("cti-wait-agi", "100", 2)),
    (["+2"], ("cti-wait-agi", "s", "+2")),
    (["-1"], ("cti-wait-agi", "s", "-1")),
    ([" 3 "], ("cti-wait-agi", "s", 3)),
    (["a", "b", "c", "ignored"], ("a", "b", "c")),
    (["", "", "5"], ("cti-wait-agi", "s", 5)),
])
def test_parse_goto(args, target):
    assert parse_goto(args, ("cti-wait-agi", "s")) == target


@pytest.mark.parametrize("args", [[], [""], ["ctx", "s", ""], ["  "]])
def test_parse_goto_without_priority(args):
    with pytest.raises(GotoError):
        parse_goto(args, ("c", "s"))


@pytest.mark.parametrize("condition, truth", [
    ("", False), (None, False), ("0", False), ("00", False), ("0abc", False), ("0.5", False),
    ("1", True), (" 5", True), ("-1", True), ("1.5", True), ("abc", True), (" ", True),
])
def test_check_condition(condition, truth):
    assert check_condition(condition) is truth


def test_parse_set():
    assert parse_set("X=1") == ("X", "1")
    assert parse_set("X=a=b") == ("X", "a=b")
    assert parse_set('X="quoted"') == ("X", '"quoted"')
    assert parse_set("ACD_TARGET=") == ("ACD_TARGET", "")
    assert parse_set("X") is None
