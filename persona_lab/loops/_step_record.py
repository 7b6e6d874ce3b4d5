"""One agent step while it runs (a draft), and how a finished draft becomes its records.

Every step that starts ends as a :class:`RunStep` and a :class:`TurnLog`, whether it finished,
failed or was cut short by a cancel; a generation interrupted part-way is billed by estimate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from persona_lab.core import (
    Attempt,
    ChatRequest,
    CompactionCall,
    Message,
    RoutingDecision,
    ToolCallRecord,
    TurnLog,
    Usage,
    estimate_tokens,
    turn_log_labels,
)
from persona_lab.loops._model_call import CallBox, CallResult
from persona_lab.loops._run import RunStep, StepAction
from persona_lab.tiers import ModelConfig, PriceBook

__all__ = ["StepDraft", "StepLabels", "StepRecords", "close_step"]


@dataclass(slots=True)
class StepDraft:
    """What a step has done so far; the loop fills it in as the step runs."""

    index: int
    started: float
    timestamp: str
    decision: RoutingDecision | None = None
    tier: str | None = None
    fallback_reason: str | None = None
    prompt_tokens: int = 0
    box: CallBox | None = None
    result: CallResult | None = None
    request: ChatRequest | None = None
    config: ModelConfig | None = None
    partial: list[str] = field(default_factory=list)
    action: StepAction = "failed"
    text: str = ""
    answer_text: str = ""
    tools: list[ToolCallRecord] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    compactions: list[CompactionCall] = field(default_factory=list)
    question: str | None = None
    options: tuple[str, ...] = ()
    answer: str | None = None
    waited: float = 0.0
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False
    error: BaseException | None = None

    @property
    def output(self) -> str:
        """The answer for a finishing step, else the text the model wrote."""
        return self.answer_text if self.action in ("final_answer", "wrap_up") else self.text


@dataclass(frozen=True, slots=True, kw_only=True)
class StepRecords:
    step: RunStep
    turn_log: TurnLog
    known_cost_usd: float
    cost_known: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class StepLabels:
    """Who and what a step belongs to, for its turn log."""

    run_id: str
    task: str
    persona_id: str
    router_name: str
    metadata: Mapping[str, Any]


def close_step(draft: StepDraft, labels: StepLabels, *, now: float, prices: PriceBook) -> StepRecords:
    """The step record and turn log of a finished (or failed, or interrupted) step."""
    if draft.interrupted:
        _note_interruption(draft)
    attempts = _attempts(draft, now, prices)
    paid = [a for a in attempts if a.outcome != "failed" or a.cost_usd is not None]
    answer_costs = [a.cost_usd for a in paid]
    costs = answer_costs + [c.cost_usd for c in draft.compactions]
    known = all(c is not None for c in costs)
    known_sum = sum(c for c in costs if c is not None)
    cost = sum(c for c in answer_costs if c is not None) if None not in answer_costs else None
    total = known_sum if known else None
    input_tokens = sum(a.input_tokens or 0 for a in paid)
    output_tokens = sum(a.output_tokens or 0 for a in paid)
    latency = now - draft.started - draft.waited
    result, error = draft.result, draft.error
    if not paid:
        cost = 0.0 if error is None and not draft.interrupted else None
    turn_log = _turn_log(
        draft, labels, attempts, latency, cost, total,
        input_tokens if paid else None, output_tokens if paid else None,
    )
    step = RunStep(
        index=draft.index,
        action=draft.action,
        tier=result.tier if result is not None else draft.tier,
        model=result.config.model if result is not None else (draft.config.model if draft.config else None),
        text=draft.text,
        tool_calls=tuple(draft.tools),
        question=draft.question,
        options=draft.options,
        answer=draft.answer,
        messages=tuple(draft.messages),
        cost_usd=total,
        input_tokens=input_tokens + sum(c.input_tokens or 0 for c in draft.compactions),
        output_tokens=output_tokens + sum(c.output_tokens or 0 for c in draft.compactions),
        duration_s=latency,
        note="; ".join(draft.notes) if error is None else f"{type(error).__name__}: {error}",
    )
    return StepRecords(step=step, turn_log=turn_log, known_cost_usd=known_sum, cost_known=known)


def _note_interruption(draft: StepDraft) -> None:
    draft.action = "interrupted"
    if draft.result is None:
        draft.text = "".join(draft.partial)
        draft.notes.append("generation interrupted by cancel" if draft.box is not None else "cancelled")
    elif draft.question is not None and draft.answer is None:
        draft.notes.append("cancelled while waiting for the user")
    else:
        draft.notes.append("cancelled")


def _attempts(draft: StepDraft, now: float, prices: PriceBook) -> list[Attempt]:
    result, box = draft.result, draft.box
    if result is not None:
        return list(result.attempts)
    attempts = list(box.failed_attempts) if box is not None else []
    config, request = draft.config, draft.request
    cut = [a for a in attempts if a.error_type == "Cancelled"]
    if draft.interrupted and cut:
        # the model call estimated the cut attempt itself (answer text and tool-call arguments)
        return [
            replace(a, error="cancelled during generation", error_type="RunCancelled") if a in cut else a
            for a in attempts
        ]
    if draft.interrupted and config is not None and request is not None:
        # The provider bills what it generated before the cancel: estimate it.
        usage = Usage(
            input_tokens=estimate_tokens(request.system) + sum(m.tokens for m in request.messages),
            output_tokens=estimate_tokens("".join(draft.partial)),
        )
        elapsed = now - draft.started
        cost = prices.cost(config, usage, duration_s=elapsed)
        attempts.append(
            Attempt(
                tier=draft.tier or "",
                provider=config.provider,
                model=config.model,
                outcome="failed",
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cost_usd=cost.usd if cost.usd is not None else 0.0,
                latency_s=elapsed,
                error="cancelled during generation",
                error_type="RunCancelled",
            )
        )
    return attempts


def _turn_log(
    draft: StepDraft,
    labels: StepLabels,
    attempts: list[Attempt],
    latency: float,
    cost: float | None,
    total: float | None,
    input_tokens: int | None,
    output_tokens: int | None,
) -> TurnLog:
    result, decision, error = draft.result, draft.decision, draft.error
    if error is None and draft.interrupted:
        error_text: str | None = "run cancelled during this step"
        error_type: str | None = "RunCancelled"
    else:
        error_text = None if error is None else str(error) or type(error).__name__
        error_type = None if error is None else type(error).__name__
    used_tier = result.tier if result is not None else None
    fallback_from = decision.tier if decision and used_tier and used_tier != decision.tier else None
    fallback_reason = (result.fallback_reason if result is not None else None) or draft.fallback_reason
    metadata = labels.metadata
    return TurnLog(
        conversation_id=labels.run_id,
        turn_index=draft.index,
        timestamp=draft.timestamp,
        persona_id=labels.persona_id,
        router_name=labels.router_name,
        requested_tier=decision.tier if decision else "",
        tier=used_tier,
        decision_reason=decision.reason if decision else "",
        latency_s=latency,
        kind="agent_step",
        user_text=labels.task[:4000],
        decision_scores=dict(decision.scores) if decision else {},
        decision_features=dict(decision.features) if decision else {},
        fallback_from=fallback_from,
        fallback_to=used_tier if fallback_from else None,
        fallback_reason=fallback_reason if (fallback_from or fallback_reason) else None,
        gen_ai_provider_name=result.config.provider if result else None,
        gen_ai_request_model=result.config.model if result else None,
        gen_ai_response_model=(result.response_model or result.config.model) if result else None,
        gen_ai_usage_input_tokens=input_tokens,
        gen_ai_usage_output_tokens=output_tokens,
        gen_ai_usage_cache_read_input_tokens=result.usage.cache_read_input_tokens if result else None,
        gen_ai_response_time_to_first_chunk=result.time_to_first_chunk_s if result else None,
        ttft_s=None if result is None or result.first_text_at is None else result.first_text_at - draft.started,
        cost_usd=cost,
        total_cost_usd=total,
        price_source=result.cost.source if result else "unknown",
        tokens_estimated=bool(result and result.tokens_estimated) or (draft.interrupted and result is None),
        prompt_tokens_estimate=draft.prompt_tokens,
        answer_chars=len(draft.output),
        tool_calls=tuple(draft.tools),
        compactions=tuple(draft.compactions),
        attempts=tuple(attempts),
        error=error_text,
        error_type=error_type,
        run_id=labels.run_id,
        step_index=draft.index,
        labels=turn_log_labels(metadata),
    )
