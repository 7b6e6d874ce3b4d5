"""Tools: Python functions offered to models with a JSON schema built from their signature.

``@tool`` reads the signature, type hints and docstring (Google-style ``Args:``) of a sync or
async function. Invalid arguments and exceptions become error results the model can read;
a :class:`Toolbox` never lets a tool crash a turn.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any, get_type_hints, overload

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from persona_lab.core import InvalidArgument, ToolCall, ToolSpec

__all__ = ["Tool", "ToolOutcome", "Toolbox", "tool"]

_RESULT_LIMIT = 2000


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolOutcome:
    content: str
    is_error: bool
    duration_s: float = 0.0
    cached: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Tool:
    """A callable tool with its JSON schema; build one with :func:`tool`."""

    name: str
    description: str
    parameters: Mapping[str, Any]
    fn: Callable[..., Any] = field(compare=False, repr=False)
    arguments_model: type[BaseModel] = field(compare=False, repr=False)
    cache_errors: bool = True
    """A repeated call that failed before returns the earlier error without running; ``False`` for
    tools whose answer depends on state that changes during a turn (the journey tools)."""

    @property
    def spec(self) -> ToolSpec:
        return ToolSpec(name=self.name, description=self.description, parameters=self.parameters)

    async def call(self, arguments: str) -> ToolOutcome:
        """Validate ``arguments`` (JSON text) and run the tool; failures become error outcomes."""
        started = time.perf_counter()
        try:
            raw = json.loads(arguments or "{}")
        except json.JSONDecodeError as exc:
            return _error(f"arguments are not valid JSON ({exc.msg} at char {exc.pos})", started)
        if not isinstance(raw, dict):
            return _error(f"arguments must be a JSON object, got {type(raw).__name__}", started)
        try:
            parsed = self.arguments_model.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '<args>'}: {e['msg']}" for e in exc.errors()
            )
            return _error(f"invalid arguments for {self.name}: {problems}", started)
        kwargs = {name: getattr(parsed, name) for name in type(parsed).model_fields}
        try:
            result = self.fn(**kwargs)
            if inspect.isawaitable(result):
                result = await result
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return _error(f"{self.name} raised {type(exc).__name__}: {exc}", started)
        text = result if isinstance(result, str) else json.dumps(result, default=str)
        return ToolOutcome(content=_cut(text), is_error=False, duration_s=time.perf_counter() - started)


def _cut(text: str) -> str:
    return text if len(text) <= _RESULT_LIMIT else text[:_RESULT_LIMIT] + f"… [{len(text)} chars]"


def _error(message: str, started: float) -> ToolOutcome:
    return ToolOutcome(content=f"ERROR: {message}", is_error=True, duration_s=time.perf_counter() - started)


_ARG_LINE = re.compile(r"^\s{2,}(\w+)\s*(?:\([^)]*\))?:\s*(.+)$")


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Summary and per-argument descriptions from a Google-style docstring."""
    lines = inspect.cleandoc(doc).splitlines() if doc else []
    summary: list[str] = []
    args: dict[str, str] = {}
    in_args = False
    summary_done = False
    for line in lines:
        stripped = line.strip()
        if stripped.lower() in ("args:", "arguments:", "parameters:"):
            in_args = True
            continue
        if in_args:
            match = _ARG_LINE.match("  " + stripped) if stripped else None
            if match:
                args[match.group(1)] = match.group(2).strip()
            elif stripped.endswith(":") and not line.startswith(" "):
                in_args = False
            continue
        if stripped and not summary_done:
            summary.append(stripped)
        elif summary:
            summary_done = True
    return " ".join(summary), args


@overload
def tool(fn: Callable[..., Any], /) -> Tool: ...


@overload
def tool(*, name: str | None = None, description: str | None = None) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Turn a function into a :class:`Tool`; usable as ``@tool`` or ``@tool(name=...)``."""

    def build(func: Callable[..., Any]) -> Tool:
        summary, arg_docs = _parse_docstring(func.__doc__ or "")
        hints = get_type_hints(func)
        fields: dict[str, Any] = {}
        for param in inspect.signature(func).parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise InvalidArgument(f"tool {func.__name__}: *args and **kwargs cannot be described to a model; "
                                      "give every argument a name")
            annotation = hints.get(param.name, str)
            default = ... if param.default is inspect.Parameter.empty else param.default
            fields[param.name] = (annotation, Field(default, description=arg_docs.get(param.name)))
        model = create_model(  # type: ignore[call-overload]
            f"{func.__name__}_arguments", __config__=ConfigDict(extra="forbid"), **fields
        )
        schema = model.model_json_schema()
        schema.pop("title", None)
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)
        return Tool(
            name=name or func.__name__,
            description=description or summary or func.__name__,
            parameters=schema,
            fn=func,
            arguments_model=model,
        )

    return build(fn) if fn is not None else build


ErrorCache = MutableMapping[tuple[str, str], ToolOutcome]


class Toolbox:
    """The tools a loop may offer, looked up by name."""

    def __init__(self, tools: Iterable[Tool | Callable[..., Any]] = ()):
        self._tools: dict[str, Tool] = {}
        for item in tools:
            t = item if isinstance(item, Tool) else tool(item)
            self._tools[t.name] = t

    def __repr__(self) -> str:
        return f"Toolbox({sorted(self._tools)})"

    def __len__(self) -> int:
        return len(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._tools)

    def allowed(self, names: Iterable[str]) -> Toolbox:
        """Only the tools on an allow-list (the persona's ``tools``)."""
        allow = set(names)
        return Toolbox(t for n, t in self._tools.items() if n in allow)

    def extended(self, tools: Iterable[Tool | Callable[..., Any]]) -> Toolbox:
        """These tools plus ``tools`` (a tool with the same name as one here replaces it)."""
        return Toolbox([*self._tools.values(), *tools])

    def specs(self) -> tuple[ToolSpec, ...]:
        return tuple(t.spec for t in self._tools.values())

    async def execute(self, call: ToolCall, *, error_cache: ErrorCache | None = None) -> ToolOutcome:
        """Run one call. A repeat of a call that failed returns the earlier error without running."""
        found = self._tools.get(call.name)
        if found is not None and not found.cache_errors:
            error_cache = None
        key = (call.name, _normalise(call.arguments))
        if error_cache is not None and key in error_cache:
            earlier = error_cache[key]
            return ToolOutcome(
                content=earlier.content + " (same call failed before; not run again)",
                is_error=True,
                duration_s=0.0,
                cached=True,
            )
        if found is None:
            outcome = ToolOutcome(
                content=f"ERROR: unknown tool {call.name!r}; available: {', '.join(self._tools) or 'none'}",
                is_error=True,
            )
        else:
            outcome = await found.call(call.arguments)
        if outcome.is_error and error_cache is not None:
            error_cache[key] = outcome
        return outcome


def _normalise(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments or "{}"), sort_keys=True)
    except json.JSONDecodeError:
        return arguments.strip()


AsyncToolFn = Callable[..., Awaitable[Any]]
