"""The small async protocol every provider backend implements, and the values it exchanges."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from persona_lab._messages import Message, ToolCall

__all__ = [
    "Backend",
    "ChatRequest",
    "Chunk",
    "Completion",
    "ToolCallDelta",
    "ToolSpec",
    "Usage",
    "fold_stream",
]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool as offered to a model: name, description and JSON schema of its arguments."""

    name: str
    description: str
    parameters: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts for one call; ``None`` means the provider did not say."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_input_tokens: int | None = None

    def __add__(self, other: Usage) -> Usage:
        def add(a: int | None, b: int | None) -> int | None:
            return None if a is None and b is None else (a or 0) + (b or 0)

        return Usage(
            add(self.input_tokens, other.input_tokens),
            add(self.output_tokens, other.output_tokens),
            add(self.cache_read_input_tokens, other.cache_read_input_tokens),
        )

    @property
    def total_tokens(self) -> int:
        return (self.input_tokens or 0) + (self.output_tokens or 0)


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One model call. ``system`` is sent the provider's way (a system message or parameter)."""

    model: str
    system: str
    messages: tuple[Message, ...]
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: Literal["auto", "none", "required"] | str = "auto"
    max_output_tokens: int = 1024
    temperature: float | None = None


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A piece of a streamed tool call; pieces with the same ``index`` concatenate."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(frozen=True, slots=True)
class Chunk:
    """One streamed piece. The ``final`` chunk carries usage and the stop reason."""

    delta: str = ""
    tool_calls: tuple[ToolCallDelta, ...] = ()
    usage: Usage | None = None
    finish_reason: str | None = None
    response_model: str | None = None
    final: bool = False


@dataclass(frozen=True, slots=True)
class Completion:
    """A whole answer: the fold of a stream."""

    text: str
    tool_calls: tuple[ToolCall, ...]
    usage: Usage
    finish_reason: str | None
    response_model: str | None
    raw: Any = field(default=None, compare=False, repr=False)


@runtime_checkable
class Backend(Protocol):
    """A provider backend: stream a request, fold it, close the client."""

    name: str

    def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        """Stream the answer. Raises :class:`~persona_lab.ProviderError` subclasses only."""
        ...

    async def aclose(self) -> None: ...


async def fold_stream(chunks: AsyncIterator[Chunk]) -> Completion:
    """Collect a stream into one :class:`Completion`."""
    text: list[str] = []
    calls: dict[int, list[str]] = {}
    ids: dict[int, str] = {}
    names: dict[int, str] = {}
    usage = Usage()
    finish: str | None = None
    model: str | None = None
    async for chunk in chunks:
        if chunk.delta:
            text.append(chunk.delta)
        for d in chunk.tool_calls:
            calls.setdefault(d.index, []).append(d.arguments)
            if d.id:
                ids[d.index] = d.id
            if d.name:
                names[d.index] = d.name
        if chunk.usage is not None:
            usage = chunk.usage
        finish = chunk.finish_reason or finish
        model = chunk.response_model or model
    tool_calls = tuple(
        ToolCall(id=ids.get(i, f"call_{i}"), name=names.get(i, ""), arguments="".join(parts))
        for i, parts in sorted(calls.items())
    )
    return Completion("".join(text), tool_calls, usage, finish, model)
