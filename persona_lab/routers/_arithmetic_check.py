"""The arithmetic a worked solution states: every ``a op b = c`` (and GSM8K's ``<<a*b=c>>``), re-evaluated.

Only numbers and ``+ - * / × ÷ x`` between them are evaluated (by walking a Python AST of that
expression, never ``eval``). A statement is consistent when the stated result equals the
computed one, allowing the rounding the text shows (``10/3 = 3.33`` is consistent).
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["ArithmeticStatement", "arithmetic_statements"]

_NUM = r"\$?\d[\d,]*(?:\.\d+)?"
_OP = r"\s*(?:[-+*/×÷]|(?<=\s)x(?=\s))\s*"
_STATEMENT = re.compile(rf"(?<![\w.])({_NUM}(?:{_OP}{_NUM})+)\s*=\s*\$?(-?\d[\d,]*(?:\.\d+)?)")
_CALCULATOR = re.compile(r"<<([^<>=]+)=([^<>]+)>>")
_BINARY: Mapping[type[ast.operator], Callable[[float, float], float]] = MappingProxyType({
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
})


@dataclass(frozen=True, kw_only=True, slots=True)
class ArithmeticStatement:
    """One stated computation: the expression, the stated result and the computed one."""

    expression: str
    stated: float
    computed: float

    @property
    def consistent(self) -> bool:
        if math.isclose(self.stated, self.computed, rel_tol=1e-6, abs_tol=1e-9):
            return True
        text = repr(self.stated)
        decimals = len(text.split(".")[1]) if "." in text and not text.endswith(".0") else 0
        return bool(abs(round(self.computed, decimals) - self.stated) <= 10.0 ** (-decimals) / 2 + 1e-9)


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_evaluate(node.operand)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_evaluate(node.left), _evaluate(node.right))
    raise ValueError(f"not plain arithmetic: {ast.dump(node)[:60]}")


def _value(expression: str) -> float | None:
    cleaned = expression.replace(",", "").replace("$", "").replace("×", "*").replace("÷", "/")
    cleaned = re.sub(r"(?<=\s)x(?=\s)", "*", cleaned)
    if not re.fullmatch(r"[\d.\s+\-*/()]+", cleaned):
        return None
    try:
        value = _evaluate(ast.parse(cleaned.strip(), mode="eval"))
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError, RecursionError):
        return None
    return value if math.isfinite(value) else None


def _stated(raw: str) -> float | None:
    try:
        value = float(raw.replace(",", "").replace("$", "").strip().rstrip("."))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def arithmetic_statements(text: str) -> list[ArithmeticStatement]:
    """Every evaluable ``a op b = c`` and ``<<a op b=c>>`` in ``text``, in order."""
    found: list[ArithmeticStatement] = []
    spans: list[tuple[int, int]] = []
    for match in _CALCULATOR.finditer(text):
        computed, stated = _value(match.group(1)), _stated(match.group(2))
        spans.append(match.span())
        if computed is not None and stated is not None:
            found.append(ArithmeticStatement(expression=match.group(1).strip(), stated=stated, computed=computed))
    for match in _STATEMENT.finditer(text):
        if any(start <= match.start() < end for start, end in spans):
            continue
        computed, stated = _value(match.group(1)), _stated(match.group(2))
        if computed is not None and stated is not None:
            found.append(ArithmeticStatement(expression=match.group(1).strip(), stated=stated, computed=computed))
    return found
