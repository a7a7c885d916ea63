"""Properties over arbitrary input: nothing raises out of substitute/evaluate/split_args, a broken
dialplan only ever raises DialplanError, and arithmetic agrees with Python on integers."""
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cti.pbxsim.dialplan import Dialplan, DialplanError, evaluate, split_args, substitute
from cti.pbxsim.dialplan.patterns import compile_pattern

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# text biased towards the characters that mean something to the dialplan
SYNTAX = "${}[]()\"\\,:?!=<>|&+-*/%~ _.X0123456789abcN"
dialplan_text = st.text(alphabet=st.sampled_from(SYNTAX), max_size=80) | st.text(max_size=80)


@FAST
@given(text=dialplan_text, values=st.dictionaries(st.text(max_size=8), st.text(max_size=12)),
       function_result=st.one_of(st.none(), dialplan_text))
def test_substitute_never_raises(text, values, function_result):
    warnings = []
    result = substitute(text, values.get, lambda name, args: function_result, warnings)
    assert isinstance(result, str)
    assert all(isinstance(w, DialplanError) for w in warnings)


@FAST
@given(expr=dialplan_text, function_result=st.one_of(st.none(), dialplan_text))
def test_evaluate_never_raises(expr, function_result):
    warnings = []
    assert isinstance(evaluate(expr, lambda name, args: function_result, warnings), str)


@FAST
@given(data=dialplan_text, max_args=st.one_of(st.none(), st.integers(1, 5)))
def test_split_args_never_raises(data, max_args):
    args = split_args(data, max_args=max_args)
    assert all(isinstance(a, str) for a in args)
    if max_args is not None:
        assert len(args) <= max_args


@FAST
@given(parts=st.lists(st.text(alphabet=string.ascii_letters + string.digits + " /@:.", max_size=6),
                      min_size=2, max_size=6))
def test_split_args_undoes_a_plain_join(parts):
    assert split_args(",".join(parts)) == parts


@FAST
@given(a=st.integers(-10**8, 10**8), b=st.integers(-10**8, 10**8))  # |a*b| < 1e17: printed in full
def test_integer_arithmetic_and_comparisons_agree_with_python(a, b):
    def lit(n):  # a negative literal is unary minus applied to a number token
        return f"({n})"

    assert evaluate(f"{lit(a)} + {lit(b)}") == str(a + b)
    assert evaluate(f"{lit(a)} - {lit(b)}") == str(a - b)
    # floating point like Asterisk's long double: zero times a negative number is "-0"
    negative_zero = a * b == 0 and (a < 0) != (b < 0)
    assert evaluate(f"{lit(a)} * {lit(b)}") == ("-0" if negative_zero else str(a * b))
    assert evaluate(f"{lit(a)} < {lit(b)}") == str(int(a < b))
    assert evaluate(f"{lit(a)} = {lit(b)}") == str(int(a == b))
    assert evaluate(f'"{a}" = "{b}"') == str(int(a == b))


@FAST
@given(text=st.text(alphabet=st.sampled_from("[]()=>,;\\\"-_!.#+ \nexten same include c 1 n"), max_size=200))
def test_loading_garbage_raises_only_dialplan_errors(text):
    try:
        Dialplan.from_text(text)
    except DialplanError:
        pass


@FAST
@given(digits=st.text(alphabet="0123456789", min_size=1, max_size=8))
def test_a_pattern_built_from_a_number_matches_it(digits):
    pattern = "_" + "".join("N" if d in "23456789" else "X" for d in digits)
    assert compile_pattern(pattern).fullmatch(digits)
    assert compile_pattern(pattern + ".").fullmatch(digits) is None
    assert compile_pattern(pattern + "!").fullmatch(digits)
