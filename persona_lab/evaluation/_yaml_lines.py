"""YAML that remembers where each value came from: data plus a ``path → line`` map.

``load_with_lines(text)`` composes the YAML node tree (PyYAML's safe constructors) and returns
plain Python data with, for every mapping key and sequence item, the 1-based line it starts
on, keyed by its path (``("scenarios", 2, "turns", 0, "user")``). Validation errors that carry
a pydantic ``loc`` are then placed on a line with :func:`line_of`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml

__all__ = ["LinedYaml", "line_of", "load_with_lines"]

Path = tuple[str | int, ...]
LinedYaml = tuple[Any, dict[Path, int]]


def load_with_lines(text: str) -> LinedYaml:
    """``(data, lines)`` for a YAML document; raises ``yaml.YAMLError`` on bad syntax."""
    node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml when present
    lines: dict[Path, int] = {}
    if node is None:
        return None, lines
    constructor = yaml.SafeLoader("")
    return _build(node, (), lines, constructor), lines


def _build(node: yaml.Node, path: Path, lines: dict[Path, int], constructor: yaml.SafeLoader) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = constructor.construct_object(key_node, deep=True)
            child = (*path, key if isinstance(key, str | int) else str(key))
            lines[child] = key_node.start_mark.line + 1
            out[key] = _build(value_node, child, lines, constructor)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, n), lines, constructor) for n, item in enumerate(node.value)]
    return constructor.construct_object(node, deep=True)


def line_of(lines: Mapping[Path, int], loc: Sequence[str | int]) -> int | None:
    """The line of the deepest known prefix of ``loc`` (pydantic's error location)."""
    path = tuple(loc)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())
