"""Compatibility module: CPython's private regex parser (``re._parser``), read by :class:`WordPatterns`.

WordPatterns builds its fast filter from the literal start of each pattern, read from ``re``'s
own parse tree so the filter and the regex can never disagree about what a pattern means. That
parser is private: its module name (``sre_parse`` before 3.11), its opcode names and the shape
of their arguments may change in any Python release. This module is the only place that touches
it. :func:`parse` turns the private tree into plain tuples of our own:

- ``("LITERAL", code)``: one character (its code point)
- ``("IN", ((kind, value), ...))``: a class; kind ``LITERAL`` (code), ``RANGE`` ((low, high)),
  ``CATEGORY`` (its name, e.g. ``"CATEGORY_SPACE"``), ``NEGATE`` (None), others as named
- ``("REPEAT", low, high, children)``: a greedy, lazy or possessive repeat; ``high`` None = unbounded
- ``("GROUP", children)``: a capturing, non-capturing or atomic group
- ``("BRANCH", (children, ...))``: alternatives
- ``(name, None)``: anything else (anchors, look-arounds, back-references…)

``tests/test_compat.py`` checks the installed Python still parses known patterns into exactly
these shapes, and fails loudly when it does not: WordPatterns would stay exact without the
filter, but silently many times slower.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["Node", "ParserUnavailable", "parse"]

Node = tuple[Any, ...]
"""One parsed item, as described in the module docstring."""

_REPEATS = frozenset({"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"})


class ParserUnavailable(ImportError):
    """This Python has no ``re._parser`` (or one this module cannot read)."""


def _parser() -> Any:
    try:
        return importlib.import_module("re._parser")
    except ImportError as exc:  # pragma: no cover - every supported Python (3.11+) has it
        raise ParserUnavailable(f"re._parser is not importable on this Python: {exc}") from exc


def parse(pattern: str, flags: int = 0) -> tuple[Node, ...]:
    """``pattern``'s parse tree as plain tuples (see the module docstring); raises on any regex error."""
    parser = _parser()
    return _convert(parser.parse(pattern, flags), parser.MAXREPEAT)


def _convert(items: Any, unbounded: int) -> tuple[Node, ...]:
    out: list[Node] = []
    for op, av in items:
        name = str(op)
        if name == "LITERAL":
            out.append(("LITERAL", int(av)))
        elif name == "IN":
            out.append(("IN", tuple(_member(str(kind), value) for kind, value in av)))
        elif name in _REPEATS:
            low, high, sub = av
            out.append(("REPEAT", int(low), None if high == unbounded else int(high), _convert(sub, unbounded)))
        elif name == "SUBPATTERN":
            out.append(("GROUP", _convert(av[3], unbounded)))
        elif name == "ATOMIC_GROUP":
            out.append(("GROUP", _convert(av, unbounded)))
        elif name == "BRANCH":
            out.append(("BRANCH", tuple(_convert(branch, unbounded) for branch in av[1])))
        else:
            out.append((name, None))
    return tuple(out)


def _member(kind: str, value: Any) -> tuple[str, Any]:
    if kind == "LITERAL":
        return kind, int(value)
    if kind == "RANGE":
        return kind, (int(value[0]), int(value[1]))
    if kind == "CATEGORY":
        return kind, str(value)
    return kind, None
