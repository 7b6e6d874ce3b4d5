"""OpenTelemetry spans from turn logs, checked with the SDK's in-memory exporter (scripted tiers: test doubles)."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk.trace")

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from persona_lab import (
    AgenticLoop,
    AllTiersFailed,
    ConfigError,
    ConversationLoop,
    FixedRouter,
    InMemoryTurnLogWriter,
    Persona,
    Toolbox,
    ToolCall,
    tool,
)
from persona_lab.core import ProviderError
from persona_lab.tiers import ScriptedBackend, ScriptedResponse, TierRegistry
from persona_lab.tracing import OtelTurnLogSink, redact, tracer_provider
from tests.helpers import scripted_tier

KEY = "sk-live-SECRET-0123456789abcdef"


@tool
def lookup_statute(name: str) -> str:
    """Look up what a statute says.

    Args:
        name: the statute's short name
    """
    return f"{name}: the landlord must keep the structure in repair"


def traced(**kw: Any) -> tuple[OtelTurnLogSink, InMemorySpanExporter, InMemoryTurnLogWriter]:
    exporter = InMemorySpanExporter()
    inner = InMemoryTurnLogWriter()
    sink = OtelTurnLogSink(inner, tracer_provider=tracer_provider(exporter), **kw)
    return sink, exporter, inner


def children(spans: tuple[ReadableSpan, ...], root: ReadableSpan) -> list[str]:
    assert root.context is not None
    found = [s for s in spans if s.parent is not None and s.parent.span_id == root.context.span_id]
    assert all(s.context is not None and s.context.trace_id == root.context.trace_id for s in found)
    return [s.name for s in sorted(found, key=lambda s: s.start_time or 0)]


def tree(spans: tuple[ReadableSpan, ...]) -> dict[str, list[str]]:
    return {root.name: children(spans, root) for root in spans if root.parent is None}


async def test_chat_turn_with_fallback_and_tool_is_one_span_tree(persona: Persona) -> None:
    mid = ScriptedBackend([ScriptedResponse(error=ProviderError("mid is down", provider="scripted"))])
    small = ScriptedBackend(
        [ScriptedResponse.tool_call("lookup_statute", json.dumps({"name": "LTA 1985 s11"})), "Cite section 11."]
    )
    tiers = TierRegistry(
        {"mid": scripted_tier(mid, model="mid-model"), "small": scripted_tier(small, model="small-model")}
    )
    sink, exporter, inner = traced()
    loop = ConversationLoop(persona, tiers, FixedRouter("mid"), toolbox=Toolbox([lookup_statute]), writer=sink)
    result = await loop.achat(loop.new_conversation(), "Who fixes the boiler?")

    spans = exporter.get_finished_spans()
    assert inner.records == [result.turn_log]  # the inner sink still gets the record
    assert tree(spans) == {
        "turn tenancy-advisor": [
            "chat mid-model",
            "chat small-model",
            "execute_tool lookup_statute",
            "chat small-model",
        ]
    }
    root = next(s for s in spans if s.parent is None)
    attrs = dict(root.attributes or {})
    log = result.turn_log
    for name, value in log.otel_attributes().items():
        assert attrs[name] == value
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.conversation.id"] == log.conversation_id
    assert attrs["persona_lab.routing.requested_tier"] == "mid"
    assert attrs["persona_lab.tier"] == "small"
    assert attrs["persona_lab.fallback.from"] == "mid" and attrs["persona_lab.fallback.to"] == "small"
    assert attrs["persona_lab.router"] == log.router_name == "fixed-mid"
    assert attrs["persona_lab.total_cost_usd"] == pytest.approx(log.total_cost_usd)
    assert "persona_lab.user_text" not in attrs  # content is off by default
    assert root.status.status_code is StatusCode.OK

    failed, first, tool_span, second = sorted((s for s in spans if s.parent), key=lambda s: s.start_time or 0)
    assert failed.status.status_code is StatusCode.ERROR
    assert dict(failed.attributes or {})["persona_lab.attempt.outcome"] == "failed"
    assert dict(first.attributes or {})["persona_lab.tier"] == "small"
    assert dict(first.attributes or {})["gen_ai.usage.input_tokens"] == log.attempts[1].input_tokens
    tool_attrs = dict(tool_span.attributes or {})
    assert tool_attrs["gen_ai.tool.name"] == "lookup_statute" and tool_attrs["gen_ai.operation.name"] == "execute_tool"
    assert "gen_ai.tool.call.arguments" not in tool_attrs
    for child in (failed, first, tool_span, second):
        assert root.start_time is not None and root.end_time is not None
        assert root.start_time <= (child.start_time or 0) <= (child.end_time or 0) <= root.end_time


async def test_a_failed_turn_has_error_status_and_no_key_anywhere(persona: Persona) -> None:
    leaky = ProviderError(f"401 invalid api key {KEY}", provider="scripted")
    backend = ScriptedBackend([ScriptedResponse(error=leaky)])
    tiers = TierRegistry({"mid": scripted_tier(backend, model="mid-model", api_key=KEY)})
    sink, exporter, _ = traced(capture_content=True)
    loop = ConversationLoop(persona, tiers, FixedRouter("mid"), writer=sink)
    with pytest.raises(AllTiersFailed):
        await loop.achat(loop.new_conversation(), f"my key is {KEY}, is that ok?")

    spans = exporter.get_finished_spans()
    root = next(s for s in spans if s.parent is None)
    assert root.status.status_code is StatusCode.ERROR
    assert dict(root.attributes or {})["error.type"] == "AllTiersFailed"
    assert [s.status.status_code for s in spans if s.parent] == [StatusCode.ERROR]
    dumped = json.dumps([json.loads(s.to_json()) for s in spans])
    assert KEY not in dumped and "[REDACTED]" in dumped


async def test_agent_steps_are_spans_with_their_tool_calls(persona: Persona) -> None:
    script = [
        ScriptedResponse(tool_calls=(ToolCall(id="c1", name="lookup_statute", arguments=json.dumps({"name": "s11"})),)),
        ScriptedResponse(
            tool_calls=(ToolCall(id="c2", name="final_answer", arguments=json.dumps({"text": "Write a letter."})),),
        ),
    ]
    tiers = TierRegistry({"mid": scripted_tier(ScriptedBackend(script), model="mid-model")})
    sink, exporter, _ = traced()
    agent = AgenticLoop(persona, tiers, FixedRouter("mid"), toolbox=Toolbox([lookup_statute]), writer=sink)
    run = await agent.run("Draft a complaint")

    spans = exporter.get_finished_spans()
    roots = [s for s in spans if s.parent is None]
    assert (
        [s.name for s in roots]
        == ["agent_step tenancy-advisor"] * len(run.turn_logs)
        == ["agent_step tenancy-advisor"] * 2
    )
    first = dict(roots[0].attributes or {})
    assert first["gen_ai.operation.name"] == "invoke_agent"
    assert first["persona_lab.run_id"] == run.id and first["persona_lab.step_index"] == 0
    assert children(spans, roots[0]) == ["chat mid-model", "execute_tool lookup_statute"]
    assert children(spans, roots[1]) == ["chat mid-model"]


async def test_a_broken_exporter_never_breaks_a_turn(persona: Persona) -> None:
    class Broken:
        def get_tracer(self, *a: Any, **k: Any) -> Any:
            raise AssertionError("unused")

    tiers = TierRegistry({"mid": scripted_tier(ScriptedBackend(["hello"]), model="mid-model")})
    sink, _, inner = traced()
    sink._tracer = Broken()  # type: ignore[assignment]
    loop = ConversationLoop(persona, tiers, FixedRouter("mid"), writer=sink)
    result = await loop.achat(loop.new_conversation(), "hi")
    assert result.answer == "hello" and len(inner.records) == 1 and sink.failures == 1


def test_exporter_choice_and_redaction() -> None:
    assert tracer_provider("console") is not None
    with pytest.raises(ConfigError, match="unknown exporter 'jaeger'"):
        tracer_provider("jaeger")  # type: ignore[arg-type]
    assert redact(f"Authorization: Bearer {KEY[3:]} and {KEY}") == "Authorization: [REDACTED] and [REDACTED]"
    assert redact("my password is hunter2-long", secrets=["hunter2-long"]) == "my password is [REDACTED]"
