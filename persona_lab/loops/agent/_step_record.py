"""One agent step while it runs (a draft), and how a finished draft becomes its records.

Every step that starts ends as a :class:`RunStep` and a :class:`TurnLog` (built by the turn
engine's one builder), whether it finished, failed or was cut short by a cancel; a generation
interrupted part-way is billed by estimate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from persona_lab.core import (
    Attempt,
    ChatRequest,
    Message,
    RoutingDecision,
    TurnLog,
    Usage,
    estimate_tokens,
    turn_log_labels,
)
from persona_lab.loops._engine import TurnIdentity, TurnTally, build_turn_log
from persona_lab.loops._model_call import CallBox, CallResult
from persona_lab.loops.agent._run import RunStep, StepAction
from persona_lab.tiers import ModelConfig, PriceBook

__all__ = ["StepDraft", "StepLabels", "StepRecords", "close_step"]


@dataclass(slots=True)
class StepDraft:
    """What a step has done so far; the loop fills it in as the step runs.

    ``tally`` holds its paid calls, tools and compactions (the turn engine's record of a turn).
    """

    index: int
    started: float
    timestamp: str
    tally: TurnTally = field(default_factory=TurnTally)
    decision: RoutingDecision | None = None
    tier: str | None = None
    prompt_tokens: int = 0
    box: CallBox | None = None
    request: ChatRequest | None = None
    config: ModelConfig | None = None
    partial: list[str] = field(default_factory=list)
    action: StepAction = "failed"
    text: str = ""
    answer_text: str = ""
    messages: list[Message] = field(default_factory=list)
    question: str | None = None
    options: tuple[str, ...] = ()
    answer: str | None = None
    waited: float = 0.0
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False
    error: BaseException | None = None

    @property
    def result(self) -> CallResult | None:
        """The step's accepted model call, once it has one."""
        return self.tally.last

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
        _bill_cut_generation(draft, now, prices)
    tally, error = draft.tally, draft.error
    paid = tally.paid()
    costs = [a.cost_usd for a in paid] + [c.cost_usd for c in tally.compactions]
    known = all(c is not None for c in costs)
    known_sum = sum(c for c in costs if c is not None)
    latency = now - draft.started - draft.waited
    turn_log = build_turn_log(
        tally,
        TurnIdentity(
            conversation_id=labels.run_id,
            turn_index=draft.index,
            timestamp=draft.timestamp,
            persona_id=labels.persona_id,
            router_name=labels.router_name,
            user_text=labels.task,
            kind="agent_step",
            run_id=labels.run_id,
            step_index=draft.index,
            labels=turn_log_labels(labels.metadata),
        ),
        decision=draft.decision,
        started=draft.started,
        latency_s=latency,
        prompt_tokens=draft.prompt_tokens,
        answer_chars=len(draft.output),
        error=error,
        interrupted=draft.interrupted,
    )
    result = draft.result
    step = RunStep(
        index=draft.index,
        action=draft.action,
        tier=result.tier if result is not None else draft.tier,
        model=result.config.model if result is not None else (draft.config.model if draft.config else None),
        text=draft.text,
        tool_calls=tuple(tally.tools),
        question=draft.question,
        options=draft.options,
        answer=draft.answer,
        messages=tuple(draft.messages),
        cost_usd=known_sum if known else None,
        input_tokens=sum(a.input_tokens or 0 for a in paid) + sum(c.input_tokens or 0 for c in tally.compactions),
        output_tokens=sum(a.output_tokens or 0 for a in paid) + sum(c.output_tokens or 0 for c in tally.compactions),
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


def _bill_cut_generation(draft: StepDraft, now: float, prices: PriceBook) -> None:
    """The provider bills what it generated before the cancel: estimate it as a failed, paid attempt."""
    if draft.result is not None:
        return
    attempts = draft.tally.attempts
    cut = [i for i, a in enumerate(attempts) if a.error_type == "Cancelled"]
    if cut:  # the model call estimated the cut attempt itself (answer text and tool-call arguments)
        for i in cut:
            attempts[i] = replace(attempts[i], error="cancelled during generation", error_type="RunCancelled")
        return
    config, request = draft.config, draft.request
    if config is None or request is None:
        return
    usage = Usage(
        input_tokens=estimate_tokens(request.system) + sum(m.tokens for m in request.messages),
        output_tokens=estimate_tokens("".join(draft.partial)),
    )
    elapsed = now - draft.started
    cost = prices.cost(config, usage, duration_s=elapsed)
    draft.tally.attempts.append(
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
