"""AnthropicBackend against the real ``anthropic`` SDK, offline.

The SDK's HTTP client gets an ``httpx2.MockTransport`` (anthropic 2.x speaks ``httpx2`` and refuses an
``httpx`` client) whose handler records each request and answers with Messages server-sent events as
the API sends them: ``message_start``, ``content_block_start`` / ``content_block_delta`` (``text_delta``,
``input_json_delta``) / ``content_block_stop``, ``ping``, ``message_delta``, ``message_stop``.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import pytest

from persona_lab import ConversationLoop, FixedRouter, Persona
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
    ToolCall,
    ToolCallDelta,
    ToolCalling,
    ToolSpec,
    Usage,
    fold_stream,
)
from persona_lab.loops import Toolbox, tool
from persona_lab.tiers import ModelConfig, Secret, TierConfig, TierRegistry
from persona_lab.tiers._anthropic import AnthropicBackend
from persona_lab.tiers._stream_errors import ProviderFault
from tests.mock_http import FakeServer, Reply, raises, streamed

KEY = "sk-ant-api03-TESTKEY-9a8b7c6d5e4f"
MODEL = "claude-haiku-4-5"
SNAPSHOT = "claude-haiku-4-5-20251001"
PERSONA = Path(__file__).resolve().parents[1] / "examples" / "personas" / "tenancy_advisor.yaml"



# -- the fake server -----------------------------------------------------------------------


def message_start(input_tokens: int = 25, cache_read: int = 0, model: str = SNAPSHOT) -> dict[str, Any]:
    return {
        "type": "message_start",
        "message": {
            "id": "msg_01K2JbSUMYhez5RHoK9ZCj9U",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": input_tokens,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": cache_read,
                "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
                "output_tokens": 1,
                "service_tier": "standard",
            },
        },
    }


def text_block(index: int, *pieces: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}
    ]
    out += [{"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": p}} for p in pieces]
    out.append({"type": "content_block_stop", "index": index})
    return out


def tool_block(index: int, id: str, name: str, *parts: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {
            "type": "content_block_start",
            "index": index,
            "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}},
        }
    ]
    out += [
        {"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": p}}
        for p in parts
    ]
    out.append({"type": "content_block_stop", "index": index})
    return out


def message_end(stop_reason: str = "end_turn", output_tokens: int = 15, **usage: int) -> list[dict[str, Any]]:
    return [
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": output_tokens, **usage},
        },
        {"type": "message_stop"},
    ]


PING = {"type": "ping"}


def answer(*pieces: str, input_tokens: int = 25, output_tokens: int = 15) -> list[dict[str, Any]]:
    return [message_start(input_tokens), *text_block(0, *pieces), *message_end(output_tokens=output_tokens)]


def sse_bytes(events: Sequence[dict[str, Any]]) -> bytes:
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


def sse(events: Sequence[dict[str, Any]], *, fail: Exception | None = None, piece: int = 41) -> Reply:
    """The events as a 200 event stream sent in ``piece``-byte reads; ``fail`` is raised at the end."""
    return streamed(sse_bytes(events), fail=fail, piece=piece)


def error(status: int, type_: str, message: str) -> Reply:
    payload = {
        "type": "error",
        "error": {"type": type_, "message": message},
        "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy",
    }

    def reply(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, headers={"retry-after-ms": "1", "request-id": "req_1"}, json=payload)

    return reply


def backend_for(server: FakeServer, config: ModelConfig | None = None) -> AnthropicBackend:
    """The backend with a real ``AsyncAnthropic`` whose transport is ``server``, set up from ``config``."""
    config = config or ModelConfig("anthropic", MODEL, api_key=Secret(KEY), max_retries=0)
    client = anthropic.AsyncAnthropic(
        api_key=config.api_key.reveal() if config.api_key else None,
        base_url=config.base_url or "https://api.anthropic.com",
        max_retries=0,  # as the backend builds it: retries are bounded_stream's
        timeout=config.timeout_s,
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(server)),
    )
    return AnthropicBackend(config, client=client)


def request(*messages: Message, system: str = "You are terse.", **kw: Any) -> ChatRequest:
    return ChatRequest(model=MODEL, system=system, messages=messages or (Message.user("hi"),), **kw)


async def collect(backend: AnthropicBackend, req: ChatRequest) -> list[Chunk]:
    return [c async for c in backend.stream(req)]


async def replay(chunks: Sequence[Chunk]) -> AsyncIterator[Chunk]:
    for c in chunks:
        yield c


WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather for a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
CLOCK = ToolSpec(name="get_time", description="Current time.", parameters={"type": "object", "properties": {}})


# -- the request the SDK sends -------------------------------------------------------------


async def test_request_sends_system_as_a_parameter_and_tool_results_as_user_blocks() -> None:
    server = FakeServer(sse(answer("ok")))
    call_a = ToolCall(id="toolu_01A", name="get_weather", arguments='{"city": "Leeds"}')
    call_b = ToolCall(id="toolu_01B", name="get_time", arguments="{}")
    await collect(
        backend_for(server),
        request(
            Message.user("Weather in Leeds, and the time?"),
            Message.assistant("Checking both.", tool_calls=(call_a, call_b)),
            Message.tool_result(call_a, "12C, drizzle"),
            Message.tool_result(call_b, "14:05"),
            Message.assistant("12C and 14:05."),
            Message.user("Thanks."),
            Message.user("And tomorrow?"),
            system="You are a tenancy advisor.",
            max_output_tokens=300,
        ),
    )
    sent = server.requests[-1]
    assert sent.method == "POST"
    assert sent.url == "https://api.anthropic.com/v1/messages"
    body = server.body
    assert body["model"] == MODEL
    assert body["stream"] is True
    assert body["max_tokens"] == 300
    assert body["system"] == "You are a tenancy advisor."
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Weather in Leeds, and the time?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking both."},
                {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {"city": "Leeds"}},
                {"type": "tool_use", "id": "toolu_01B", "name": "get_time", "input": {}},
            ],
        },
        {
            "role": "user",  # both tool results in one user message
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01A", "content": "12C, drizzle"},
                {"type": "tool_result", "tool_use_id": "toolu_01B", "content": "14:05"},
            ],
        },
        {"role": "assistant", "content": [{"type": "text", "text": "12C and 14:05."}]},
        {
            "role": "user",  # consecutive user messages merged
            "content": [{"type": "text", "text": "Thanks."}, {"type": "text", "text": "And tomorrow?"}],
        },
    ]
    assert "tools" not in body and "tool_choice" not in body and "temperature" not in body


async def test_no_system_prompt_sends_no_system_parameter() -> None:
    server = FakeServer(sse(answer("ok")))
    await collect(backend_for(server), request(Message.user("hi"), system=""))
    assert "system" not in server.body


async def test_temperature_is_never_sent() -> None:
    # anthropic>=1 removed temperature from create() (a TypeError before any request), and the API
    # version the 2.x SDK sends rejects every sampling parameter, even at its default value.
    server = FakeServer(sse(answer("ok")))
    chunks = await collect(backend_for(server), request(temperature=0.0))
    assert chunks[-1].final
    assert server.requests[-1].headers["anthropic-version"] >= "2026-10-21"
    assert not {"temperature", "top_p", "top_k"} & server.body.keys()


async def test_system_messages_inside_the_conversation_join_the_system_parameter() -> None:
    server = FakeServer(sse(answer("ok")))
    await collect(
        backend_for(server),
        request(Message.system("Summary so far: the tenant has mould."), Message.user("What now?"), system="Persona."),
    )
    assert server.body["system"] == "Persona.\n\nSummary so far: the tenant has mould."
    assert server.body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "What now?"}]}]


@pytest.mark.parametrize(
    ("messages", "first"),
    [
        ((), {"role": "user", "content": [{"type": "text", "text": "(continue)"}]}),
        ((Message.assistant(""),), {"role": "user", "content": [{"type": "text", "text": "(continue)"}]}),
        (
            (Message.assistant("Earlier answer."),),
            {"role": "user", "content": [{"type": "text", "text": "(continue)"}]},
        ),
    ],
    ids=["empty", "only-empty-assistant", "assistant-first"],
)
async def test_messages_are_never_empty_and_start_with_the_user(messages: tuple[Message, ...], first: Any) -> None:
    server = FakeServer(sse(answer("ok")))
    req = ChatRequest(model=MODEL, system="Summarise.", messages=messages)
    await collect(backend_for(server), req)
    sent = server.body["messages"]
    assert sent, "an empty messages list is a 400 from the API"
    assert sent[0] == first
    assert [m["role"] for m in sent] == ["user", "assistant"][: len(sent)]
    assert all(block.get("text", "x") for m in sent for block in m["content"])  # no empty text blocks


async def test_invalid_tool_arguments_are_sent_as_raw_text_not_dropped() -> None:
    server = FakeServer(sse(answer("ok")))
    bad = ToolCall(id="toolu_X", name="get_weather", arguments='{"city": Leeds')
    await collect(
        backend_for(server),
        request(Message.user("q"), Message.assistant("", tool_calls=(bad,)), Message.tool_result(bad, "error")),
    )
    assistant = server.body["messages"][1]
    assert assistant == {
        "role": "assistant",
        "content": [{"type": "tool_use", "id": "toolu_X", "name": "get_weather", "input": {"_raw": '{"city": Leeds'}}],
    }


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"type": "auto"}),
        ("none", {"type": "none"}),
        ("required", {"type": "any"}),
        ("get_time", {"type": "tool", "name": "get_time"}),
    ],
)
async def test_tools_and_tool_choice_shapes(choice: str, expected: dict[str, Any]) -> None:
    server = FakeServer(sse(answer("ok")))
    await collect(backend_for(server), request(tools=(WEATHER, CLOCK), tool_choice=choice))
    assert server.body["tool_choice"] == expected
    assert server.body["tools"] == [
        {
            "name": "get_weather",
            "description": "Current weather for a city.",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
        {"name": "get_time", "description": "Current time.", "input_schema": {"type": "object", "properties": {}}},
    ]


# -- the stream ----------------------------------------------------------------------------


async def test_text_deltas_reassemble_exactly_with_usage_and_model() -> None:
    pieces = ["Hello", ",", " wörld", " — ", "naïve 🙂", "\n\n", "  line two  ", '"quoted" \\ done']
    events = [
        message_start(input_tokens=42, cache_read=30),
        PING,
        *text_block(0, *pieces),
        *message_end(output_tokens=17),
    ]
    chunks = await collect(backend_for(FakeServer(sse(events, piece=5))), request())
    assert [c.delta for c in chunks[:-1]] == pieces
    assert [c.final for c in chunks] == [False] * len(pieces) + [True]
    final = chunks[-1]
    assert final.usage == Usage(input_tokens=42, output_tokens=17, cache_read_input_tokens=30)
    assert final.finish_reason == "end_turn"
    assert final.response_model == SNAPSHOT
    assert (await fold_stream(replay(chunks))).text == "".join(pieces)


async def test_message_delta_usage_is_cumulative_and_wins() -> None:
    # message_delta's counts are cumulative; input counts there (server tools) supersede message_start's
    events = [message_start(input_tokens=10, cache_read=0), *text_block(0, "x")]
    events += message_end(output_tokens=50, input_tokens=900, cache_read_input_tokens=400)
    completion = await fold_stream(backend_for(FakeServer(sse(events))).stream(request()))
    assert completion.usage == Usage(input_tokens=900, output_tokens=50, cache_read_input_tokens=400)


async def test_tool_use_blocks_fold_into_tool_calls() -> None:
    events = [
        message_start(input_tokens=849),
        *text_block(0, "I'll check", " both."),
        PING,
        *tool_block(1, "toolu_01KFbKqPYSuAKujiL6mTfzYA", "get_weather", "", '{"ci', 'ty": "Le', 'eds"}'),
        *tool_block(2, "toolu_02Time", "get_time", ""),  # no arguments: one empty partial_json
        *message_end("tool_use", output_tokens=47),
    ]
    chunks = await collect(backend_for(FakeServer(sse(events, piece=13))), request(tools=(WEATHER, CLOCK)))
    deltas = [d for c in chunks for d in c.tool_calls]
    assert deltas[0] == ToolCallDelta(index=1, id="toolu_01KFbKqPYSuAKujiL6mTfzYA", name="get_weather", arguments="")
    completion = await fold_stream(replay(chunks))
    assert completion.text == "I'll check both."
    assert completion.tool_calls == (
        ToolCall(id="toolu_01KFbKqPYSuAKujiL6mTfzYA", name="get_weather", arguments='{"city": "Leeds"}'),
        ToolCall(id="toolu_02Time", name="get_time", arguments="{}"),
    )
    assert [c.parsed_arguments() for c in completion.tool_calls] == [{"city": "Leeds"}, {}]
    assert completion.finish_reason == "tool_use"
    assert completion.usage == Usage(input_tokens=849, output_tokens=47, cache_read_input_tokens=0)


async def test_thinking_blocks_are_not_answer_text() -> None:
    events = [
        message_start(),
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "thinking", "thinking": "", "signature": ""},
        },
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "secret plan"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "EqQBCgIYAhIM"}},
        {"type": "content_block_stop", "index": 0},
        *text_block(1, "Answer."),
        *message_end(),
    ]
    completion = await fold_stream(backend_for(FakeServer(sse(events))).stream(request()))
    assert completion.text == "Answer."
    assert completion.tool_calls == ()


# -- errors ---------------------------------------------------------------------------------


def assert_translated(exc: BaseException, cause_type: type[BaseException]) -> None:
    """A persona-lab error chained to the original; nothing of ``anthropic`` escapes."""
    assert isinstance(exc, PersonaLabError)
    assert not isinstance(exc, anthropic.AnthropicError)
    cause = exc.__cause__
    assert isinstance(cause, ProviderFault), repr(cause)  # a redacted summary, not the SDK object
    assert cause.sdk_type in {t.__name__ for t in cause_type.__mro__}, cause.sdk_type
    assert exc.__context__ is None or exc.__context__ is cause
    assert KEY not in str(exc)


@pytest.mark.parametrize(
    ("reply", "expected", "status", "retryable", "sdk_type"),
    [
        (
            error(429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"),
            RateLimited,
            429,
            True,
            anthropic.RateLimitError,
        ),
        (
            error(401, "authentication_error", "invalid x-api-key"),
            AuthFailed,
            401,
            False,
            anthropic.AuthenticationError,
        ),
        (
            error(403, "permission_error", "Your API key does not have permission to use the specified resource."),
            AuthFailed,
            403,
            False,
            anthropic.PermissionDeniedError,
        ),
        (error(500, "api_error", "Internal server error"), ProviderError, 500, True, anthropic.InternalServerError),
        (error(529, "overloaded_error", "Overloaded"), ProviderError, 529, True, anthropic.OverloadedError),
        (
            error(400, "invalid_request_error", "messages: at least one message is required"),
            ProviderError,
            400,
            False,
            anthropic.BadRequestError,
        ),
    ],
    ids=["429", "401", "403", "500", "529", "400"],
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
    assert exc.provider == "anthropic" and exc.model == MODEL
    assert f"anthropic/{MODEL}" in str(exc)
    assert_translated(exc, sdk_type)
    assert len(server.requests) == 1


async def test_timeout_becomes_provider_timeout() -> None:
    server = FakeServer(raises(httpx2.ReadTimeout, "timed out"))
    with pytest.raises(ProviderTimeout) as info:
        await collect(backend_for(server), request())
    assert_translated(info.value, anthropic.APITimeoutError)


async def test_connection_refused_becomes_provider_error() -> None:
    server = FakeServer(raises(httpx2.ConnectError, "[Errno 111] Connection refused"))
    with pytest.raises(ProviderError) as info:
        await collect(backend_for(server), request())
    assert type(info.value) is ProviderError
    assert_translated(info.value, anthropic.APIConnectionError)


async def test_stream_breaking_part_way_is_stream_interrupted() -> None:
    events = [
        message_start(),
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ]
    events += text_block(0, "The deposit must be protected", " within thirty")[1:-1]
    server = FakeServer(sse(events, fail=httpx2.ReadError("peer closed connection")))
    seen: list[str] = []
    with pytest.raises(StreamInterrupted) as info:
        async for c in backend_for(server).stream(request()):
            seen.append(c.delta)
    assert "".join(seen) == "The deposit must be protected within thirty"
    assert "stream broke part-way" in str(info.value)
    # anthropic does not wrap transport errors raised while iterating a stream: the cause is httpx2's
    assert_translated(info.value, httpx2.ReadError)


async def test_stream_cut_off_before_message_delta_is_stream_interrupted() -> None:
    # the connection closes cleanly mid-answer: the SDK ends the iteration without an error
    events = [message_start(), *text_block(0, "Section 21 notices need", " two months")]
    with pytest.raises(StreamInterrupted) as info:
        await collect(backend_for(FakeServer(sse(events))), request())
    assert info.value.__cause__ is None
    assert "stop_reason" in str(info.value)


async def test_stream_with_nothing_after_message_start_is_a_provider_error() -> None:
    with pytest.raises(ProviderError) as info:
        await collect(backend_for(FakeServer(sse([message_start()]))), request())
    assert type(info.value) is ProviderError


async def test_error_event_mid_stream_is_stream_interrupted() -> None:
    events = [message_start(), *text_block(0, "Partial")[:-1]]
    events.append({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    with pytest.raises(StreamInterrupted) as info:
        await collect(backend_for(FakeServer(sse(events))), request())
    assert_translated(info.value, anthropic.APIStatusError)
    assert "Overloaded" in str(info.value)


@pytest.mark.parametrize(
    ("error_type", "expected", "status", "retryable"),
    [
        ("overloaded_error", ProviderError, 529, True),
        ("api_error", ProviderError, 500, True),
        ("rate_limit_error", RateLimited, 429, True),
        ("invalid_request_error", ProviderError, 400, False),
    ],
)
async def test_error_event_before_any_content_keeps_its_meaning(
    error_type: str, expected: type[ProviderError], status: int, retryable: bool
) -> None:
    # An error event inside a 200 stream: the HTTP status says nothing, the event's type does.
    events = [message_start(), PING, {"type": "error", "error": {"type": error_type, "message": "nope"}}]
    with pytest.raises(ProviderError) as info:
        await collect(backend_for(FakeServer(sse(events))), request())
    exc = info.value
    assert type(exc) is expected
    assert (exc.status_code, exc.retryable) == (status, retryable)
    assert_translated(exc, anthropic.APIStatusError)


async def test_retries_follow_max_retries() -> None:
    server = FakeServer(error(529, "overloaded_error", "Overloaded"), sse(answer("second try")))
    config = ModelConfig("anthropic", MODEL, api_key=Secret(KEY), max_retries=1)
    completion = await fold_stream(backend_for(server, config).stream(request()))
    assert completion.text == "second try"
    assert len(server.requests) == 2


def test_backend_builds_its_client_from_the_config() -> None:
    config = ModelConfig(
        "anthropic", MODEL, api_key=Secret(KEY), base_url="http://127.0.0.1:9/", max_retries=5, timeout_s=9.5
    )
    client = AnthropicBackend(config)._get_client()
    assert client.max_retries == 0  # retries are bounded_stream's, within the deadline
    assert client.timeout == 9.5
    assert str(client.base_url) == "http://127.0.0.1:9/"
    assert client.api_key == KEY


# -- secrets --------------------------------------------------------------------------------


async def test_api_key_never_shows_in_reprs_or_error_messages() -> None:
    config = ModelConfig("anthropic", MODEL, api_key=Secret(KEY), max_retries=0)
    server = FakeServer(error(401, "authentication_error", f"invalid x-api-key: {KEY}"))
    backend = backend_for(server, config)
    registry = TierRegistry({"mid": config, "frontier": TierConfig.of(config, config)})
    for text in (repr(backend), repr(config), str(config), repr(registry), registry.describe()):
        assert KEY not in text
    with pytest.raises(AuthFailed) as info:
        await collect(backend, request())
    assert KEY not in str(info.value)
    assert KEY not in repr(info.value)
    assert "invalid x-api-key" in str(info.value)
    assert isinstance(info.value.__cause__, ProviderFault)
    assert KEY not in str(info.value.__cause__)
    assert KEY not in "".join(traceback.format_exception(info.value))  # the chained traceback too


async def test_aclose_closes_the_http_client() -> None:
    http = httpx2.AsyncClient(transport=httpx2.MockTransport(FakeServer(sse(answer("x")))))
    backend = AnthropicBackend(
        ModelConfig("anthropic", MODEL, api_key=Secret(KEY)),
        client=anthropic.AsyncAnthropic(api_key=KEY, http_client=http),
    )
    await collect(backend, request())
    await backend.aclose()
    assert http.is_closed


# -- through the conversation loop ----------------------------------------------------------


async def test_loop_runs_a_tool_round_over_the_real_sdk() -> None:
    persona = Persona.from_yaml(PERSONA)

    @tool
    def lookup_statute(act: str) -> str:
        """Look up a statute.

        Args:
            act: The act's short title.
        """
        return f"{act}: section 21 needs two months' notice"

    server = FakeServer(
        sse(
            [
                message_start(input_tokens=300),
                *text_block(0, "Checking."),
                *tool_block(1, "toolu_01Stat", "lookup_statute", '{"act": ', '"Housing Act 1988"}'),
                *message_end("tool_use", output_tokens=30),
            ]
        ),
        sse(answer("Two months' notice", " is required.", input_tokens=360, output_tokens=12)),
    )
    mid = ModelConfig("anthropic", MODEL, api_key=Secret(KEY), max_retries=0)
    mid = mid.with_backend(backend_for(server, mid))
    loop = ConversationLoop(
        persona, TierRegistry({"mid": mid}), FixedRouter("mid", respect_pin=False), toolbox=Toolbox([lookup_statute])
    )
    result = await loop.achat(loop.new_conversation(), "How much notice for a section 21?")

    assert result.answer == "Two months' notice is required."
    calling = next(e for e in result.events if isinstance(e, ToolCalling))
    assert (calling.call_id, calling.name, json.loads(calling.arguments)) == (
        "toolu_01Stat",
        "lookup_statute",
        {"act": "Housing Act 1988"},
    )
    first, second = (json.loads(r.content) for r in server.requests)
    assert first["system"] and first["tools"][0]["name"] == "lookup_statute"
    assert first["messages"][-1]["role"] == "user"
    assert second["messages"][-2:] == [
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking."},
                {
                    "type": "tool_use",
                    "id": "toolu_01Stat",
                    "name": "lookup_statute",
                    "input": {"act": "Housing Act 1988"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_01Stat",
                    "content": "Housing Act 1988: section 21 needs two months' notice",
                }
            ],
        },
    ]
    log = result.turn_log
    assert (log.gen_ai_usage_input_tokens, log.gen_ai_usage_output_tokens) == (300 + 360, 30 + 12)
    assert log.gen_ai_response_model == SNAPSHOT
    assert log.tokens_estimated is False
    assert [t.name for t in log.tool_calls] == ["lookup_statute"]
