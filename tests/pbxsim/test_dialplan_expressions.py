"""``$[...]``: Asterisk's expression language, results as Asterisk prints them."""
import pytest

from cti.pbxsim.dialplan import ExpressionWarning, evaluate
from cti.pbxsim.dialplan.expr_tokens import tokenize
from cti.pbxsim.dialplan.expressions import format_number
from cti.pbxsim.dialplan.posix_regex import posix_to_python
from decimal import Decimal


@pytest.mark.parametrize("expr, result", [
    # the CTI flow's own conditions, after substitution
    ('"NOANSWER" != "ANSWER"', "1"),
    ('"BUSY" != "ANSWER"', "1"),
    ('"ANSWER" != "ANSWER"', "0"),
    ('"" != "ANSWER"', "1"),
    ('"FAILURE" = "FAILURE"', "1"),
    ('"SUCCESS" = "FAILURE"', "0"),
    ('"" = "FAILURE"', "0"),
    ('"" = ""', "1"),
    ('"Local/1001@agents" = ""', "0"),
    ("0 + 1", "1"),
    ("59 < 60", "1"),
    ("60 < 60", "0"),
    # arithmetic is floating point, printed like %.18Lg
    ("1 + 1", "2"),
    ("7 / 2", "3.5"),
    ("10 / 3", "3.33333333333333333"),
    ("2 / 3", "0.666666666666666667"),
    ("7 % 3", "1"),
    ("-7 % 3", "-1"),
    ("7.5 % 2", "1.5"),
    ("3 - 5", "-2"),
    ("1 - -1", "2"),
    ("- 3 - 2", "-5"),
    ("-(3)", "-3"),
    ("-0", "-0"),
    ("0.1 + 0.2", "0.3"),
    ("1.5 + 1.5", "3"),
    ("2147483647 + 1", "2147483648"),
    ("99999999999999999999 * 10", "1e+21"),
    ("1 / 100000", "1e-05"),
    ("1 / 10000", "0.0001"),
    # precedence and grouping
    ("2 * 3 + 4", "10"),
    ("2 + 3 * 4", "14"),
    ("(2 + 3) * 4", "20"),
    ("1 + 2 = 3", "1"),
    ("1 < 2 < 3", "1"),
    ("1 | 0 & 0", "1"),
    # comparisons: numeric unless a side is a string; quotes stay part of the string
    ("1 = 1.0", "1"),
    ("01 = 1", "1"),
    ("abc = abc", "1"),
    ('"abc" = abc', "0"),
    ("abc != abd", "1"),
    ("abc < abd", "1"),
    ("10 < 9a", "1"),
    ("10 < 9", "0"),
    ("2 >= 2", "1"),
    ("2 <= 1", "0"),
    ("3 > 2", "1"),
    ("3 == 3", "1"),
    # | and & return an operand
    ("0 | 7", "7"),
    ("3 | 7", "3"),
    ("5 & 7", "5"),
    ("1 & 0", "0"),
    ("abc & def", "abc"),
    ("1 || 0", "1"),
    ("1 && 0", "0"),
    # ! and its atoi() of strings
    ("!0", "1"),
    ("!1", "0"),
    ("!abc", "1"),
    ("!5", "0"),
    # ternary: cond ? a :: b
    ("1 ? yes :: no", "yes"),
    ("0 ? yes :: no", "no"),
    ('"" ? a :: b', "b"),
    ("x ? a :: b", "a"),
    ("1 ? 0 ? a :: b :: c", "b"),
    ("0 ? a :: 0 ? b :: c", "c"),
    ("2 > 1 ? 10 + 1 :: 20", "11"),
    # regex match (anchored) and =~ (anywhere), ~~ concatenation
    ('"abc" : "a(b)c"', "b"),
    ("abc : ab", "2"),
    ("xabc : ab", "0"),
    ("xabc =~ ab", "2"),
    ('12345 : "([0-9]{3})"', "123"),
    ('"abc" =~ "z(.)"', ""),
    ('"2125551212" =~ "^[2-9][0-9]{9}$"', "10"),
    ('"x5" : "[[:alpha:]][[:digit:]]"', "2"),
    ('"foo" ~~ "bar"', "foobar"),
    ("!abc : abc", "0"),
    ("- abc : abc", "-3"),
    # math functions
    ("FLOOR(2.7)", "2"),
    ("CEIL(2.1)", "3"),
    ("ABS(-4)", "4"),
    ("POW(2,10)", "1024"),
    ("SQRT(16)", "4"),
    ("ROUND(2.5)", "3"),
    ("TRUNC(-2.5)", "-2"),
    ("FLOOR(7 / 2) + 1", "4"),
    # nothing, blanks, and characters the scanner skips
    ("", ""),
    ("   ", ""),
    ("1 { + } 2", "3"),
    ("abc", "abc"),
    ('"quoted"', '"quoted"'),
])
def test_evaluate(expr, result):
    assert evaluate(expr) == result


@pytest.mark.parametrize("expr, result, complaint", [
    ("1 +", "0", "syntax error"),
    ("(1", "0", "syntax error"),
    ("1 2", "0", "syntax error"),
    ("1,2", "0", "syntax error"),
    ("a ? b", "0", "syntax error"),
    (")", "0", "syntax error"),
    ("abc + 1", "1", "non-numeric"),
    ("abc * 2", "0", "non-numeric"),
    ("1 / 0", "2147483647", "division by zero"),
    ("4 / abc", "2147483647", "non-numeric"),
    ("5 % 0", "0", "division by zero"),
    ('abc =~ "("', "", "regcomp"),
    ('abc : "[z"', "", "regcomp"),
    ("FLOOR(1,2)", "0", "wrong args"),
    ("nosuch(1)", "0", "not possibly a function name"),
    ("NOSUCH(1)", "0", "an available function"),
    ("(" * 300 + "1" + ")" * 300, "0", "nested too deeply"),
])
def test_errors_give_asterisks_fallback_and_a_warning(expr, result, complaint):
    warnings = []
    assert evaluate(expr, warnings=warnings) == result
    assert warnings and all(isinstance(w, ExpressionWarning) for w in warnings)
    assert any(complaint in str(w) for w in warnings)


def test_dialplan_functions_inside_expressions():
    calls = []

    def call_function(name, args):
        calls.append((name, args))
        return {"LEN": lambda: str(len(args)), "CUT": lambda: "a-b"}.get(name, lambda: None)()

    assert evaluate("LEN(abcd) + 1", call_function) == "5"
    assert evaluate("CUT(x,y) = a-b", call_function) == "0"  # "a-b" vs tokens a - b
    assert evaluate('CUT(x,,) ~~ ""', call_function) == "a-b"
    assert calls == [("LEN", "abcd"), ("CUT", "x,y"), ("CUT", "x,,")]


def test_without_a_warnings_list_problems_are_logged(caplog):
    assert evaluate("1 +") == "0"
    assert "syntax error" in caplog.text


def test_tokens():
    assert tokenize('a=="b c"||1.5 =~ x${Y}z') == [
        ("TOKEN", "a"), ("=", "=="), ("quoted", '"b c"'), ("|", "||"), ("numeric", "1.5"),
        ("=~", "=~"), ("TOKEN", "x${Y}z")]
    assert tokenize("12abc 1.2.3") == [("TOKEN", "12abc"), ("TOKEN", "1.2.3")]
    assert tokenize("${unclosed") == []


@pytest.mark.parametrize("number, text", [
    (Decimal("3"), "3"), (Decimal("3.50"), "3.5"), (Decimal("-0.000123"), "-0.000123"),
    (Decimal("123456789012345678"), "123456789012345678"),
    (Decimal("1234567890123456789"), "1.23456789012345679e+18"),
    (Decimal("12345678901234567"), "12345678901234567"), (Decimal("1e-5"), "1e-05"),
    (Decimal("Infinity"), "inf"), (Decimal("NaN"), "nan"),
])
def test_number_format_is_printf_18Lg(number, text):
    assert format_number(number) == text


def test_posix_bracket_translation():
    assert posix_to_python(r"[[:digit:]\]x") == r"[0-9\\]x"
    assert posix_to_python(r"\<a\>") == r"\ba\b"
