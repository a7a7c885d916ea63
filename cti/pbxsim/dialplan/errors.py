"""The dialplan layer's exception hierarchy, one class per kind of fault, each with a stable code.

Two ways these are used:

* **raised** while loading ``extensions.conf`` (:class:`DialplanSyntaxError`,
  :class:`DialplanIncludeError`) and by :func:`~cti.pbxsim.dialplan.args.parse_goto`
  (:class:`GotoError`): the engine refuses to start on a broken dialplan, and a bad ``Goto``
  ends the call as Asterisk does (the application returns -1);
* **reported, never raised** by :func:`~cti.pbxsim.dialplan.substitution.substitute` and
  :func:`~cti.pbxsim.dialplan.expressions.evaluate` (:class:`SubstitutionWarning`,
  :class:`ExpressionWarning`): Asterisk logs a WARNING and carries on with a best-effort
  result, so do we.  The caller passes a list to collect them; without a list they go to this
  package's logger at WARNING level, so nothing is dropped silently.
"""
from __future__ import annotations

import logging

log = logging.getLogger("cti.pbxsim.dialplan")


class DialplanError(Exception):
    """Anything wrong with a dialplan, its syntax, or a value computed while running it."""

    code = "dialplan"

    def __init__(self, message: str, source: str | None = None) -> None:
        self.message = message
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class DialplanSyntaxError(DialplanError):
    """``extensions.conf`` (or a file it includes) cannot be loaded; ``source`` is ``file:line``."""

    code = "syntax"


class DialplanIncludeError(DialplanSyntaxError):
    """An ``#include`` names a file that does not exist, or files include each other in a loop."""

    code = "include"


class GotoError(DialplanError):
    """A ``Goto``/``GotoIf`` target cannot be parsed or resolved."""

    code = "goto"


class SubstitutionWarning(DialplanError):
    """A ``${...}``/``$[...]`` reference was malformed or a function failed (reported, not raised)."""

    code = "substitution"


class ExpressionWarning(DialplanError):
    """An ``$[...]`` expression had a syntax error, a bad regex, a non-numeric operand, ..."""

    code = "expression"


def report(warnings: list[DialplanError] | None, warning: DialplanError) -> None:
    """Hand a non-fatal problem to the caller's list, or log it when there is no list."""
    if warnings is not None:
        warnings.append(warning)
    else:
        log.warning("%s", warning)
