"""An agent run while it runs: the loop's only mutable state, rebuilt from a :class:`Run` to resume.

Besides the steps it keeps running totals and the flattened transcript of the steps not yet
summarised, so building a step's prompt and checking budgets cost no walk over the history.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from persona_lab.core import AskingUser, ConversationTurn, Message, TurnLog, estimate_tokens
from persona_lab.loops._tools import ToolOutcome
from persona_lab.loops.agent._actions import question_key
from persona_lab.loops.agent._run import FailedCall, Run, RunStatus, RunStep

__all__ = ["RunState"]


@dataclass(slots=True)
class RunState:
    """A run while it runs: the loop's only mutable state, rebuilt from a :class:`Run` to resume."""

    id: str
    task: str
    persona_id: str
    started_at: str
    metadata: dict[str, Any]
    task_message: Message
    steps: list[RunStep] = field(default_factory=list)
    turn_logs: list[TurnLog] = field(default_factory=list)
    turns: list[ConversationTurn] = field(default_factory=list)
    step_tokens: list[int] = field(default_factory=list)
    flat: list[Message] = field(default_factory=list)
    flat_from: int = 0
    history_tokens: int = 0
    summary: str = ""
    summary_tokens: int = 0
    summarized_steps: int = 0
    questions_asked: int = 0
    asked: dict[str, tuple[str, str]] = field(default_factory=dict)
    error_cache: dict[tuple[str, str], ToolOutcome] = field(default_factory=dict)
    cost_usd: float = 0.0
    cost_known: bool = True
    input_tokens: int = 0
    output_tokens: int = 0
    duration_s: float = 0.0
    pending: AskingUser | None = None
    pending_call_id: str | None = None

    @classmethod
    def from_run(cls, run: Run) -> RunState:
        state = cls(
            id=run.id,
            task=run.task,
            persona_id=run.persona_id,
            started_at=run.started_at,
            metadata=dict(run.metadata),
            task_message=Message.user(run.task),
            questions_asked=run.questions_asked,
            asked={question_key(q): (q, a) for q, a in run.asked},
            error_cache={
                (c.name, c.arguments): ToolOutcome(content=c.content, is_error=True) for c in run.failed_calls
            },
            cost_usd=run.cost_usd,
            cost_known=run.cost_known,
            input_tokens=run.input_tokens,
            output_tokens=run.output_tokens,
            duration_s=run.duration_s,
            pending=run.pending_question,
            pending_call_id=run.pending_call_id,
            turn_logs=list(run.turn_logs),
        )
        for step in run.steps:
            state._append(step)
        state.set_summary(run.summary, run.summarized_steps)
        return state

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def _append(self, step: RunStep) -> None:
        tokens = step.tokens
        self.steps.append(step)
        self.step_tokens.append(tokens)
        self.history_tokens += tokens
        self.flat.extend(step.messages)
        self.turns.append(
            ConversationTurn(
                index=step.index, messages=step.messages, tier=step.tier or "", cost_usd=step.cost_usd, tokens=tokens
            )
        )

    def add_step(self, step: RunStep, turn_log: TurnLog, known_cost: float, cost_known: bool) -> None:
        self._append(step)
        self.turn_logs.append(turn_log)
        self.cost_usd += known_cost
        self.cost_known &= cost_known
        self.input_tokens += step.input_tokens
        self.output_tokens += step.output_tokens

    def extend_last_step(self, message: Message, **changes: Any) -> None:
        """Add a message to the newest step (a parked question's answer)."""
        step = self.steps[-1]
        step = replace(step, messages=(*step.messages, message), **changes)
        self.steps[-1] = step
        self.flat.append(message)
        self.step_tokens[-1] += message.tokens
        self.history_tokens += message.tokens
        self.turns[-1] = ConversationTurn(
            index=step.index,
            messages=step.messages,
            tier=step.tier or "",
            cost_usd=step.cost_usd,
            tokens=self.step_tokens[-1],
        )

    def set_summary(self, summary: str, summarized_steps: int) -> None:
        for index in range(self.summarized_steps, summarized_steps):
            self.flat_from += len(self.steps[index].messages)
            self.history_tokens -= self.step_tokens[index]
        self.summary = summary
        self.summary_tokens = estimate_tokens(summary) + 8 if summary else 0
        self.summarized_steps = summarized_steps

    def messages(self, budget: int) -> tuple[Message, ...]:
        """The task block and the unsummarised steps; the oldest steps go first if over ``budget``."""
        if self.history_tokens <= budget:
            return (self.task_message, *self.flat[self.flat_from :])
        start, skip, tokens = self.summarized_steps, 0, self.history_tokens
        while tokens > budget and start < len(self.steps) - 1:
            tokens -= self.step_tokens[start]
            skip += len(self.steps[start].messages)
            start += 1
        return (self.task_message, *self.flat[self.flat_from + skip :])

    def snapshot(self, status: RunStatus, output: str, reason: str, error_type: str | None) -> Run:
        return Run(
            id=self.id,
            task=self.task,
            persona_id=self.persona_id,
            status=status,
            output=output,
            steps=tuple(self.steps),
            pending_question=self.pending if status is RunStatus.AWAITING_USER else None,
            cost_usd=self.cost_usd,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            duration_s=self.duration_s,
            turn_logs=tuple(self.turn_logs),
            reason=reason,
            error_type=error_type,
            cost_known=self.cost_known,
            started_at=self.started_at,
            summary=self.summary,
            summarized_steps=self.summarized_steps,
            questions_asked=self.questions_asked,
            asked=tuple(self.asked.values()),
            failed_calls=tuple(
                FailedCall(name=n, arguments=a, content=o.content) for (n, a), o in self.error_cache.items()
            ),
            pending_call_id=self.pending_call_id if status is RunStatus.AWAITING_USER else None,
            metadata=dict(self.metadata),
        )
