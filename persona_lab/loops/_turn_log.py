"""The turn log: one frozen record per chat turn and per agent step.

Field names follow the OpenTelemetry GenAI conventions where they exist, with dots written
as underscores (``gen_ai.usage.input_tokens`` → ``gen_ai_usage_input_tokens``);
:meth:`TurnLog.otel_attributes` gives them back dotted. Every record round-trips through
``to_dict``/``from_dict`` (JSON-safe).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "TURN_LOG_SCHEMA_VERSION",
    "Attempt",
    "CompactionCall",
    "ToolCallRecord",
    "TurnLog",
]

TURN_LOG_SCHEMA_VERSION = 1

Feature = float | int | str | bool | None


@dataclass(frozen=True, slots=True)
class ToolCallRecord:
    """One tool call made during a turn and what it returned (result cut to 2,000 characters)."""

    call_id: str
    name: str
    arguments: str
    result: str
    is_error: bool
    duration_s: float = field(default=0.0, compare=False)
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ToolCallRecord:
        return cls(**_known(cls, data))


@dataclass(frozen=True, slots=True)
class Attempt:
    """One paid call to a model while answering a turn: accepted, failed, or escalated past."""

    tier: str
    provider: str
    model: str
    outcome: Literal["accepted", "failed", "escalated"]
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    latency_s: float = field(default=0.0, compare=False)
    error: str | None = None
    error_type: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Attempt:
        return cls(**_known(cls, data))


@dataclass(frozen=True, slots=True)
class CompactionCall:
    """A summarisation call made to keep history within budget; paid by the turn that caused it."""

    tier: str
    model: str
    summarized: int
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None
    tokens_estimated: bool = False
    summary_chars: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CompactionCall:
        return cls(**_known(cls, data))


def _known(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in data.items() if k in names}


@dataclass(frozen=True, slots=True)
class TurnLog:
    """What happened in one turn (or agent step): routing, model, tokens, cost, timing, tools.

    ``cost_usd`` is the answer attempts' cost; ``total_cost_usd`` adds compaction and review
    calls. Costs are ``None`` when a model's price is unknown (``price_source="unknown"``).
    """

    conversation_id: str
    turn_index: int
    timestamp: str
    persona_id: str
    router_name: str
    requested_tier: str
    tier: str | None
    decision_reason: str
    latency_s: float
    kind: Literal["chat", "agent_step"] = "chat"
    user_text: str = ""
    decision_scores: Mapping[str, float] = field(default_factory=dict)
    decision_features: Mapping[str, Feature] = field(default_factory=dict)
    fallback_from: str | None = None
    fallback_to: str | None = None
    fallback_reason: str | None = None
    gen_ai_provider_name: str | None = None
    gen_ai_request_model: str | None = None
    gen_ai_response_model: str | None = None
    gen_ai_usage_input_tokens: int | None = None
    gen_ai_usage_output_tokens: int | None = None
    gen_ai_usage_cache_read_input_tokens: int | None = None
    gen_ai_response_time_to_first_chunk: float | None = None
    ttft_s: float | None = None
    cost_usd: float | None = None
    total_cost_usd: float | None = None
    price_source: str = "unknown"
    tokens_estimated: bool = False
    prompt_tokens_estimate: int = 0
    memory_hits: int = 0
    answer_chars: int = 0
    tool_calls: tuple[ToolCallRecord, ...] = ()
    compactions: tuple[CompactionCall, ...] = ()
    attempts: tuple[Attempt, ...] = ()
    error: str | None = None
    error_type: str | None = None
    run_id: str | None = None
    step_index: int | None = None
    suite: str | None = None
    item_id: str | None = None
    category: str | None = None
    score: float | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    schema_version: int = TURN_LOG_SCHEMA_VERSION

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def compaction_cost_usd(self) -> float | None:
        costs = [c.cost_usd for c in self.compactions if c.cost_usd is not None]
        return sum(costs) if costs else None

    def with_labels(self, **labels: Any) -> TurnLog:
        """A copy with benchmark labels (suite, item_id, category, score) filled in."""
        return dataclasses.replace(self, **labels)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in ("tool_calls", "compactions", "attempts"):
                value = [v.to_dict() for v in value]
            elif f.name in ("decision_scores", "decision_features", "labels"):
                value = dict(value)
            data[f.name] = value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TurnLog:
        """Build a record from a dict; unknown keys (from newer writers) are ignored."""
        values = _known(cls, data)
        values["tool_calls"] = tuple(ToolCallRecord.from_dict(v) for v in data.get("tool_calls") or ())
        values["compactions"] = tuple(CompactionCall.from_dict(v) for v in data.get("compactions") or ())
        values["attempts"] = tuple(Attempt.from_dict(v) for v in data.get("attempts") or ())
        values["decision_scores"] = dict(data.get("decision_scores") or {})
        values["decision_features"] = dict(data.get("decision_features") or {})
        values["labels"] = {str(k): str(v) for k, v in (data.get("labels") or {}).items()}
        return cls(**values)

    def otel_attributes(self) -> dict[str, Any]:
        """The OpenTelemetry GenAI attributes of this turn, with their dotted names."""
        names = {
            "gen_ai_provider_name": "gen_ai.provider.name",
            "gen_ai_request_model": "gen_ai.request.model",
            "gen_ai_response_model": "gen_ai.response.model",
            "gen_ai_usage_input_tokens": "gen_ai.usage.input_tokens",
            "gen_ai_usage_output_tokens": "gen_ai.usage.output_tokens",
            "gen_ai_usage_cache_read_input_tokens": "gen_ai.usage.cache_read.input_tokens",
            "gen_ai_response_time_to_first_chunk": "gen_ai.response.time_to_first_chunk",
        }
        return {dotted: getattr(self, attr) for attr, dotted in names.items() if getattr(self, attr) is not None}
