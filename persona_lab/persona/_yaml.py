"""Reading a persona file safely: bytes → UTF-8 text → checked YAML events → plain data.

Every way a file can be malformed ends in :class:`PersonaError` naming the file and the line:
bytes that are not UTF-8 (or a UTF-16/32 file), a file or a value too large, nesting deeper
than :data:`MAX_DEPTH`, YAML tags (``!!python/object``, ``!!binary``, …), aliases (``*ref``,
which can multiply a small file into a huge one), duplicate keys, and values YAML itself cannot
build (a 5,000-digit integer, an impossible date). The structure is checked on the parser's
event stream, which is not recursive, before anything is built, so no input reaches Python's
recursion limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import yaml

from persona_lab.core import PersonaError

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_SCALAR_CHARS", "decode_persona_bytes", "line_of", "load_persona_yaml"]

MAX_BYTES = 1 << 20
"""Largest persona file read (1 MiB)."""

MAX_DEPTH = 32
"""Deepest nesting of mappings and lists accepted."""

MAX_SCALAR_CHARS = 100_000
"""Longest single value (a background text, a claim) accepted."""

MAX_NODES = 20_000
"""Most values (scalars, lists, mappings) in one file."""

_BOMS = MappingProxyType({
    b"\xff\xfe\x00\x00": "UTF-32",
    b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe": "UTF-16",
    b"\xfe\xff": "UTF-16",
})


def decode_persona_bytes(data: bytes, *, source: str) -> str:
    """The file's text; a UTF-8 byte-order mark is dropped, anything that is not UTF-8 refused."""
    if len(data) > MAX_BYTES:
        raise PersonaError(
            f"{source}: the file is {len(data):,} bytes; a persona file may have at most {MAX_BYTES:,}",
            source=source,
        )
    for bom, name in _BOMS.items():
        if data.startswith(bom):
            raise PersonaError(f"{source}: line 1: the file is {name}; save it as UTF-8", source=source, line=1)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise PersonaError(
            f"{source}: line {line}, column {column}: byte 0x{data[exc.start]:02x} is not UTF-8; "
            "save the file as UTF-8",
            source=source,
            line=line,
        ) from None


@dataclass(slots=True)
class _Level:
    mapping: bool
    key_next: bool = True
    keys: set[str] = field(default_factory=set)


def _fail(source: str, event: yaml.Event, problem: str) -> PersonaError:
    line = event.start_mark.line + 1 if event.start_mark is not None else None
    where = f"line {line}: " if line is not None else ""
    return PersonaError(f"{source}: {where}{problem}", source=source, line=line)


def _check_events(text: str, source: str) -> None:
    """Walk the YAML events once: depth, size, tags, aliases and duplicate keys."""
    levels: list[_Level] = []
    nodes = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            raise _fail(source, event, f"aliases (*{event.anchor}) are not allowed in a persona file")
        if not isinstance(event, yaml.NodeEvent):
            if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                levels.pop()
            continue
        nodes += 1
        if nodes > MAX_NODES:
            raise _fail(source, event, f"more than {MAX_NODES:,} values in one persona file")
        tag = getattr(event, "tag", None)
        if tag is not None and tag != "!":
            raise _fail(source, event, f"YAML tags ({tag}) are not allowed in a persona file")
        parent = levels[-1] if levels else None
        is_key = parent is not None and parent.mapping and parent.key_next
        if parent is not None and parent.mapping:
            parent.key_next = not parent.key_next
        if isinstance(event, yaml.ScalarEvent):
            if len(event.value) > MAX_SCALAR_CHARS:
                raise _fail(
                    source, event, f"a value of {len(event.value):,} characters; the limit is {MAX_SCALAR_CHARS:,}"
                )
            if is_key and parent is not None:
                if event.value in parent.keys:
                    raise _fail(source, event, f"duplicate key {event.value[:80]!r}")
                parent.keys.add(event.value)
        elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            levels.append(_Level(mapping=isinstance(event, yaml.MappingStartEvent)))
            if len(levels) > MAX_DEPTH:
                raise _fail(source, event, f"nested more than {MAX_DEPTH} levels deep")


def _yaml_error(exc: yaml.YAMLError, text: str, source: str) -> PersonaError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow: no mark, a position
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        problem = f"character U+{ord(exc.character):04X} is not allowed in YAML" if isinstance(
            exc.character, str
        ) else exc.reason
        return PersonaError(
            f"{source}: not valid YAML (line {line}, column {column}): {problem}", source=source, line=line
        )
    at = mark.line + 1 if mark is not None else None
    where = f" (line {at}, column {mark.column + 1})" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc)
    return PersonaError(f"{source}: not valid YAML{where}: {problem}", source=source, line=at)


class _ValueProblem(Exception):
    """A scalar YAML cannot build, with its line."""

    def __init__(self, line: int, cause: Exception):
        super().__init__(f"line {line}: a value cannot be read ({type(cause).__name__}: {str(cause)[:200]})")
        self.line = line


class _Loader(yaml.SafeLoader):
    """The safe loader, naming the line of a value it cannot build."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError, TypeError) as exc:
            raise _ValueProblem(node.start_mark.line + 1, exc) from None


def load_persona_yaml(text: str, *, source: str) -> tuple[Any, yaml.Node | None]:
    """The data of a persona file and its YAML node tree (for :func:`line_of`), checked first."""
    if len(text) > MAX_BYTES:
        raise PersonaError(
            f"{source}: the text is {len(text):,} characters; a persona file may have at most {MAX_BYTES:,}",
            source=source,
        )
    try:
        _check_events(text, source)
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, source) from None
    except _ValueProblem as exc:
        raise PersonaError(f"{source}: {exc}", source=source, line=exc.line) from None
    except (ValueError, OverflowError, TypeError, RecursionError) as exc:
        # a value YAML itself cannot build: an integer of thousands of digits, an impossible date
        raise PersonaError(
            f"{source}: a value cannot be read ({type(exc).__name__}: {str(exc)[:200]})", source=source
        ) from None
    return data, node


def line_of(node: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
    """The 1-based line of the value at ``loc`` (a pydantic error location) in the node tree."""
    line = None if node is None else node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == str(part)), None)
            if match is None:
                return line
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
        else:
            return line
        line = node.start_mark.line + 1
    return line
