"""The small async protocol every provider backend implements, and the values it exchanges."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from persona_lab.core._messages import Message, ToolCall

__all__ = [
    "Backend",
    "ChatRequest",
    "Chunk",
    "Completion",
    "StreamFold",
    "ToolCallDelta",
    "ToolSpec",
    "Usage",
    "fold_stream",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolSpec:
    """A tool as offered to a model: name, description and JSON schema of its arguments."""

    name: str
    description: str
    parameters: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Usage:
    """Token counts for one call; ``None`` means the provider did not say."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_input_tokens: int | None = None

    def __add__(self, other: Usage) -> Usage:
        def add(a: int | None, b: int | None) -> int | None:
            return None if a is None and b is None else (a or 0) + (b or 0)

        return Usage(
            input_tokens=add(self.input_tokens, other.input_tokens),
            output_tokens=add(self.output_tokens, other.output_tokens),
            cache_read_input_tokens=add(self.cache_read_input_tokens, other.cache_read_input_tokens),
        )

    @property
    def total_tokens(self) -> int:
        return (self.input_tokens or 0) + (self.output_tokens or 0)


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatRequest:
    """One model call. ``system`` is sent the provider's way (a system message or parameter)."""

    model: str
    system: str
    messages: tuple[Message, ...]
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: Literal["auto", "none", "required"] | str = "auto"
    max_output_tokens: int = 1024
    temperature: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCallDelta:
    """A piece of a streamed tool call; pieces with the same ``index`` concatenate."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Chunk:
    """One streamed piece. The ``final`` chunk carries usage and the stop reason."""

    delta: str = ""
    tool_calls: tuple[ToolCallDelta, ...] = ()
    usage: Usage | None = None
    finish_reason: str | None = None
    response_model: str | None = None
    final: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
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


class StreamFold:
    """Folds a stream chunk by chunk into a :class:`Completion`: the one folding rule.

    Text deltas concatenate; tool-call pieces with the same ``index`` concatenate; the last
    usage, finish reason and response model seen win. :func:`fold_stream` folds a whole stream;
    the loops feed chunks one by one because they stream the text on as it arrives.
    """

    __slots__ = ("_calls", "_ids", "_names", "_text", "finish_reason", "response_model", "usage")

    def __init__(self) -> None:
        self._text: list[str] = []
        self._calls: dict[int, list[str]] = {}
        self._ids: dict[int, str] = {}
        self._names: dict[int, str] = {}
        self.usage: Usage | None = None
        self.finish_reason: str | None = None
        self.response_model: str | None = None

    def add(self, chunk: Chunk) -> None:
        if chunk.delta:
            self._text.append(chunk.delta)
        for d in chunk.tool_calls:
            self._calls.setdefault(d.index, []).append(d.arguments)
            if d.id:
                self._ids[d.index] = d.id
            if d.name:
                self._names[d.index] = d.name
        if chunk.usage is not None:
            self.usage = chunk.usage
        self.finish_reason = chunk.finish_reason or self.finish_reason
        self.response_model = chunk.response_model or self.response_model

    @property
    def text(self) -> str:
        return "".join(self._text)

    def tool_calls(self, *, id_prefix: str = "call") -> tuple[ToolCall, ...]:
        """The folded tool calls; a call the provider gave no id gets ``f"{id_prefix}_{index}"``."""
        return tuple(
            ToolCall(id=self._ids.get(i) or f"{id_prefix}_{i}", name=self._names.get(i, ""), arguments="".join(parts))
            for i, parts in sorted(self._calls.items())
        )

    def completion(self) -> Completion:
        return Completion(
            text=self.text,
            tool_calls=self.tool_calls(),
            usage=self.usage or Usage(),
            finish_reason=self.finish_reason,
            response_model=self.response_model,
        )


async def fold_stream(chunks: AsyncIterator[Chunk]) -> Completion:
    """Collect a stream into one :class:`Completion`."""
    fold = StreamFold()
    async for chunk in chunks:
        fold.add(chunk)
    return fold.completion()
