"""One model call with fallback: try the tier's models, then the nearest tiers, streaming events.

Shared by the conversation loop and the agentic loop. A stream that breaks part-way is not
retried by the SDKs; here it moves to the next candidate and a :class:`Retrying` event tells
consumers to discard the partial text.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass, field

from persona_lab.core import (
    MESSAGE_OVERHEAD_TOKENS,
    AllTiersFailed,
    Attempt,
    ChatRequest,
    Chunk,
    Clock,
    LoopEvent,
    PersonaLabError,
    ProviderError,
    Retrying,
    StreamFold,
    TextDelta,
    TierNotConfigured,
    ToolCall,
    Usage,
    estimate_tokens,
)
from persona_lab.tiers import Cost, ModelConfig, TierRegistry

__all__ = ["CallResult", "ModelCaller", "RequestBuilder"]

logger = logging.getLogger("persona_lab.loops")

RequestBuilder = Callable[[str, ModelConfig], ChatRequest]
"""Builds the request for a (tier, model): the prompt is fitted to that model's budget."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CallResult:
    """The accepted call: what it said, which model said it, and what it cost."""

    text: str
    tool_calls: tuple[ToolCall, ...]
    tier: str
    config: ModelConfig
    usage: Usage
    tokens_estimated: bool
    cost: Cost
    latency_s: float
    time_to_first_chunk_s: float | None
    first_text_at: float | None
    response_model: str | None
    finish_reason: str | None
    attempts: tuple[Attempt, ...]
    fallback_reason: str | None


@dataclass(slots=True)
class CallBox:
    """Receives the result of :meth:`ModelCaller.stream` (async generators cannot return)."""

    result: CallResult | None = None
    failed_attempts: list[Attempt] = field(default_factory=list)


def _estimate_usage(request: ChatRequest, text: str, calls: tuple[ToolCall, ...]) -> Usage:
    prompt = estimate_tokens(request.system) + sum(m.tokens for m in request.messages)
    prompt += sum(estimate_tokens(t.description) + 20 for t in request.tools)
    output = estimate_tokens(text) + sum(estimate_tokens(c.arguments) + MESSAGE_OVERHEAD_TOKENS for c in calls)
    return Usage(input_tokens=prompt, output_tokens=output)


_STOPPED = (
    "cancelled (task.cancel()) during the call; tokens estimated from what had streamed",
    "the consumer stopped iterating during the call; tokens estimated from what had streamed",
)


class _Closable:
    """An async iterator with ``aclose`` (backends return async generators; others get a no-op)."""

    def __init__(self, iterator: AsyncIterator[Chunk]):
        self._iterator = iterator

    def __aiter__(self) -> _Closable:
        return self

    async def __anext__(self) -> Chunk:
        return await self._iterator.__anext__()

    async def aclose(self) -> None:
        close = getattr(self._iterator, "aclose", None)
        if close is not None:
            await close()


def _closable(iterator: AsyncIterator[Chunk]) -> _Closable:
    return iterator if isinstance(iterator, _Closable) else _Closable(iterator)


class ModelCaller:
    """Runs a request on the nearest working (tier, model), emitting text deltas and retries."""

    def __init__(self, registry: TierRegistry, clock: Clock):
        self.registry = registry
        self.clock = clock

    async def stream(
        self,
        *,
        id: str,
        index: int,
        tier: str,
        build: RequestBuilder,
        box: CallBox,
        emit_text: bool = True,
        first_tier_only: bool = False,
    ) -> AsyncGenerator[LoopEvent, None]:
        candidates = self.registry.candidates(tier)
        if first_tier_only:
            candidates = [c for c in candidates if c[0] == candidates[0][0]] if candidates else []
        if not candidates:
            raise TierNotConfigured(f"no configured tier can serve {tier!r}")
        errors: list[str] = []
        for position, (cand_tier, config) in enumerate(candidates):
            request = build(cand_tier, config)
            backend = self.registry.backend(config)
            started = self.clock.monotonic()
            first_chunk: float | None = None
            first_text: float | None = None
            fold = StreamFold()
            try:
                # aclosing: a consumer that stops (aclose, break in ``async with aclosing(...)``) or a
                # cancelled task closes the backend's stream, and with it the HTTP response, at once
                async with aclosing(_closable(backend.stream(request))) as chunks:
                    async for chunk in chunks:
                        now = self.clock.monotonic()
                        if first_chunk is None and not chunk.final:
                            first_chunk = now
                        fold.add(chunk)
                        if chunk.delta:
                            if first_text is None:
                                first_text = now
                            if emit_text:
                                yield TextDelta(id=id, index=index, text=chunk.delta)
            except (asyncio.CancelledError, GeneratorExit) as stop:
                # the turn was cancelled (task.cancel()) or its consumer stopped mid-call: the
                # attempt may have been billed for what it streamed, so it is recorded
                partial = _estimate_usage(request, fold.text, fold.tool_calls(id_prefix=f"call_{index}"))
                cost = self.registry.prices.cost(config, partial, duration_s=self.clock.monotonic() - started)
                box.failed_attempts.append(
                    Attempt(
                        tier=cand_tier,
                        provider=config.provider,
                        model=config.model,
                        outcome="failed",
                        input_tokens=partial.input_tokens,
                        output_tokens=partial.output_tokens,
                        cost_usd=cost.usd,
                        latency_s=self.clock.monotonic() - started,
                        error=_STOPPED[type(stop) is GeneratorExit],
                        error_type="Cancelled",
                    )
                )
                raise
            except Exception as exc:
                error = (
                    exc
                    if isinstance(exc, PersonaLabError)
                    else ProviderError(
                        f"{config.ref}: {type(exc).__name__}: {exc}", provider=config.provider, model=config.model
                    )
                )
                if isinstance(error, ProviderError):
                    error.tier, error.attempt = cand_tier, position + 1
                latency = self.clock.monotonic() - started
                box.failed_attempts.append(
                    Attempt(
                        tier=cand_tier,
                        provider=config.provider,
                        model=config.model,
                        outcome="failed",
                        latency_s=latency,
                        error=str(error),
                        error_type=type(error).__name__,
                    )
                )
                errors.append(f"{cand_tier} {config.ref}: {type(error).__name__}: {error}")
                logger.info(
                    "%s failed on %s (%s); trying the next candidate", config.ref, cand_tier, type(error).__name__
                )
                if position + 1 < len(candidates):
                    next_tier, next_config = candidates[position + 1]
                    yield Retrying(
                        id=id,
                        index=index,
                        from_tier=cand_tier,
                        from_model=config.model,
                        to_tier=next_tier,
                        to_model=next_config.model,
                        reason=f"{type(error).__name__}: {error}",
                    )
                    continue
                raise AllTiersFailed(
                    f"every candidate failed for tier {tier!r}: " + " | ".join(errors),
                    tier=tier,
                    attempt=position + 1,
                    retryable=False,
                ) from exc
            latency = self.clock.monotonic() - started
            text = fold.text
            tool_calls = fold.tool_calls(id_prefix=f"call_{index}")
            usage, response_model, finish = fold.usage, fold.response_model, fold.finish_reason
            estimated = usage is None or usage.input_tokens is None or usage.output_tokens is None
            if estimated:
                guess = _estimate_usage(request, text, tool_calls)
                usage = Usage(
                    input_tokens=usage.input_tokens if usage and usage.input_tokens is not None else guess.input_tokens,
                    output_tokens=usage.output_tokens
                    if usage and usage.output_tokens is not None
                    else guess.output_tokens,
                    cache_read_input_tokens=usage.cache_read_input_tokens if usage else None,
                )
            assert usage is not None
            cost = self.registry.prices.cost(config, usage, duration_s=latency)
            accepted = Attempt(
                tier=cand_tier,
                provider=config.provider,
                model=config.model,
                outcome="accepted",
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cost_usd=cost.usd,
                latency_s=latency,
            )
            box.result = CallResult(
                text=text,
                tool_calls=tool_calls,
                tier=cand_tier,
                config=config,
                usage=usage,
                tokens_estimated=estimated,
                cost=cost,
                latency_s=latency,
                time_to_first_chunk_s=None if first_chunk is None else first_chunk - started,
                first_text_at=first_text,
                response_model=response_model,
                finish_reason=finish,
                attempts=(*box.failed_attempts, accepted),
                fallback_reason=errors[-1] if errors else None,
            )
            return
