"""The scanner of Asterisk's ``$[...]`` expressions (``main/ast_expr2.fl``), rule for rule.

flex picks the longest match at each position, the earlier rule on a tie: operators; ``${...}``
with whatever trails it up to a delimiter; blanks (skipped); ``"..."`` (quotes kept);
``[0-9]+(.[0-9]+)?`` numbers; words of ``[A-Za-z0-9.';\\_^#@]``, non-ASCII characters and ``$``
+ any character but ``{``.  A character no rule matches is skipped (flex's default rule).
"""
from __future__ import annotations

import re

#: the kind of a word / ${...} token; operators are their own kind
TOKEN = "TOKEN"
_OPERATORS = {
    "||": "|", "&&": "&", "==": "=", "=~": "=~", "~~": "~~", ">=": ">=", "<=": "<=", "!=": "!=",
    "::": "::", "|": "|", "&": "&", "=": "=", ">": ">", "<": "<", "+": "+", ",": ",", "-": "-",
    "*": "*", "/": "/", "%": "%", "?": "?", "!": "!", ":": ":", "(": "(", ")": ")",
}
_NUMBER_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_WORD_RE = re.compile(r"(?:[A-Za-z0-9.';\\_^#@]|[^\x00-\x7f]|\$[^{])+", re.DOTALL)
_TRAIL_STOP = set("-\t\r \n$():?%/+=*<>!|&")


def tokenize(expr: str) -> list[tuple[str, str]]:
    """The flex scanner: a list of (kind, text); kind is an operator, TOKEN, "quoted" or "numeric"."""
    tokens: list[tuple[str, str]] = []
    i, n = 0, len(expr)
    while i < n:
        c = expr[i]
        if c in " \t\r\n":
            i += 1
            continue
        if expr.startswith("${", i):
            end = _scan_variable_token(expr, i)
            if end < 0:
                break  # EOF inside ${...}: flex drops the token and stops
            tokens.append((TOKEN, expr[i:end]))
            i = end
            continue
        best_kind, best_len = "", 0
        two = expr[i:i + 2]
        if two in _OPERATORS and len(two) == 2:
            best_kind, best_len = _OPERATORS[two], 2
        elif c in _OPERATORS:
            best_kind, best_len = _OPERATORS[c], 1
        if c == '"':
            close = expr.find('"', i + 1)
            if close > 0 and close + 1 - i > best_len:
                best_kind, best_len = "quoted", close + 1 - i
        m = _NUMBER_RE.match(expr, i)
        if m and m.end() - i > best_len:
            best_kind, best_len = "numeric", m.end() - i
        m = _WORD_RE.match(expr, i)
        if m and m.end() - i > best_len:
            if expr.startswith("${", m.end()):
                end = _scan_variable_token(expr, m.end())
                if end < 0:
                    break
                tokens.append((TOKEN, expr[i:end]))
                i = end
                continue
            best_kind, best_len = TOKEN, m.end() - i
        if not best_len:
            i += 1  # flex's default rule: echo and skip an unknown character
            continue
        tokens.append((best_kind, expr[i:i + best_len]))
        i += best_len
    return tokens


def _scan_variable_token(expr: str, start: int) -> int:
    """End of a ``${...}trail`` token starting at ``start`` (at ``${``), or -1 at EOF inside it."""
    i = start
    while expr.startswith("${", i):
        depth, i = 0, i + 2
        while True:
            nxt = min((p for p in (expr.find("{", i), expr.find("}", i)) if p >= 0), default=-1)
            if nxt < 0:
                return -1
            i = nxt + 1
            if expr[nxt] == "{":
                depth += 1
            else:
                depth -= 1
                if depth < 0:
                    break
        while i < len(expr) and expr[i] not in _TRAIL_STOP:
            i += 1
    return i
