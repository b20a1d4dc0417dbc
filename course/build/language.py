"""The lesson's language line: ``course.notebook_language("en")`` in its first code cell.

The built notebook says its own language there, so the helpers speak it (unless the
learner chose another).  The call is found with :mod:`ast`, and only its string literal is
rewritten: the rest of the cell stays byte for byte the English code.
"""

from __future__ import annotations

import ast

from .blocks import line_starts
from .problems import BuildError

CALL = 'course.notebook_language("en")'


def _literal(source: str) -> ast.Constant | None:
    """The ``"en"`` of the first ``course.notebook_language("en")`` call, or None."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "notebook_language"
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "course"
                and len(node.args) == 1 and not node.keywords
                and isinstance(node.args[0], ast.Constant) and node.args[0].value == "en"):
            return node.args[0]
    return None


def has_call(source: str) -> bool:
    """Whether ``source`` (a lesson's first code cell) calls ``course.notebook_language("en")``."""
    return _literal(source) is not None


def missing(where: str) -> BuildError:
    """The error for a notebook (named ``where``) whose first code cell lacks the call."""
    return BuildError(f"{where}: its first code cell must call {CALL} "
                      "(the built notebook says its own language there)")


def set_language(source: str, lang: str, where: str) -> str:
    """``source`` with its ``course.notebook_language("en")`` saying ``lang`` instead.

    ``where`` names the notebook in the error raised when the call is missing.
    """
    literal = _literal(source)
    if literal is None:
        raise missing(where)
    begin = line_starts(source)[literal.lineno - 1]
    raw = source[begin:].encode("utf-8")  # ast's columns count UTF-8 bytes
    start = begin + len(raw[:literal.col_offset].decode("utf-8"))
    end = begin + len(raw[:literal.end_col_offset].decode("utf-8"))
    quote = source[start:end].lstrip("rRuU")[0]
    return f"{source[:start]}{quote}{lang}{quote}{source[end:]}"
