"""Backend for the official ``anthropic`` SDK: streaming Messages with tool use."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from persona_lab.core import (
    AuthFailed,
    ChatRequest,
    Chunk,
    PersonaLabError,
    ProviderError,
    ProviderTimeout,
    RateLimited,
    StreamInterrupted,
    ToolCallDelta,
    Usage,
)
from persona_lab.tiers._config import ModelConfig
from persona_lab.tiers._deadline import bounded_stream, retry_after_s
from persona_lab.tiers._stream_errors import ProviderFault, cut_off_error, redact_keys, redacted_cause

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

__all__ = ["AnthropicBackend", "anthropic_messages"]


def anthropic_messages(request: ChatRequest) -> list[dict[str, Any]]:
    """Messages in the Anthropic shape: tool results as user blocks, same roles merged,
    a user message first, and never an empty list."""
    out: list[dict[str, Any]] = []
    for m in request.messages:
        if m.role == "system":
            continue
        if m.role == "tool":
            role = "user"
            blocks: list[dict[str, Any]] = [
                {"type": "tool_result", "tool_use_id": m.tool_call_id, "content": m.content}
            ]
        else:
            role = m.role
            blocks = [{"type": "text", "text": m.content}] if m.content else []
            for c in m.tool_calls:
                try:
                    args = c.parsed_arguments()
                except ValueError:
                    args = {"_raw": c.arguments}
                blocks.append({"type": "tool_use", "id": c.id, "name": c.name, "input": args})
        if not blocks:
            continue
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    if not out or out[0]["role"] != "user":
        out.insert(0, {"role": "user", "content": [{"type": "text", "text": "(continue)"}]})
    return out


def _tool_choice(choice: str) -> dict[str, Any]:
    if choice == "auto":
        return {"type": "auto"}
    if choice == "none":
        return {"type": "none"}
    if choice == "required":
        return {"type": "any"}
    return {"type": "tool", "name": choice}


# An ``error`` event inside a 200 stream carries no HTTP status; its type says what it would have been.
_STREAM_ERROR_STATUS = MappingProxyType({
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
})


class AnthropicBackend:
    """Streams Messages through ``AsyncAnthropic``; SDK errors become persona-lab errors.

    The SDK's own retries are off (it would wait out any ``Retry-After``, up to weeks):
    :func:`bounded_stream` retries within ``config.deadline_s``. An injected ``client`` keeps its
    own retry and timeout settings.
    """

    def __init__(self, config: ModelConfig, *, client: AsyncAnthropic | None = None):
        self.name = "anthropic"
        self._config = config
        self._client = client

    def __repr__(self) -> str:
        return f"AnthropicBackend(model={self._config.model!r})"

    def _get_client(self) -> AsyncAnthropic:
        if self._client is None:
            from anthropic import AsyncAnthropic

            key = self._config.api_key.reveal() if self._config.api_key else None
            self._client = AsyncAnthropic(
                api_key=key,
                base_url=self._config.base_url,
                max_retries=0,  # retries, Retry-After and the deadline are bounded_stream's
                timeout=self._config.timeout_s,
            )
        return self._client

    def _params(self, request: ChatRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_output_tokens,
            "messages": anthropic_messages(request),
            "stream": True,
        }
        # System messages inside the conversation join the system parameter rather than vanish.
        inline = (m.content for m in request.messages if m.role == "system")
        system = "\n\n".join(part for part in (request.system, *inline) if part)
        if system:
            params["system"] = system
        # No temperature: anthropic>=1 dropped it from create(), and the API version the 2.x SDK
        # sends (2026-10-21) answers any sampling parameter with a 400.
        if request.tools:
            params["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": dict(t.parameters)}
                for t in request.tools
            ]
            params["tool_choice"] = _tool_choice(request.tool_choice)
        return params

    def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        """Stream the answer with bounded waits (timeout, retries, deadline: see ``_deadline``)."""
        self._get_client()  # import the SDK and build the client outside the timed attempts
        return bounded_stream(self._config, lambda: self._attempt(request))

    async def _attempt(self, request: ChatRequest) -> AsyncGenerator[Chunk | None, None]:
        """One HTTP attempt; ``None`` for events without answer text (pings, thinking, starts)."""
        started = False
        failure: tuple[ProviderError, ProviderFault] | None = None
        try:
            events = await self._get_client().messages.create(**self._params(request))
            input_tokens: int | None = None
            cache_read: int | None = None
            output_tokens: int | None = None
            finish: str | None = None
            model: str | None = None
            tool_blocks: dict[int, bool] = {}  # tool_use block index -> any argument text seen
            async with events:
                async for event in events:
                    kind = event.type
                    if kind == "message_start":
                        model = event.message.model
                        input_tokens = event.message.usage.input_tokens
                        cache_read = getattr(event.message.usage, "cache_read_input_tokens", None)
                    elif kind == "content_block_start" and event.content_block.type == "tool_use":
                        started = True
                        block = event.content_block
                        tool_blocks[event.index] = False
                        yield Chunk(
                            tool_calls=(ToolCallDelta(index=event.index, id=block.id, name=block.name, arguments=""),),
                        )
                        continue
                    elif kind == "content_block_delta":
                        if event.delta.type == "text_delta":
                            started = True
                            yield Chunk(delta=event.delta.text)
                            continue
                        if event.delta.type == "input_json_delta":
                            started = True
                            if event.delta.partial_json:
                                tool_blocks[event.index] = True
                            yield Chunk(
                                tool_calls=(ToolCallDelta(index=event.index, arguments=event.delta.partial_json),),
                            )
                            continue
                    elif kind == "content_block_stop" and tool_blocks.get(event.index) is False:
                        # a tool called without arguments streams no JSON at all; arguments are JSON text
                        yield Chunk(tool_calls=(ToolCallDelta(index=event.index, arguments="{}"),))
                        continue
                    elif kind == "message_delta":
                        finish = event.delta.stop_reason or finish
                        output_tokens = event.usage.output_tokens
                        # message_delta's counts are cumulative, so they supersede message_start's
                        if event.usage.input_tokens is not None:
                            input_tokens = event.usage.input_tokens
                        if event.usage.cache_read_input_tokens is not None:
                            cache_read = event.usage.cache_read_input_tokens
                    yield None
            if finish is None:
                # The SDK ends quietly when the connection closes before message_delta: a cut-off answer.
                raise cut_off_error(self._config, started=started, stop_field="stop_reason")
            usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens, cache_read_input_tokens=cache_read)
            yield Chunk(usage=usage, finish_reason=finish, response_model=model, final=True)
        except PersonaLabError:
            raise
        except Exception as exc:
            failure = (self.classify(exc, started=started), redacted_cause(exc, self._config, self._client))
        if failure is not None:  # raised outside the handler: the SDK exception is not even the context
            raise failure[0] from failure[1]

    def classify(self, exc: Exception, *, started: bool = False) -> ProviderError:
        """Translate an SDK exception; nothing from ``anthropic`` leaves this module."""
        import anthropic

        cfg = self._config
        common: dict[str, Any] = {"provider": cfg.provider, "model": cfg.model}
        text = redact_keys(f"{cfg.ref}: {type(exc).__name__}: {exc}", cfg, self._client)
        if started:
            return StreamInterrupted(f"stream broke part-way: {text}", **common)
        if isinstance(exc, anthropic.APITimeoutError):
            return ProviderTimeout(text, **common)
        if isinstance(exc, anthropic.APIStatusError):
            status = exc.status_code
            wait: float | None = None
            if status < 400:  # an error event inside a 200 stream
                status = _STREAM_ERROR_STATUS.get(str(exc.type), 500)
            else:
                wait = retry_after_s(exc.response.headers)
            if status == 429:
                return RateLimited(text, status_code=429, retry_after_s=wait, **common)
            if status in (401, 403):
                return AuthFailed(text, status_code=status, retryable=False, **common)
            retryable = status >= 500 or status in (408, 409)
            return ProviderError(text, status_code=status, retryable=retryable, retry_after_s=wait, **common)
        return ProviderError(text, **common)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


