"""OpenAIBackend against the real ``openai`` SDK, offline.

The SDK's HTTP client gets an ``httpx2.MockTransport`` (openai 3.x speaks ``httpx2``) whose handler
records each request and answers with Chat Completions server-sent events as the API sends them:
``chat.completion.chunk`` objects, a usage-only chunk (``stream_options.include_usage``), then
``data: [DONE]``. Bodies are cut into odd-sized pieces so SSE lines also split across reads.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest

from persona_lab import ConversationLoop, FixedRouter, Persona
from persona_lab.core import (
    AuthFailed,
    ChatRequest,
    Chunk,
    Completion,
    Message,
    PersonaLabError,
    ProviderError,
    ProviderTimeout,
    RateLimited,
    Retrying,
    StreamInterrupted,
    TextDelta,
    TierChosen,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
    Usage,
    fold_stream,
)
from persona_lab.logs import InMemoryTurnLogWriter
from persona_lab.tiers import ModelConfig, Secret, TierConfig, TierRegistry
from persona_lab.tiers._openai import OpenAIBackend
from persona_lab.tiers._stream_errors import ProviderFault
from tests.mock_http import FakeServer, Reply, raises, streamed

KEY = "sk-proj-TESTKEY-1f2e3d4c5b6a7980"
MODEL = "gpt-4o-mini"
SNAPSHOT = "gpt-4o-mini-2024-07-18"
PERSONA = Path(__file__).resolve().parents[1] / "examples" / "personas" / "tenancy_advisor.yaml"



# -- the fake server -----------------------------------------------------------------------


def chunk(
    delta: dict[str, Any] | None = None,
    *,
    finish: str | None = None,
    usage: dict[str, Any] | None = None,
    model: str = SNAPSHOT,
) -> dict[str, Any]:
    """One ``chat.completion.chunk``; with ``usage`` it is the usage-only chunk (empty choices)."""
    base: dict[str, Any] = {
        "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
        "object": "chat.completion.chunk",
        "created": 1741570283,
        "model": model,
        "service_tier": "default",
        "system_fingerprint": "fp_06737a9306",
    }
    if usage is not None:
        return {**base, "choices": [], "usage": usage}
    choice = {"index": 0, "delta": delta or {}, "logprobs": None, "finish_reason": finish}
    return {**base, "choices": [choice], "usage": None}


def usage_chunk(prompt: int, completion: int, cached: int = 0) -> dict[str, Any]:
    return chunk(
        usage={
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }
    )


def text_chunks(*pieces: str, finish: str = "stop") -> list[dict[str, Any]]:
    """Role chunk, one chunk per piece, then the chunk carrying ``finish_reason`` (empty delta)."""
    out = [chunk({"role": "assistant", "content": "", "refusal": None})]
    out += [chunk({"content": p}) for p in pieces]
    out.append(chunk({}, finish=finish))
    return out


def sse_bytes(events: Sequence[dict[str, Any]], *, done: bool = True) -> bytes:
    body = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)
    return body + (b"data: [DONE]\n\n" if done else b"")


def sse(
    events: Sequence[dict[str, Any]],
    *,
    done: bool = True,
    fail: Exception | None = None,
    piece: int = 37,
) -> Reply:
    """The events as a 200 event stream sent in ``piece``-byte reads; ``fail`` is raised at the end."""
    return streamed(sse_bytes(events, done=done), fail=fail, piece=piece)


def error(status: int, message: str, *, type_: str = "invalid_request_error", code: str | None = None) -> Reply:
    payload = {"error": {"message": message, "type": type_, "param": None, "code": code}}

    def reply(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, headers={"retry-after-ms": "1"}, json=payload)

    return reply


def backend_for(server: FakeServer, config: ModelConfig | None = None) -> OpenAIBackend:
    """The backend with a real ``AsyncOpenAI`` whose transport is ``server``, set up from ``config``."""
    config = config or ModelConfig("openai", MODEL, api_key=Secret(KEY), max_retries=0)
    key = config.api_key.reveal() if config.api_key else "not-needed"
    client = openai.AsyncOpenAI(
        api_key=key,
        base_url=config.base_url or "https://api.openai.com/v1",
        max_retries=0,  # as the backend builds it: retries are bounded_stream's
        timeout=config.timeout_s,
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(server)),
    )
    return OpenAIBackend(config, client=client)


def request(*messages: Message, system: str = "You are terse.", **kw: Any) -> ChatRequest:
    return ChatRequest(model=MODEL, system=system, messages=messages or (Message.user("hi"),), **kw)


async def collect(backend: OpenAIBackend, req: ChatRequest) -> list[Chunk]:
    return [c async for c in backend.stream(req)]


WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather for a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
CLOCK = ToolSpec(
    name="get_time",
    description="Current time in a timezone.",
    parameters={"type": "object", "properties": {"tz": {"type": "string"}}},
)


# -- the request the SDK sends -------------------------------------------------------------


async def test_request_puts_system_first_and_asks_for_usage_in_the_stream() -> None:
    server = FakeServer(sse([*text_chunks("ok"), usage_chunk(5, 1)]))
    backend = backend_for(server)
    call = ToolCall(id="call_abc", name="get_weather", arguments='{"city": "Leeds"}')
    await collect(
        backend,
        request(
            Message.user("Weather in Leeds?"),
            Message.assistant("", tool_calls=(call,)),
            Message.tool_result(call, "12C, drizzle"),
            Message.assistant("It is 12C."),
            Message.user("Thanks"),
            system="You are a tenancy advisor.",
        ),
    )
    sent = server.requests[-1]
    assert sent.method == "POST"
    assert sent.url == "https://api.openai.com/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    body = server.body
    assert body["model"] == MODEL
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["messages"] == [
        {"role": "system", "content": "You are a tenancy advisor."},
        {"role": "user", "content": "Weather in Leeds?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_abc",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Leeds"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_abc", "content": "12C, drizzle"},
        {"role": "assistant", "content": "It is 12C."},
        {"role": "user", "content": "Thanks"},
    ]
    assert "tools" not in body and "tool_choice" not in body
    assert "temperature" not in body


async def test_compatible_servers_get_no_null_content_beside_tool_calls() -> None:
    # llama.cpp's server rejects "content": null; OpenAI's API gets it (see the test above)
    server = FakeServer(sse(text_chunks("ok")))
    config = ModelConfig("llama.cpp", "smollm2", base_url="http://127.0.0.1:8080/v1", max_retries=0)
    call = ToolCall(id="call_1", name="get_time", arguments="{}")
    await collect(
        backend_for(server, config),
        request(Message.user("time?"), Message.assistant("", tool_calls=(call,)), Message.tool_result(call, "14:05")),
    )
    assert server.body["messages"][2] == {
        "role": "assistant",
        "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}],
    }


async def test_request_without_system_prompt_sends_no_system_message() -> None:
    server = FakeServer(sse(text_chunks("ok")))
    await collect(backend_for(server), request(Message.user("hi"), system=""))
    assert server.body["messages"] == [{"role": "user", "content": "hi"}]


async def test_request_sends_temperature_when_set() -> None:
    server = FakeServer(sse(text_chunks("ok")))
    await collect(backend_for(server), request(temperature=0.2, max_output_tokens=77))
    assert server.body["temperature"] == 0.2
    assert server.body["max_completion_tokens"] == 77


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ("get_time", {"type": "function", "function": {"name": "get_time"}}),
    ],
)
async def test_tools_and_tool_choice_shapes(choice: str, expected: Any) -> None:
    server = FakeServer(sse(text_chunks("ok")))
    await collect(backend_for(server), request(tools=(WEATHER, CLOCK), tool_choice=choice))
    body = server.body
    assert body["tool_choice"] == expected
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather for a city.",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            },
        },
        {
            "type": "function",
            "function": {
                "name": "get_time",
                "description": "Current time in a timezone.",
                "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}},
            },
        },
    ]


@pytest.mark.parametrize(
    ("base_url", "url", "limit_key"),
    [
        (None, "https://api.openai.com/v1/chat/completions", "max_completion_tokens"),
        ("https://api.openai.com/v1", "https://api.openai.com/v1/chat/completions", "max_completion_tokens"),
        ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1/chat/completions", "max_tokens"),
        ("https://api.groq.com/openai/v1", "https://api.groq.com/openai/v1/chat/completions", "max_tokens"),
    ],
)
async def test_output_limit_key_depends_on_the_server(base_url: str | None, url: str, limit_key: str) -> None:
    server = FakeServer(sse(text_chunks("ok")))
    config = ModelConfig("openai", MODEL, api_key=Secret(KEY), base_url=base_url, max_output_tokens=321, max_retries=0)
    await collect(backend_for(server, config), request(max_output_tokens=321))
    assert server.requests[-1].url == url
    other = {"max_tokens", "max_completion_tokens"} - {limit_key}
    assert server.body[limit_key] == 321
    assert not other & server.body.keys()


# -- the stream ----------------------------------------------------------------------------


async def test_text_deltas_reassemble_exactly_and_usage_comes_from_the_last_chunk() -> None:
    pieces = ["Hello", ",", " wörld", " — ", "naïve 🙂", "\n\n", "  line two  ", '"quoted" \\ done']
    server = FakeServer(sse([*text_chunks(*pieces), usage_chunk(42, 17, cached=8)], piece=5))
    chunks = await collect(backend_for(server), request())
    # one chunk per content delta, in order, then exactly one final chunk
    assert [c.delta for c in chunks[:-1]] == pieces
    assert [c.final for c in chunks] == [False] * len(pieces) + [True]
    final = chunks[-1]
    assert final.usage == Usage(input_tokens=42, output_tokens=17, cache_read_input_tokens=8)
    assert final.finish_reason == "stop"
    assert final.response_model == SNAPSHOT
    folded = await fold_stream(
        backend_for(FakeServer(sse([*text_chunks(*pieces), usage_chunk(42, 17)]))).stream(request())
    )
    assert folded.text == "".join(pieces)


async def test_stream_without_usage_chunk_reports_no_usage() -> None:
    # an OpenAI-compatible server that ignores stream_options
    server = FakeServer(sse(text_chunks("fine")))
    completion = await fold_stream(backend_for(server).stream(request()))
    assert completion.text == "fine"
    assert completion.usage == Usage(input_tokens=None, output_tokens=None, cache_read_input_tokens=None)
    assert completion.finish_reason == "stop"


def tool_call_stream() -> list[dict[str, Any]]:
    """Two parallel tool calls, arguments cut mid-token and interleaved, as the API streams them."""

    def call_delta(index: int, **fields: Any) -> dict[str, Any]:
        return {"tool_calls": [{"index": index, **fields}]}

    return [
        chunk({"role": "assistant", "content": None, "refusal": None}),
        chunk(call_delta(0, id="call_w1", type="function", function={"name": "get_weather", "arguments": ""})),
        chunk(call_delta(0, function={"arguments": '{"ci'})),
        chunk(call_delta(1, id="call_t2", type="function", function={"name": "get_time", "arguments": ""})),
        chunk(call_delta(0, function={"arguments": 'ty": "Le'})),
        chunk(call_delta(1, function={"arguments": '{"tz": "Europe/'})),
        chunk(call_delta(0, function={"arguments": 'eds"}'})),
        chunk(call_delta(1, function={"arguments": 'London"}'})),
        chunk({}, finish="tool_calls"),
        usage_chunk(80, 40),
    ]


async def test_tool_call_deltas_across_chunks_fold_into_tool_calls() -> None:
    server = FakeServer(sse(tool_call_stream(), piece=11))
    backend = backend_for(server)
    chunks = await collect(backend, request(Message.user("weather and time?"), tools=(WEATHER, CLOCK)))
    deltas = [d for c in chunks for d in c.tool_calls]
    assert deltas[0] == ToolCallDelta(index=0, id="call_w1", name="get_weather", arguments="")
    assert ToolCallDelta(index=1, id="call_t2", name="get_time", arguments="") in deltas

    async def replay() -> AsyncIterator[Chunk]:
        for c in chunks:
            yield c

    completion = await fold_stream(replay())
    assert completion.tool_calls == (
        ToolCall(id="call_w1", name="get_weather", arguments='{"city": "Leeds"}'),
        ToolCall(id="call_t2", name="get_time", arguments='{"tz": "Europe/London"}'),
    )
    assert [c.parsed_arguments() for c in completion.tool_calls] == [{"city": "Leeds"}, {"tz": "Europe/London"}]
    assert completion.text == ""
    assert completion.finish_reason == "tool_calls"
    assert completion.usage == Usage(input_tokens=80, output_tokens=40, cache_read_input_tokens=0)
    assert completion.response_model == SNAPSHOT


async def test_text_and_tool_call_in_one_answer() -> None:
    events = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Let me check."}),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_time", "arguments": "{}"},
                    }
                ]
            }
        ),
        chunk({}, finish="tool_calls"),
    ]
    completion: Completion = await fold_stream(backend_for(FakeServer(sse(events))).stream(request()))
    assert completion.text == "Let me check."
    assert completion.tool_calls == (ToolCall(id="call_1", name="get_time", arguments="{}"),)


# -- errors ---------------------------------------------------------------------------------


def assert_translated(exc: BaseException, sdk_type: type[BaseException]) -> None:
    """A persona-lab error whose cause is the SDK's; nothing of ``openai`` escapes."""
    assert isinstance(exc, PersonaLabError)
    assert not isinstance(exc, openai.OpenAIError)
    cause = exc.__cause__
    assert isinstance(cause, ProviderFault), repr(cause)  # a redacted summary, not the SDK object
    assert cause.sdk_type in {t.__name__ for t in sdk_type.__mro__}, cause.sdk_type
    assert exc.__context__ is None or exc.__context__ is cause
    assert KEY not in str(exc)


@pytest.mark.parametrize(
    ("reply", "expected", "status", "retryable", "sdk_type"),
    [
        (
            error(
                429,
                "Rate limit reached for gpt-4o-mini in organization org-x on requests per min (RPM).",
                type_="requests",
                code="rate_limit_exceeded",
            ),
            RateLimited,
            429,
            True,
            openai.RateLimitError,
        ),
        (
            error(401, "Incorrect API key provided: sk-proj-****7980.", code="invalid_api_key"),
            AuthFailed,
            401,
            False,
            openai.AuthenticationError,
        ),
        (
            error(403, "You are not allowed to sample from this model", type_="invalid_request_error"),
            AuthFailed,
            403,
            False,
            openai.PermissionDeniedError,
        ),
        (
            error(500, "The server had an error while processing your request.", type_="server_error"),
            ProviderError,
            500,
            True,
            openai.InternalServerError,
        ),
        (
            error(400, "Invalid value for 'tool_choice'.", code="invalid_value"),
            ProviderError,
            400,
            False,
            openai.BadRequestError,
        ),
    ],
    ids=["429", "401", "403", "500", "400"],
)
async def test_http_errors_become_persona_lab_errors(
    reply: Reply, expected: type[ProviderError], status: int, retryable: bool, sdk_type: type[BaseException]
) -> None:
    server = FakeServer(reply)
    with pytest.raises(ProviderError) as info:
        await collect(backend_for(server), request())
    exc = info.value
    assert type(exc) is expected
    assert exc.status_code == status
    assert exc.retryable is retryable
    assert exc.provider == "openai" and exc.model == MODEL
    assert f"openai/{MODEL}" in str(exc)
    assert_translated(exc, sdk_type)
    assert len(server.requests) == 1  # max_retries=0: nothing retried


async def test_timeout_becomes_provider_timeout() -> None:
    server = FakeServer(raises(httpx2.ReadTimeout, "timed out"))
    with pytest.raises(ProviderTimeout) as info:
        await collect(backend_for(server), request())
    assert_translated(info.value, openai.APITimeoutError)


async def test_connection_refused_becomes_provider_error() -> None:
    server = FakeServer(raises(httpx2.ConnectError, "[Errno 111] Connection refused"))
    with pytest.raises(ProviderError) as info:
        await collect(backend_for(server), request())
    assert type(info.value) is ProviderError
    assert_translated(info.value, openai.APIConnectionError)


async def test_stream_breaking_part_way_is_stream_interrupted() -> None:
    events = text_chunks("The deposit must be protected", " within thirty")[:-1]  # no finish chunk
    server = FakeServer(sse(events, done=False, fail=httpx2.ReadError("peer closed connection")))
    seen: list[str] = []
    with pytest.raises(StreamInterrupted) as info:
        async for c in backend_for(server).stream(request()):
            seen.append(c.delta)
    assert "".join(seen) == "The deposit must be protected within thirty"  # the half answer did stream
    assert "stream broke part-way" in str(info.value)
    assert_translated(info.value, openai.APIConnectionError)


async def test_stream_cut_off_without_finish_is_stream_interrupted() -> None:
    # The connection closes cleanly after some chunks: no finish_reason, no usage, no [DONE].
    # The SDK ends the iteration quietly; the backend must not pass the half answer off as whole.
    events = text_chunks("Section 21 notices need", " two months")[:-1]
    server = FakeServer(sse(events, done=False))
    with pytest.raises(StreamInterrupted) as info:
        await collect(backend_for(server), request())
    assert info.value.__cause__ is None  # nothing raised inside the SDK: the backend noticed
    assert "finish_reason" in str(info.value)


async def test_empty_stream_is_a_provider_error() -> None:
    server = FakeServer(sse([], done=True))
    with pytest.raises(ProviderError) as info:
        await collect(backend_for(server), request())
    assert type(info.value) is ProviderError


async def test_error_event_inside_the_stream_is_translated() -> None:
    events = [{"error": {"message": "The server had an error", "type": "server_error", "param": None, "code": None}}]
    server = FakeServer(sse(events, done=False))
    with pytest.raises(ProviderError) as info:
        await collect(backend_for(server), request())
    assert_translated(info.value, openai.APIError)
    assert "The server had an error" in str(info.value)


async def test_retries_follow_max_retries() -> None:
    server = FakeServer(error(500, "boom", type_="server_error"), sse(text_chunks("second try")))
    config = ModelConfig("openai", MODEL, api_key=Secret(KEY), max_retries=1)
    completion = await fold_stream(backend_for(server, config).stream(request()))
    assert completion.text == "second try"
    assert len(server.requests) == 2
    assert server.requests[1].headers["x-stainless-retry-count"] == "0"  # our retry, not the SDK's


def test_backend_builds_its_client_from_the_config() -> None:
    config = ModelConfig(
        "llama.cpp", "smollm2", api_key=Secret(KEY), base_url="http://127.0.0.1:8080/v1", max_retries=5, timeout_s=12.5
    )
    client = OpenAIBackend(config)._get_client()
    assert client.max_retries == 0  # retries are bounded_stream's, within the deadline
    assert client.timeout == 12.5
    assert str(client.base_url) == "http://127.0.0.1:8080/v1/"
    assert client.api_key == KEY


def test_keyless_compatible_server_gets_a_placeholder_key() -> None:
    config = ModelConfig("vllm", "qwen", base_url="http://localhost:8000/v1")
    client = OpenAIBackend(config)._get_client()
    assert client.api_key == "not-needed"


# -- secrets --------------------------------------------------------------------------------


async def test_api_key_never_shows_in_reprs_or_error_messages() -> None:
    config = ModelConfig("openai", MODEL, api_key=Secret(KEY), max_retries=0)
    # a compatible server that echoes the key it was given
    server = FakeServer(error(401, f"Invalid API key: {KEY}", code="invalid_api_key"))
    backend = backend_for(server, config)
    registry = TierRegistry({"small": config, "frontier": TierConfig.of(config, config)})
    for text in (repr(backend), repr(config), str(config), repr(registry), registry.describe(), repr(config.api_key)):
        assert KEY not in text
    with pytest.raises(AuthFailed) as info:
        await collect(backend, request())
    assert KEY not in str(info.value)
    assert KEY not in repr(info.value)
    assert "Invalid API key" in str(info.value)
    assert isinstance(info.value.__cause__, ProviderFault)
    assert KEY not in str(info.value.__cause__)
    assert KEY not in "".join(traceback.format_exception(info.value))  # the chained traceback too


async def test_aclose_closes_the_http_client() -> None:
    http = httpx2.AsyncClient(transport=httpx2.MockTransport(FakeServer(sse(text_chunks("x")))))
    backend = OpenAIBackend(
        ModelConfig("openai", MODEL, api_key=Secret(KEY)), client=openai.AsyncOpenAI(api_key=KEY, http_client=http)
    )
    await collect(backend, request())
    await backend.aclose()
    assert http.is_closed


# -- through the conversation loop ----------------------------------------------------------


@pytest.mark.parametrize("fail", [httpx2.ReadError("connection reset"), None], ids=["reset", "cut-off"])
async def test_loop_falls_back_when_the_first_tier_breaks_mid_stream(fail: Exception | None) -> None:
    persona = Persona.from_yaml(PERSONA)
    broken = FakeServer(sse(text_chunks("HALF ANSWER that must", " not survive")[:-1], done=False, fail=fail))
    healthy = FakeServer(sse([*text_chunks("Your landlord must", " fix the mould."), usage_chunk(120, 9)]))
    small = ModelConfig("openai", "gpt-4o-mini", api_key=Secret(KEY), max_retries=0)
    mid = ModelConfig("openai", "gpt-4o", api_key=Secret(KEY), max_retries=0)
    small = small.with_backend(backend_for(broken, small))
    mid = mid.with_backend(backend_for(healthy, mid))
    writer = InMemoryTurnLogWriter()
    loop = ConversationLoop(
        persona, TierRegistry({"small": small, "mid": mid}), FixedRouter("small", respect_pin=False), writer=writer
    )
    conversation = loop.new_conversation()
    result = await loop.achat(conversation, "There is mould in my flat. What can I do?")

    assert result.answer == "Your landlord must fix the mould."
    kinds = [type(e) for e in result.events]
    assert Retrying in kinds
    retry = next(e for e in result.events if isinstance(e, Retrying))
    assert (retry.from_tier, retry.from_model, retry.to_tier, retry.to_model) == (
        "small",
        "gpt-4o-mini",
        "mid",
        "gpt-4o",
    )
    assert "StreamInterrupted" in retry.reason
    # text after the Retrying event is exactly the second answer
    after = [e.text for e in result.events[kinds.index(Retrying) :] if isinstance(e, TextDelta)]
    assert "".join(after) == "Your landlord must fix the mould."
    before = [e.text for e in result.events[: kinds.index(Retrying)] if isinstance(e, TextDelta)]
    assert "".join(before) == "HALF ANSWER that must not survive"
    assert next(e for e in result.events if isinstance(e, TierChosen)).tier == "small"

    log = result.turn_log
    assert writer.records == [log]
    assert (log.requested_tier, log.tier) == ("small", "mid")
    assert (log.fallback_from, log.fallback_to) == ("small", "mid")
    assert log.fallback_reason is not None and "StreamInterrupted" in log.fallback_reason
    assert [(a.tier, a.outcome, a.error_type) for a in log.attempts] == [
        ("small", "failed", "StreamInterrupted"),
        ("mid", "accepted", None),
    ]
    assert log.gen_ai_response_model == SNAPSHOT
    assert (log.gen_ai_usage_input_tokens, log.gen_ai_usage_output_tokens) == (120, 9)
    assert log.tokens_estimated is False
    assert KEY not in json.dumps(log.to_dict())
    # the conversation keeps only the second answer
    assert conversation.turns[-1].messages[-1].content == "Your landlord must fix the mould."
    # the second tier got the same user message, and no trace of the broken half answer
    assert "HALF ANSWER" not in healthy.requests[-1].content.decode()
    assert healthy.body["messages"][-1] == {"role": "user", "content": "There is mould in my flat. What can I do?"}
