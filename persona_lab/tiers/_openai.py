"""Backend for the official ``openai`` SDK; with ``base_url`` it serves any OpenAI-compatible server
(llama.cpp, vLLM, Ollama, Groq, DeepSeek)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from persona_lab.core import (
    AuthFailed,
    ChatRequest,
    Chunk,
    Message,
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
    from openai import AsyncOpenAI

__all__ = ["OpenAIBackend", "openai_messages"]


def openai_messages(request: ChatRequest) -> list[dict[str, Any]]:
    """The request's messages in the Chat Completions shape, system message first."""
    out: list[dict[str, Any]] = []
    if request.system:
        out.append({"role": "system", "content": request.system})
    for m in request.messages:
        out.append(_one(m))
    return out


def _one(m: Message) -> dict[str, Any]:
    if m.role == "tool":
        return {"role": "tool", "tool_call_id": m.tool_call_id, "content": m.content}
    if m.role == "assistant" and m.tool_calls:
        return {
            "role": "assistant",
            "content": m.content or None,
            "tool_calls": [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in m.tool_calls
            ],
        }
    return {"role": m.role, "content": m.content}


def _is_openai_api(base_url: str | None) -> bool:
    """Whether requests go to OpenAI's own API (no ``base_url``, or one on api.openai.com)."""
    if not base_url:
        return True
    return urlsplit(base_url).hostname == "api.openai.com"


def _compatible_messages(request: ChatRequest, base_url: str | None) -> list[dict[str, Any]]:
    """:func:`openai_messages`; for compatible servers without ``"content": null`` beside tool
    calls (llama.cpp's server rejects it; the key is optional there)."""
    messages = openai_messages(request)
    if _is_openai_api(base_url):
        return messages
    return [{k: v for k, v in m.items() if not (k == "content" and v is None)} for m in messages]


class OpenAIBackend:
    """Streams Chat Completions through ``AsyncOpenAI``; SDK errors become persona-lab errors.

    The SDK's own retries are off: :func:`bounded_stream` retries within ``config.deadline_s``.
    An injected ``client`` keeps its own retry and timeout settings.
    """

    def __init__(self, config: ModelConfig, *, client: AsyncOpenAI | None = None):
        self.name = "openai"
        self._config = config
        self._client = client

    def __repr__(self) -> str:
        return f"OpenAIBackend(model={self._config.model!r}, base_url={self._config.base_url!r})"

    def _get_client(self) -> AsyncOpenAI:
        if self._client is None:
            from openai import AsyncOpenAI

            key = self._config.api_key.reveal() if self._config.api_key else None
            self._client = AsyncOpenAI(
                api_key=key or ("not-needed" if self._config.base_url else None),
                base_url=self._config.base_url,
                max_retries=0,  # retries, Retry-After and the deadline are bounded_stream's
                timeout=self._config.timeout_s,
            )
        return self._client

    def _params(self, request: ChatRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": request.model,
            "messages": _compatible_messages(request, self._config.base_url),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        # OpenAI's own API wants max_completion_tokens (reasoning models reject max_tokens);
        # compatible servers know max_tokens.
        key = "max_completion_tokens" if _is_openai_api(self._config.base_url) else "max_tokens"
        params[key] = request.max_output_tokens
        if request.temperature is not None:
            params["temperature"] = request.temperature
        if request.tools:
            params["tools"] = [
                {
                    "type": "function",
                    "function": {"name": t.name, "description": t.description, "parameters": dict(t.parameters)},
                }
                for t in request.tools
            ]
            if request.tool_choice in ("auto", "none", "required"):
                params["tool_choice"] = request.tool_choice
            else:
                params["tool_choice"] = {"type": "function", "function": {"name": request.tool_choice}}
        return params

    def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        """Stream the answer with bounded waits (timeout, retries, deadline: see ``_deadline``)."""
        self._get_client()  # import the SDK and build the client outside the timed attempts
        return bounded_stream(self._config, lambda: self._attempt(request))

    async def _attempt(self, request: ChatRequest) -> AsyncGenerator[Chunk | None, None]:
        """One HTTP attempt; ``None`` for events without answer text (they show the stream is alive)."""
        started = False
        failure: tuple[ProviderError, ProviderFault] | None = None
        try:
            response = await self._get_client().chat.completions.create(**self._params(request))
            usage: Usage | None = None
            finish: str | None = None
            model: str | None = None
            async with response:
                async for event in response:
                    model = getattr(event, "model", None) or model
                    if event.usage is not None:
                        details = getattr(event.usage, "prompt_tokens_details", None)
                        usage = Usage(
                            input_tokens=event.usage.prompt_tokens,
                            output_tokens=event.usage.completion_tokens,
                            cache_read_input_tokens=getattr(details, "cached_tokens", None),
                        )
                    produced = False
                    for choice in event.choices or ():
                        delta = choice.delta
                        finish = choice.finish_reason or finish
                        calls = tuple(
                            ToolCallDelta(
                                index=tc.index,
                                id=tc.id,
                                name=tc.function.name if tc.function else None,
                                arguments=(tc.function.arguments or "") if tc.function else "",
                            )
                            for tc in (delta.tool_calls or ()) if delta is not None
                        ) if delta is not None else ()
                        text = (delta.content or "") if delta is not None else ""
                        if text or calls:
                            started = produced = True
                            yield Chunk(delta=text, tool_calls=calls)
                    if not produced:
                        yield None
            if finish is None:
                # The SDK ends quietly when the connection closes before [DONE]: a cut-off answer.
                raise cut_off_error(self._config, started=started, stop_field="finish_reason")
            yield Chunk(usage=usage, finish_reason=finish, response_model=model, final=True)
        except PersonaLabError:
            raise
        except Exception as exc:
            failure = (self.classify(exc, started=started), redacted_cause(exc, self._config, self._client))
        if failure is not None:  # raised outside the handler: the SDK exception is not even the context
            raise failure[0] from failure[1]

    def classify(self, exc: Exception, *, started: bool = False) -> ProviderError:
        """Translate an SDK exception; nothing from ``openai`` leaves this module."""
        import openai

        cfg = self._config
        common: dict[str, Any] = {"provider": cfg.provider, "model": cfg.model}
        text = redact_keys(f"{cfg.ref}: {type(exc).__name__}: {exc}", cfg, self._client)
        if started:
            return StreamInterrupted(f"stream broke part-way: {text}", **common)
        if isinstance(exc, openai.RateLimitError):
            return RateLimited(text, status_code=429, retry_after_s=retry_after_s(exc.response.headers), **common)
        if isinstance(exc, openai.APITimeoutError):
            return ProviderTimeout(text, **common)
        if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
            return AuthFailed(text, status_code=exc.status_code, retryable=False, **common)
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            return ProviderError(
                text,
                status_code=status,
                retryable=status >= 500 or status in (408, 409),
                retry_after_s=retry_after_s(exc.response.headers),
                **common,
            )
        return ProviderError(text, **common)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None
