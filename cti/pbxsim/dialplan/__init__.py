"""The simulator's dialplan layer: ``extensions.conf`` as Asterisk reads and runs it, without I/O.

The engine codes against this API:

* :class:`Dialplan` — ``from_files``/``from_text``; ``find(context, exten, priority, callerid)``
  returns the :class:`Step` to run (pattern matching, best-match order, includes), plus
  ``exists``, ``label_priority``, ``hint``, ``resolve_priority``, ``globals``, ``contexts``.
* :func:`substitute` — ``${VAR}``, ``${VAR:o:l}``, ``${FUNC(args)}``, ``$[expr]`` with the
  engine's variable resolver and function caller; never raises.
* :func:`evaluate` — the ``$[...]`` expression language; never raises.
* :func:`split_args`, :func:`parse_goto`, :func:`parse_gotoif`, :func:`check_condition`,
  :func:`parse_set` — how applications read their data.
* :class:`DialplanError` and subclasses: raised when loading a broken dialplan or resolving a bad
  ``Goto``; *reported* (appended to the ``warnings`` list, or logged) by ``substitute`` and
  ``evaluate``.
"""
from .args import check_condition, parse_goto, parse_gotoif, parse_set, split_args
from .dialplan import Dialplan
from .errors import (DialplanError, DialplanIncludeError, DialplanSyntaxError, ExpressionWarning,
                     GotoError, SubstitutionWarning)
from .expressions import evaluate
from .model import PRIORITY_HINT, Context, Extension, Step
from .substitution import substitute, substring

__all__ = [
    "Context", "Dialplan", "DialplanError", "DialplanIncludeError", "DialplanSyntaxError",
    "ExpressionWarning", "Extension", "GotoError", "PRIORITY_HINT", "Step", "SubstitutionWarning",
    "check_condition", "evaluate", "parse_goto", "parse_gotoif", "parse_set", "split_args",
    "substitute", "substring",
]
