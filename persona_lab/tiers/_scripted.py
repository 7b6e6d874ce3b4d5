"""A scripted backend: a test double that answers from a list or a function.

It is for tests and for benchmarks of the loop itself, never a default a user's command runs
on. It records every request it receives so tests can assert on prompts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from persona_lab.core import (
    ChatRequest,
    Chunk,
    ProviderError,
    StreamInterrupted,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageError,
    estimate_tokens,
)

__all__ = ["ScriptedBackend", "ScriptedResponse"]


@dataclass(frozen=True, slots=True)
class ScriptedResponse:
    """One scripted answer.

    ``error`` is raised before the first chunk; ``fail_after_chunks`` breaks the stream after
    that many text chunks. ``usage=None`` reports no usage (the loop then estimates tokens).
    """

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage | None = None
    error: Exception | None = None
    fail_after_chunks: int | None = None
    latency_s: float = 0.0

    @classmethod
    def tool_call(cls, name: str, arguments: str, *, id: str = "call_1") -> ScriptedResponse:
        return cls(tool_calls=(ToolCall(id=id, name=name, arguments=arguments),))


Script = Sequence[str | ScriptedResponse] | Callable[[ChatRequest], str | ScriptedResponse]


class ScriptedBackend:
    """Test double: streams scripted responses in ``chunk_chars``-sized pieces."""

    def __init__(
        self,
        script: Script,
        *,
        name: str = "scripted",
        chunk_chars: int = 16,
        cycle: bool = False,
        report_usage: bool = True,
        time_per_chunk_s: float = 0.0,
    ):
        self.name = name
        self._script = script
        self._chunk_chars = max(1, chunk_chars)
        self._cycle = cycle
        self._report_usage = report_usage
        self._time_per_chunk_s = time_per_chunk_s
        self._position = 0
        self.requests: list[ChatRequest] = []
        self.closed = False

    def __repr__(self) -> str:
        return f"ScriptedBackend(name={self.name!r}, calls={len(self.requests)})"

    def _next(self, request: ChatRequest) -> ScriptedResponse:
        if callable(self._script):
            item = self._script(request)
        else:
            if self._position >= len(self._script):
                if not self._cycle or not self._script:
                    raise UsageError(
                        f"ScriptedBackend {self.name!r} ran out of responses after {self._position} calls"
                    )
                self._position = 0
            item = self._script[self._position]
            self._position += 1
        return ScriptedResponse(text=item) if isinstance(item, str) else item

    async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        self.requests.append(request)
        response = self._next(request)
        if response.latency_s:
            await asyncio.sleep(response.latency_s)
        if response.error is not None:
            raise response.error
        text = response.text
        size = self._chunk_chars
        for n, start in enumerate(range(0, len(text), size)):
            if response.fail_after_chunks is not None and n >= response.fail_after_chunks:
                raise StreamInterrupted(
                    f"scripted stream broke after {n} chunks",
                    provider=self.name,
                    model=request.model,
                )
            if self._time_per_chunk_s:
                await asyncio.sleep(self._time_per_chunk_s)
            yield Chunk(delta=text[start : start + size])
        if response.fail_after_chunks is not None and not text:
            raise ProviderError("scripted stream broke", provider=self.name, model=request.model)
        for i, call in enumerate(response.tool_calls):
            yield Chunk(tool_calls=(ToolCallDelta(index=i, id=call.id, name=call.name, arguments=call.arguments),))
        usage = response.usage
        if usage is None and self._report_usage:
            prompt = estimate_tokens(request.system) + sum(m.tokens for m in request.messages)
            usage = Usage(input_tokens=prompt, output_tokens=estimate_tokens(text) + 1)
        yield Chunk(
            usage=usage,
            finish_reason="tool_calls" if response.tool_calls else "stop",
            response_model=request.model,
            final=True,
        )

    async def aclose(self) -> None:
        self.closed = True
