"""Span attributes for a turn log: pure functions, no OpenTelemetry import.

Names follow the OpenTelemetry GenAI semantic conventions where they exist (``gen_ai.*``,
``error.type``); persona-lab's own facts (tier, routing decision, cost) go under
``persona_lab.*``. Every string value passes through :func:`redact`, so a key-shaped string
never reaches an exporter even if an error message carried one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from persona_lab.loops import Attempt, CompactionCall, ToolCallRecord, TurnLog

__all__ = [
    "AttributeValue",
    "attempt_attributes",
    "compaction_attributes",
    "redact",
    "tool_attributes",
    "turn_attributes",
]

AttributeValue = str | bool | int | float

_KEY_SHAPES = re.compile(
    r"(sk-(?:ant-|proj-|live-)?[A-Za-z0-9_\-]{8,}"  # OpenAI / Anthropic style keys
    r"|(?:Bearer|Basic)\s+[A-Za-z0-9._~+/=\-]{8,}"  # authorization headers
    r"|(?:api[_-]?key|x-api-key|token|secret)\s*[=:]\s*['\"]?[^\s'\",;]{6,})",
    re.IGNORECASE,
)

_TEXT_LIMIT = 4000


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with key-shaped substrings and any of ``secrets`` replaced by ``[REDACTED]``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[REDACTED]")
    return _KEY_SHAPES.sub("[REDACTED]", text)[:_TEXT_LIMIT]


def _put(attrs: dict[str, AttributeValue], name: str, value: Any, secrets: Iterable[str]) -> None:
    if value is None:
        return
    if isinstance(value, str):
        attrs[name] = redact(value, secrets)
    elif isinstance(value, bool | int | float):
        attrs[name] = value


def turn_attributes(
    record: TurnLog, *, capture_content: bool = False, secrets: Iterable[str] = ()
) -> dict[str, AttributeValue]:
    """The attributes of a turn's (or agent step's) span."""
    attrs: dict[str, AttributeValue] = {}
    agent = record.kind == "agent_step"
    attrs["gen_ai.operation.name"] = "invoke_agent" if agent else "chat"
    _put(attrs, "gen_ai.conversation.id", record.conversation_id, secrets)
    for name, value in record.otel_attributes().items():
        _put(attrs, name, value, secrets)
    put = {
        "persona_lab.kind": record.kind,
        "persona_lab.persona_id": record.persona_id,
        "persona_lab.turn_index": record.turn_index,
        "persona_lab.run_id": record.run_id,
        "persona_lab.step_index": record.step_index,
        "persona_lab.router": record.router_name,
        "persona_lab.routing.requested_tier": record.requested_tier or None,
        "persona_lab.routing.reason": record.decision_reason or None,
        "persona_lab.tier": record.tier,
        "persona_lab.fallback.from": record.fallback_from,
        "persona_lab.fallback.to": record.fallback_to,
        "persona_lab.fallback.reason": record.fallback_reason,
        "persona_lab.cost_usd": record.cost_usd,
        "persona_lab.total_cost_usd": record.total_cost_usd,
        "persona_lab.price_source": record.price_source,
        "persona_lab.tokens_estimated": record.tokens_estimated,
        "persona_lab.prompt_tokens_estimate": record.prompt_tokens_estimate,
        "persona_lab.latency_s": record.latency_s,
        "persona_lab.ttft_s": record.ttft_s,
        "persona_lab.memory_hits": record.memory_hits,
        "persona_lab.answer_chars": record.answer_chars,
        "persona_lab.attempts": len(record.attempts),
        "persona_lab.tool_calls": len(record.tool_calls),
        "persona_lab.suite": getattr(record, "suite", None),  # benchmark labels (in ``labels`` from schema 2)
        "persona_lab.item_id": getattr(record, "item_id", None),
        "persona_lab.category": getattr(record, "category", None),
        "error.type": record.error_type,
    }
    for name, value in put.items():
        _put(attrs, name, value, secrets)
    _mapping(attrs, "persona_lab.routing.score", record.decision_scores, secrets)
    _mapping(attrs, "persona_lab.routing.feature", record.decision_features, secrets)
    _mapping(attrs, "persona_lab.label", getattr(record, "labels", None) or {}, secrets)
    _mapping(attrs, "persona_lab.score", getattr(record, "scores", None) or {}, secrets)
    if capture_content:
        _put(attrs, "persona_lab.user_text", record.user_text, secrets)
    return attrs


def _mapping(attrs: dict[str, AttributeValue], prefix: str, values: Mapping[str, Any], secrets: Iterable[str]) -> None:
    for key, value in values.items():
        _put(attrs, f"{prefix}.{key}", value, secrets)


def attempt_attributes(attempt: Attempt, *, secrets: Iterable[str] = ()) -> dict[str, AttributeValue]:
    """The attributes of one model-call attempt's span (accepted, failed or escalated past)."""
    attrs: dict[str, AttributeValue] = {"gen_ai.operation.name": "chat"}
    put = {
        "gen_ai.provider.name": attempt.provider,
        "gen_ai.request.model": attempt.model,
        "gen_ai.usage.input_tokens": attempt.input_tokens,
        "gen_ai.usage.output_tokens": attempt.output_tokens,
        "persona_lab.tier": attempt.tier,
        "persona_lab.attempt.outcome": attempt.outcome,
        "persona_lab.cost_usd": attempt.cost_usd,
        "persona_lab.latency_s": attempt.latency_s,
        "error.type": attempt.error_type,
    }
    for name, value in put.items():
        _put(attrs, name, value, secrets)
    return attrs


def tool_attributes(
    call: ToolCallRecord, *, capture_content: bool = False, secrets: Iterable[str] = ()
) -> dict[str, AttributeValue]:
    """The attributes of one tool call's span; arguments and result only with ``capture_content``."""
    attrs: dict[str, AttributeValue] = {"gen_ai.operation.name": "execute_tool"}
    put: dict[str, Any] = {
        "gen_ai.tool.name": call.name,
        "gen_ai.tool.call.id": call.call_id,
        "gen_ai.tool.type": "function",
        "persona_lab.tool.cached": call.cached,
        "persona_lab.tool.is_error": call.is_error,
        "error.type": "tool_error" if call.is_error else None,
    }
    if capture_content:
        put["gen_ai.tool.call.arguments"] = call.arguments
        put["gen_ai.tool.call.result"] = call.result
    for name, value in put.items():
        _put(attrs, name, value, secrets)
    return attrs


def compaction_attributes(call: CompactionCall, *, secrets: Iterable[str] = ()) -> dict[str, AttributeValue]:
    """The attributes of a history-compaction (summary) call's span."""
    attrs: dict[str, AttributeValue] = {"gen_ai.operation.name": "chat", "persona_lab.purpose": "compaction"}
    put = {
        "gen_ai.request.model": call.model,
        "gen_ai.usage.input_tokens": call.input_tokens,
        "gen_ai.usage.output_tokens": call.output_tokens,
        "persona_lab.tier": call.tier,
        "persona_lab.cost_usd": call.cost_usd,
        "persona_lab.compaction.turns": call.summarized,
    }
    for name, value in put.items():
        _put(attrs, name, value, secrets)
    return attrs
