"""llama.cpp's ``chatml-function-calling`` chat handler with what a chat loop needs on top
(:func:`chatml_tools_handler`), and its registration for ``llama_cpp.server``.

``llama_cpp`` is imported only when the handler runs, so importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from persona_lab.core import ProviderError
from persona_lab.tiers._llama_cpp_compat import is_streaming_tool_choice_refusal, register_chat_format
from persona_lab.tiers._local import PERSONA_CHAT_FORMAT

__all__ = ["chatml_tools_handler", "register_chat_handler"]


@dataclass(slots=True)
class _Meter:
    """Counts, with the model's tokenizer, the largest prompt a request rendered."""

    llama: Any
    input_tokens: int = 0

    def saw(self, prompt: object) -> None:
        if isinstance(prompt, str):
            count = len(self.llama.tokenize(prompt.encode("utf-8"), add_bos=True, special=True))
        elif isinstance(prompt, Sequence):
            count = len(prompt)
        else:
            return
        self.input_tokens = max(self.input_tokens, count)

    def count(self, text: str) -> int:
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=False)) if text else 0


class _MeteredLlama:
    """The model as the stock handler sees it, with every rendered prompt counted."""

    def __init__(self, llama: Any, meter: _Meter):
        self._llama = llama
        self._meter = meter

    def __getattr__(self, name: str) -> Any:
        return getattr(self._llama, name)

    def create_completion(self, *args: Any, **kwargs: Any) -> Any:
        self._meter.saw(kwargs.get("prompt", args[0] if args else None))
        return self._llama.create_completion(*args, **kwargs)


def _prepare_messages(messages: Sequence[Mapping[str, Any]], with_tools: bool) -> list[dict[str, Any]]:
    """Messages the ``chatml-function-calling`` template can render.

    It has no tool role (a tool message would leave an unclosed turn), lists tools only inside
    a system message, and needs ``content`` present on every message.
    """
    names: dict[str, str] = {}
    out: list[dict[str, Any]] = []
    for message in messages:
        m = dict(message)
        m.setdefault("content", None)
        for call in m.get("tool_calls") or ():
            names[str(call.get("id"))] = str((call.get("function") or {}).get("name", "tool"))
        if m.get("role") == "tool":
            name = names.get(str(m.get("tool_call_id")), "tool")
            m = {"role": "user", "content": f"functions.{name} returned:\n{m.get('content') or ''}"}
        out.append(m)
    if with_tools and not any(m.get("role") == "system" for m in out):
        out.insert(0, {"role": "system", "content": ""})
    return out


def _resolve_tool_choice(tools: Sequence[Mapping[str, Any]] | None, choice: Any) -> Any:
    if not tools or choice != "required":
        return choice
    if len(tools) != 1:
        names = ", ".join(str(t["function"]["name"]) for t in tools)
        raise ProviderError(  # this backend cannot serve the request; another tier may
            f"tool_choice='required' with several tools ({names}) is not supported by this chat "
            "format; name the tool to force it",
            provider="llama-cpp", retryable=False,
        )
    return {"type": "function", "function": {"name": tools[0]["function"]["name"]}}


def _whole_as_chunks(whole: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """A finished chat completion replayed as stream chunks."""
    head = {"id": whole["id"], "object": "chat.completion.chunk", "created": whole["created"], "model": whole["model"]}
    choice = whole["choices"][0]
    message = choice["message"]
    calls = [
        {"index": i, "id": c["id"], "type": "function", "function": dict(c["function"])}
        for i, c in enumerate(message.get("tool_calls") or ())
    ]
    delta: dict[str, Any] = {"role": "assistant", "content": message.get("content")}
    if calls:
        delta["tool_calls"] = calls
    yield {**head, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}]}
    yield {**head, "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": choice["finish_reason"]}]}


@dataclass(slots=True)
class _Generated:
    """What a stream produced: answer text and tool calls (names arrive repeated per chunk)."""

    text: list[str] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)
    arguments: list[str] = field(default_factory=list)

    def add(self, delta: Mapping[str, Any]) -> bool:
        """Record one delta; whether it carried answer text."""
        text = delta.get("content") or ""
        self.text.append(text)
        for tc in delta.get("tool_calls") or ():
            function = tc.get("function") or {}
            self.names.setdefault(int(tc.get("index") or 0), function.get("name") or "")
            self.arguments.append(function.get("arguments") or "")
        return bool(text)

    def joined(self) -> str:
        return "".join(self.text) + "".join(self.names.values()) + "".join(self.arguments)


def _usage(meter: _Meter, generated: _Generated) -> dict[str, int]:
    output = meter.count(generated.joined())
    total = meter.input_tokens + output
    return {"prompt_tokens": meter.input_tokens, "completion_tokens": output, "total_tokens": total}


def _finish_stream(
    chunks: Iterator[dict[str, Any]], meter: _Meter, max_tokens: int | None
) -> Iterator[dict[str, Any]]:
    """Pass chunks through, stop at ``max_tokens`` answer pieces, end with a usage chunk."""
    head: dict[str, Any] = {}
    generated = _Generated()
    pieces = 0
    try:
        for chunk in chunks:
            head = {k: chunk[k] for k in ("id", "object", "created", "model") if k in chunk}
            for choice in chunk.get("choices") or ():
                pieces += generated.add(choice.get("delta") or {})
            yield chunk
            if max_tokens is not None and pieces >= max_tokens:
                # With tools offered and a plain answer, the stock handler ignores max_tokens.
                yield {**head, "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "length"}]}
                break
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    yield {**head, "object": "chat.completion.chunk", "choices": [], "usage": _usage(meter, generated)}


def chatml_tools_handler(
    *,
    llama: Any,
    messages: Sequence[Mapping[str, Any]],
    tools: Sequence[Mapping[str, Any]] | None = None,
    tool_choice: Any = None,
    stream: bool = False,
    max_tokens: int | None = None,
    **kwargs: Any,
) -> Any:
    """llama.cpp's ``chatml-function-calling`` with what a chat loop needs on top.

    Automatic tool calls also stream (the stock handler refuses; the call is replayed as
    chunks), tool results reach the model, ``tool_choice="required"`` forces a lone tool,
    ``max_tokens`` always holds, and usage, counted with the model's tokenizer, ends every stream.
    """
    from llama_cpp.llama_chat_format import chatml_function_calling

    meter = _Meter(llama)
    prepared = _prepare_messages(messages, bool(tools))
    choice = _resolve_tool_choice(tools, tool_choice)

    def call(streaming: bool) -> Any:
        return chatml_function_calling(
            llama=_MeteredLlama(llama, meter),  # type: ignore[arg-type]
            messages=prepared,  # type: ignore[arg-type]
            tools=list(tools) if tools else None,  # type: ignore[arg-type]
            tool_choice=choice,
            stream=streaming,
            max_tokens=max_tokens,
            **kwargs,
        )

    if not stream:
        whole = call(False)
        generated = _Generated()
        message = whole["choices"][0]["message"]
        generated.add({
            "content": message.get("content"),
            "tool_calls": [{"index": i, **c} for i, c in enumerate(message.get("tool_calls") or ())],
        })
        whole["usage"] = _usage(meter, generated)
        return whole
    try:
        chunks: Iterator[dict[str, Any]] = call(True)
    except ValueError as exc:
        if not is_streaming_tool_choice_refusal(exc):
            raise
        chunks = _whole_as_chunks(call(False))  # the model chose a tool: build the call whole
    return _finish_stream(chunks, meter, max_tokens)


def register_chat_handler() -> None:
    """Register :func:`chatml_tools_handler` in llama.cpp's global registry as ``persona-lab-chatml-tools``.

    Only ``llama_cpp.server`` needs this (it names chat formats by string); the in-process
    backend hands the handler to its own model instead.
    """
    register_chat_format(PERSONA_CHAT_FORMAT, chatml_tools_handler)
