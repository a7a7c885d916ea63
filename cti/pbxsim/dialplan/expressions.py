"""Asterisk's ``$[...]`` expression language (``main/ast_expr2.fl`` + ``ast_expr2.y``), in Python.

What this reproduces, because the dialplan depends on it:

* **Tokens.** Operators ``| & = == != < > <= >= + - * / % ! ? :: : =~ ~~ ( ) ,``; numbers
  ``[0-9]+(.[0-9]+)?``; words (letters, digits, ``. ' ; \\ _ ^ # @``, non-ASCII, ``$`` + any char
  but ``{``); double-quoted strings **keep their quotes** (``"${X}" = "ANSWER"`` compares the
  quoted texts, and ``$["a"]`` is ``"a"``).  Whitespace separates; any other character
  (``{ } [ ] ~`` ...) is skipped, as flex's default rule does.
* **Precedence**, lowest first: ``? ::`` (ternary, left-assoc), ``|``, ``&``, comparisons,
  ``+ -``, ``* / %``, unary ``!`` and ``-``, then ``:`` ``=~`` ``~~`` (tighter than unary).
* **Values.** A word or quoted string is a string; a number token, or a computed string made
  only of digits and dots, is a numeric string.  Comparisons are numeric when neither side is a
  string, else string comparisons.  Arithmetic is floating point (``7 / 2`` is ``3.5``) and
  results print like C's ``%.18Lg`` (``3``, ``3.5``, ``3.33333333333333333``).  ``|`` and ``&``
  return an operand, not 1/0.  Division by zero gives 2147483647 (``INT_MAX``), as Asterisk does.
* ``a : re`` matches a POSIX ERE anchored at the start, ``a =~ re`` anywhere: the first group's
  text, else the match length; quotes are stripped from both sides first.  ``a ~~ b``
  concatenates.  ``FUNC(args)`` calls the math functions (``FLOOR``, ``POW``, ``ABS``...) or a
  dialplan function through ``call_function``.
* **Errors never raise.** A syntax error makes the result ``"0"`` (Asterisk's answer); bad
  regexes, non-numeric operands and the like give Asterisk's fallback value.  Each problem is
  reported as an :class:`~cti.pbxsim.dialplan.errors.ExpressionWarning`.

Known differences: Python's ``re`` is leftmost-first where POSIX is leftmost-longest, and
decimal arithmetic at 40 digits stands in for ``long double``; neither shows in 18-digit output
of ordinary dialplan arithmetic.
"""
from __future__ import annotations

import decimal
import math
import re
from collections.abc import Callable
from decimal import Decimal

from .errors import DialplanError, ExpressionWarning, report
from .expr_tokens import TOKEN, tokenize
from .posix_regex import posix_to_python

FunctionCaller = Callable[[str, str], "str | None"]

INT_MAX = Decimal(2147483647)
_CTX = decimal.Context(prec=40, Emax=999999, Emin=-999999, traps=[])
_MAX_DEPTH = 200

_BINARY_PRECEDENCE = {
    "|": 2, "&": 3, "=": 4, ">": 4, "<": 4, ">=": 4, "<=": 4, "!=": 4,
    "+": 5, "-": 5, "*": 6, "/": 6, "%": 6, ":": 8, "=~": 8, "~~": 8,
}
_UNARY_OPERAND_PRECEDENCE = 8
_STRTOD_RE = re.compile(r"\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")
_ATOI_RE = re.compile(r"\s*([+-]?\d+)")


class _SyntaxError(Exception):
    pass


class Value:
    """An expression value: ``kind`` is "number" (``num``), "numeric" or "string" (``text``)."""

    __slots__ = ("kind", "text", "num")

    def __init__(self, kind: str, text: str = "", num: Decimal = Decimal(0)) -> None:
        self.kind, self.text, self.num = kind, text, num

    @classmethod
    def number(cls, num: Decimal | int) -> "Value":
        return cls("number", num=Decimal(num))

    @classmethod
    def from_string(cls, text: str) -> "Value":
        """``make_str``: numeric when made of digits and dots only."""
        numeric = bool(text) and all(ch in "0123456789." for ch in text)
        return cls("numeric" if numeric else "string", text)

    def is_string(self) -> bool:
        return self.kind == "string"

    def to_number(self) -> bool:
        if self.kind == "number":
            return True
        if self.kind == "string":
            return False
        self.num, self.kind = c_strtod(self.text), "number"
        return True

    def to_string(self) -> str:
        if self.kind == "number":
            self.text, self.kind = format_number(self.num), "string"
        return self.text

    def render(self) -> str:
        return format_number(self.num) if self.kind == "number" else self.text


def c_strtod(text: str) -> Decimal:
    """C ``strtold``: the longest numeric prefix, 0 when there is none."""
    m = _STRTOD_RE.match(text)
    return Decimal(m.group(1)) if m else Decimal(0)


def format_number(num: Decimal) -> str:
    """C ``printf("%.18Lg")``."""
    if num.is_nan():
        return "-nan" if num.is_signed() else "nan"
    if num.is_infinite():
        return "-inf" if num.is_signed() else "inf"
    if num.is_zero():
        return "-0" if num.is_signed() else "0"
    rounded = decimal.Context(prec=18, Emax=999999, Emin=-999999).plus(num)
    sign, digits, exponent = rounded.as_tuple()
    digit_list = list(digits)
    while len(digit_list) > 1 and digit_list[-1] == 0:
        digit_list.pop()
        exponent += 1
    text = "".join(map(str, digit_list))
    lead = exponent + len(text) - 1  # power of ten of the first digit
    if -4 <= lead < 18:
        if exponent >= 0:
            body = text + "0" * exponent
        elif lead >= 0:
            body = text[: lead + 1] + "." + text[lead + 1:]
        else:
            body = "0." + "0" * (-lead - 1) + text
    else:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        body = f"{mantissa}e{'-' if lead < 0 else '+'}{abs(lead):02d}"
    return ("-" if sign else "") + body


def strip_quotes(text: str) -> str:
    """Asterisk's ``strip_quotes``: if quoted at both ends, drop *every* double quote."""
    if text and text[0] == '"' and text[-1] == '"':
        return text.replace('"', "")
    return text


class _Evaluator:
    """Recursive-descent parser that evaluates as it reduces, like the bison actions do."""

    def __init__(self, tokens: list[tuple[str, str]], call_function: FunctionCaller | None,
                 warn: Callable[[str], None]) -> None:
        self.tokens, self.pos, self.depth = tokens, 0, 0
        self.call_function, self.warn = call_function, warn

    def peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise _SyntaxError("unexpected end of expression")
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def expect(self, kind: str) -> None:
        got = self.take()[0]
        if got != kind:
            raise _SyntaxError(f"expected '{kind}', got '{got}'")

    def run(self) -> Value:
        if not self.tokens:
            return Value("string", "")
        value = self.binary(1)
        if self.pos != len(self.tokens):
            raise _SyntaxError(f"unexpected '{self.tokens[self.pos][1]}'")
        return value

    def binary(self, min_prec: int) -> Value:
        return self.binary_rest(self.unary(), min_prec)

    def binary_rest(self, left: Value, min_prec: int) -> Value:
        while True:
            kind = self.peek()
            if kind == "?" and min_prec <= 1:
                self.take()
                middle = self.binary(1)
                self.expect("::")
                left = self.op_cond(left, middle, self.binary(2))
                continue
            prec = _BINARY_PRECEDENCE.get(kind or "")
            if prec is None or prec < min_prec:
                return left
            self.take()
            left = self.apply(kind, left, self.binary(prec + 1))

    def unary(self) -> Value:
        kind = self.peek()
        if kind in ("!", "-"):
            self.take()
            self.enter()
            operand = self.binary_rest(self.unary(), _UNARY_OPERAND_PRECEDENCE)
            self.depth -= 1
            return self.op_compl(operand) if kind == "!" else self.op_negate(operand)
        return self.primary()

    def enter(self) -> None:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise _SyntaxError("expression nested too deeply")

    def primary(self) -> Value:
        kind, text = self.take()
        if kind == "(":
            self.enter()
            value = self.binary(1)
            self.expect(")")
            self.depth -= 1
            return value
        if kind == "numeric":
            return Value("numeric", text)
        if kind not in (TOKEN, "quoted"):
            raise _SyntaxError(f"unexpected '{text}'")
        if self.peek() != "(":
            return Value("string", text)
        self.take()
        self.enter()
        args = [self.binary(1)]
        while self.peek() == ",":
            self.take()
            args.append(Value.from_string("") if self.peek() in (",", ")") else self.binary(1))
        self.expect(")")
        self.depth -= 1
        return self.op_func(text, args)

    # --- operators (ast_expr2.y op_*) ---------------------------------------------------------

    def apply(self, op: str, a: Value, b: Value) -> Value:
        if op in ("=", "!=", "<", ">", "<=", ">="):
            return self.op_compare(op, a, b)
        return getattr(self, _OP_METHODS[op])(a, b)

    @staticmethod
    def is_zero_or_null(v: Value) -> bool:
        if v.kind == "number":
            return v.num == 0
        return v.text == "" or (v.to_number() and v.num == 0)

    def op_or(self, a: Value, b: Value) -> Value:
        return b if self.is_zero_or_null(a) else a

    def op_and(self, a: Value, b: Value) -> Value:
        if self.is_zero_or_null(a) or self.is_zero_or_null(b):
            return Value.number(0)
        return a

    @staticmethod
    def op_compare(op: str, a: Value, b: Value) -> Value:
        if a.is_string() or b.is_string():
            left, right = a.to_string(), b.to_string()
        else:
            a.to_number(), b.to_number()
            left, right = a.num, b.num  # type: ignore[assignment]
        result = {"=": left == right, "!=": left != right, "<": left < right, ">": left > right,
                  "<=": left <= right, ">=": left >= right}[op]
        return Value.number(int(result))

    @staticmethod
    def op_cond(a: Value, b: Value, c: Value) -> Value:
        if a.is_string():
            return b if a.text not in ("", '""', "0") else c
        a.to_number()
        return b if a.num != 0 else c

    def op_plus(self, a: Value, b: Value) -> Value:
        if not a.to_number():
            self.warn("non-numeric argument")
            return b if b.to_number() else Value.number(0)
        if not b.to_number():
            return a
        return Value.number(_CTX.add(a.num, b.num))

    def op_minus(self, a: Value, b: Value) -> Value:
        if not a.to_number():
            self.warn("non-numeric argument")
            return Value.number(_CTX.subtract(0, b.num)) if b.to_number() else Value.number(0)
        if not b.to_number():
            self.warn("non-numeric argument")
            return a
        return Value.number(_CTX.subtract(a.num, b.num))

    def op_negate(self, a: Value) -> Value:
        if not a.to_number():
            self.warn("non-numeric argument")
            return Value.number(0)
        return Value.number(a.num.copy_negate())  # like C: -(0.0) is -0

    @staticmethod
    def op_compl(a: Value) -> Value:
        if a.kind == "number":
            truth = 0 if a.num == 0 else 1
        elif a.text in ("", "0"):
            truth = 0
        else:
            m = _ATOI_RE.match(a.text)
            truth = int(m.group(1)) if m else 0
        return Value.number(int(not truth))

    def op_times(self, a: Value, b: Value) -> Value:
        if not a.to_number() or not b.to_number():
            self.warn("non-numeric argument")
            return Value.number(0)
        return Value.number(_CTX.multiply(a.num, b.num))

    def op_div(self, a: Value, b: Value) -> Value:
        if not a.to_number():
            self.warn("non-numeric argument")
            return Value.number(0)
        if not b.to_number():
            self.warn("non-numeric argument")
            return Value.number(INT_MAX)
        if b.num == 0:
            self.warn("division by zero")
            return Value.number(INT_MAX)
        return Value.number(_CTX.divide(a.num, b.num))

    def op_rem(self, a: Value, b: Value) -> Value:
        if not a.to_number() or not b.to_number():
            self.warn("non-numeric argument")
            return Value.number(0)
        if b.num == 0:
            self.warn("division by zero")
            return b
        return Value.number(_CTX.remainder(a.num, b.num))

    def op_colon(self, a: Value, b: Value) -> Value:
        return self.regex_match(a, b, anchored=True)

    def op_eqtilde(self, a: Value, b: Value) -> Value:
        return self.regex_match(a, b, anchored=False)

    def regex_match(self, a: Value, b: Value, anchored: bool) -> Value:
        subject, pattern = strip_quotes(a.to_string()), strip_quotes(b.to_string())
        try:
            compiled = re.compile(posix_to_python(pattern))
        except (re.error, OverflowError, RecursionError) as exc:
            self.warn(f"regcomp() error: {exc} in {pattern!r}")
            return Value.from_string("")
        m = compiled.match(subject) if anchored else compiled.search(subject)
        if m:
            if compiled.groups and m.start(1) >= 0:
                return Value.from_string(m.group(1))
            return Value.number(m.end() - m.start())
        return Value.number(0) if compiled.groups == 0 else Value.from_string("")

    @staticmethod
    def op_tildetilde(a: Value, b: Value) -> Value:
        return Value.from_string(strip_quotes(a.to_string()) + strip_quotes(b.to_string()))

    def op_func(self, name: str, args: list[Value]) -> Value:
        if not name or any(ch not in "ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789" for ch in name):
            self.warn(f"'{name}' is not possibly a function name")
            return Value.number(0)
        math_func = _MATH_FUNCTIONS.get(name)
        if math_func is not None:
            arity, func = math_func
            if len(args) != arity:
                self.warn(f"wrong args to {name}() function")
                return Value.number(0)
            numbers = [float(v.num) if v.to_number() else 0.0 for v in args]
            try:
                return Value.number(Decimal(func(*numbers)))
            except (ValueError, OverflowError, ZeroDivisionError):
                return Value.number(Decimal("NaN"))
        result = self.call_function(name, ",".join(v.render() for v in args)) if self.call_function else None
        if result is None:
            self.warn(f"'{name}' doesn't appear to be an available function")
            return Value.number(0)
        if all(ch in "-0123456789. \t" for ch in result):
            return Value.number(c_strtod(result))
        return Value.from_string(result)


_OP_METHODS = {"|": "op_or", "&": "op_and", "+": "op_plus", "-": "op_minus", "*": "op_times",
               "/": "op_div", "%": "op_rem", ":": "op_colon", "=~": "op_eqtilde", "~~": "op_tildetilde"}


def _round_half_away(x: float) -> float:
    return math.floor(x + 0.5) if x >= 0 else math.ceil(x - 0.5)


_MATH_FUNCTIONS: dict[str, tuple[int, Callable[..., float]]] = {
    "COS": (1, math.cos), "SIN": (1, math.sin), "TAN": (1, math.tan), "ACOS": (1, math.acos),
    "ASIN": (1, math.asin), "ATAN": (1, math.atan), "ATAN2": (2, math.atan2), "POW": (2, math.pow),
    "SQRT": (1, math.sqrt), "FLOOR": (1, math.floor), "CEIL": (1, math.ceil),
    "ROUND": (1, _round_half_away), "RINT": (1, lambda x: float(round(x))), "TRUNC": (1, math.trunc),
    "EXP": (1, math.exp), "EXP2": (1, lambda x: 2.0 ** x), "EXP10": (1, lambda x: 10.0 ** x),
    "LOG": (1, math.log), "LOG2": (1, math.log2), "LOG10": (1, math.log10),
    "REMAINDER": (2, math.remainder), "ABS": (1, abs),
}


def evaluate(expr: str, call_function: FunctionCaller | None = None,
             warnings: list[DialplanError] | None = None) -> str:
    """Evaluate the inside of ``$[...]`` (already substituted) and return Asterisk's string.

    ``call_function(name, args)`` serves dialplan functions used inside the expression
    (``$[LEN(abc)]``); ``warnings`` collects :class:`ExpressionWarning`\\ s (logged when None).
    Never raises.
    """
    def warn(message: str) -> None:
        report(warnings, ExpressionWarning(f"{message}; input: {expr!r}"))

    try:
        return _Evaluator(tokenize(expr), call_function, warn).run().render()
    except _SyntaxError as exc:
        warn(f"syntax error: {exc}")
        return "0"
    except (RecursionError, decimal.DecimalException, ValueError, OverflowError) as exc:
        warn(f"cannot evaluate: {exc!r}")
        return "0"
