"""``${...}`` / ``$[...]`` substitution with variables, functions, offsets and malformed input."""
import pytest

from cti.pbxsim.dialplan import SubstitutionWarning, substitute, substring

VARIABLES = {
    "EXTEN": "1001", "X": "Y", "Y": "deep", "NUM": "0123456789", "FOO_2": "two",
    "DIALSTATUS": "NOANSWER", "AGISTATUS": "FAILURE", "ACD_TARGET": "", "UNIQUEID": "1795360000.42",
    "i": "59", "AGI_HOST": "127.0.0.1:4573",
}


class Functions:
    def __init__(self):
        self.calls = []

    def __call__(self, name, args):
        self.calls.append((name, args))
        if name == "CALLERID":
            return {"num": "5551234", "all": '"Alice" <5551234>'}.get(args)
        if name == "LEN":
            return str(len(args))
        return None


def sub(text, warnings=None, variables=VARIABLES, functions=None):
    return substitute(text, variables.get, functions or Functions(), warnings)


@pytest.mark.parametrize("text, result", [
    ("plain text", "plain text"),
    ("${EXTEN}", "1001"),
    ("Agent ${EXTEN} rings", "Agent 1001 rings"),
    ("a${UNKNOWN}b", "ab"),
    ("${${X}}", "deep"),
    ("${FOO_$[1+1]}", "two"),
    ("${NUM:2}", "23456789"),
    ("${NUM:2:3}", "234"),
    ("${NUM:-3}", "789"),
    ("${NUM:-3:2}", "78"),
    ("${NUM:0:-2}", "01234567"),
    ("${NUM:2:-2}", "234567"),
    ("${NUM:-3:-5}", ""),
    ("${NUM:20}", ""),
    ("${NUM:-20}", "0123456789"),
    ("${NUM::3}", "0123456789"),      # sscanf finds no offset: the whole value, as Asterisk
    ("${NUM:x}", "0123456789"),
    ("${CALLERID(num)}", "5551234"),
    ("${CALLERID(num):1:3}", "551"),
    ("${CALLERID(all)}", '"Alice" <5551234>'),
    ("${LEN(${EXTEN})}", "4"),
    ("$[${EXTEN} + 1]", "1002"),
    ("$[${i} + 1]", "60"),
    ("$[${i} < 60]?loop", "1?loop"),
    ('$["${DIALSTATUS}" != "ANSWER"]?cti-wait,s,1', "1?cti-wait,s,1"),
    ('$["${AGISTATUS}" = "FAILURE"]?cti-wait,s,1', "1?cti-wait,s,1"),
    ('$["${ACD_TARGET}" = ""]?noroute', "1?noroute"),
    ("$[$[1 + 2] * 2]", "6"),
    ("agi://${AGI_HOST}/route,hotline,${CALLERID(num)}", "agi://127.0.0.1:4573/route,hotline,5551234"),
    ("acd-${UNIQUEID}", "acd-1795360000.42"),
    ("cost $5 and $$", "cost $5 and $$"),
    ("trailing $", "trailing $"),
    ("\\${EXTEN}", "\\1001"),           # no escapes in substitution: the app parser drops "\"
    ("a\\,b", "a\\,b"),
    ("}{][", "}{]["),
])
def test_substitute(text, result):
    assert sub(text) == result


def test_function_arguments_are_substituted_first():
    functions = Functions()
    sub("${LEN(${EXTEN}-${NUM:0:2})}", functions=functions)
    assert functions.calls == [("LEN", "1001-01")]


def test_substring_rules():
    assert substring("abcdef", 1, -2) == "bcd"
    assert substring("abcdef", -2, 10) == "ef"
    assert substring("", 0, 3) == ""
    assert substring("abc", 0, 0) == ""


@pytest.mark.parametrize("text, result, complaint", [
    ("${EXTEN", "1001", "missing '}'"),
    ("x ${", "x ", "missing '}'"),
    ("$[1 + 2", "3", "missing ']'"),
    ("${NOSUCH(1)}", "", "function 'NOSUCH' failed"),
    ("${CALLERID(num}", "5551234", "trailing parenthesis"),
    ("${" * 60 + "EXTEN" + "}" * 60, "", "nested deeper"),
])
def test_malformed_input_gives_best_effort_and_a_warning(text, result, complaint):
    warnings = []
    assert sub(text, warnings) == result
    assert warnings and all(isinstance(w, SubstitutionWarning) for w in warnings)
    assert any(complaint in str(w) for w in warnings)


def test_expression_problems_are_reported_in_the_same_list():
    warnings = []
    assert sub("$[1 +]", warnings) == "0"
    assert [w.code for w in warnings] == ["expression"]


def test_without_a_warnings_list_problems_are_logged(caplog):
    assert sub("${EXTEN") == "1001"
    assert "missing '}'" in caplog.text
