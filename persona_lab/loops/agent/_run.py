"""The record of an agent run: its task, steps, status, output and totals (JSON round-trip).

A run parked with status ``awaiting_user`` holds everything needed to continue it in another
process: the transcript, the compaction summary, the questions already asked and the tool calls
that already failed. Pass it (or ``Run.from_json(text)``) to :meth:`AgenticLoop.resume`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from persona_lab.core import AskingUser, Message, ToolCallRecord, TurnLog, event_from_dict

__all__ = ["FailedCall", "Run", "RunStatus", "RunStep", "StepAction"]


class RunStatus(StrEnum):
    """How a run ended. A ``str``: ``run.status == "completed"`` works."""

    COMPLETED = "completed"
    AWAITING_USER = "awaiting_user"
    CANCELLED = "cancelled"
    MAX_STEPS_REACHED = "max_steps_reached"
    BUDGET_EXCEEDED = "budget_exceeded"
    ERROR = "error"


StepAction = Literal["tools", "ask_user", "final_answer", "empty", "wrap_up", "interrupted", "failed"]
"""What a step did: called tools, asked the user, answered, said nothing usable (the next step
is nudged), summarised after the step limit, was cut short by a cancel, or failed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStep:
    """One step: a model call and what followed it (tools run, a question asked).

    ``messages`` are the messages this step added to the run's transcript; a tool call and its
    result always belong to the same step.
    """

    index: int
    action: StepAction
    tier: str | None
    model: str | None
    text: str = ""
    tool_calls: tuple[ToolCallRecord, ...] = ()
    question: str | None = None
    options: tuple[str, ...] = ()
    answer: str | None = None
    messages: tuple[Message, ...] = ()
    cost_usd: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    duration_s: float = field(default=0.0, compare=False)
    note: str = ""

    @property
    def tokens(self) -> int:
        """Estimated prompt tokens of this step's messages (used for compaction)."""
        return sum(m.tokens for m in self.messages)

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "action": self.action,
            "tier": self.tier,
            "model": self.model,
            "text": self.text,
            "tool_calls": [c.to_dict() for c in self.tool_calls],
            "question": self.question,
            "options": list(self.options),
            "answer": self.answer,
            "messages": [m.to_dict() for m in self.messages],
            "cost_usd": self.cost_usd,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "duration_s": self.duration_s,
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunStep:
        return cls(
            index=int(data["index"]),
            action=data["action"],
            tier=data.get("tier"),
            model=data.get("model"),
            text=str(data.get("text") or ""),
            tool_calls=tuple(ToolCallRecord.from_dict(c) for c in data.get("tool_calls") or ()),
            question=data.get("question"),
            options=tuple(data.get("options") or ()),
            answer=data.get("answer"),
            messages=tuple(Message.from_dict(m) for m in data.get("messages") or ()),
            cost_usd=data.get("cost_usd"),
            input_tokens=int(data.get("input_tokens") or 0),
            output_tokens=int(data.get("output_tokens") or 0),
            duration_s=float(data.get("duration_s") or 0.0),
            note=str(data.get("note") or ""),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class FailedCall:
    """A tool call that failed in this run; repeating it returns ``content`` without running."""

    name: str
    arguments: str
    content: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": self.arguments, "content": self.content}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FailedCall:
        return cls(name=str(data["name"]), arguments=str(data["arguments"]), content=str(data["content"]))


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    """An agent run: what was asked, every step, how it ended and what it cost.

    ``cost_usd`` sums the steps whose price is known; ``cost_known`` is ``False`` when some
    step's model had no price (the sum is then a lower bound). ``duration_s`` counts time the
    loop was working, not time spent parked waiting for a user. ``reason`` says why the run
    ended (the cancel reason, the budget spent, the error message).
    """

    id: str
    task: str
    persona_id: str
    status: RunStatus
    output: str
    steps: tuple[RunStep, ...]
    pending_question: AskingUser | None
    cost_usd: float
    input_tokens: int
    output_tokens: int
    duration_s: float
    turn_logs: tuple[TurnLog, ...] = ()
    reason: str = ""
    error_type: str | None = None
    cost_known: bool = True
    started_at: str = ""
    summary: str = ""
    summarized_steps: int = 0
    questions_asked: int = 0
    asked: tuple[tuple[str, str], ...] = ()
    failed_calls: tuple[FailedCall, ...] = ()
    pending_call_id: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def ok(self) -> bool:
        return self.status is RunStatus.COMPLETED

    @property
    def messages(self) -> tuple[Message, ...]:
        """The whole transcript after the task, oldest first (summarised steps included)."""
        return tuple(m for s in self.steps for m in s.messages)

    def __repr__(self) -> str:
        return (
            f"Run(id={self.id!r}, status={self.status.value!r}, steps={len(self.steps)}, "
            f"cost_usd={self.cost_usd:.6f}, tokens={self.tokens})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "task": self.task,
            "persona_id": self.persona_id,
            "status": self.status.value,
            "output": self.output,
            "steps": [s.to_dict() for s in self.steps],
            "pending_question": None if self.pending_question is None else self.pending_question.to_dict(),
            "cost_usd": self.cost_usd,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "duration_s": self.duration_s,
            "turn_logs": [t.to_dict() for t in self.turn_logs],
            "reason": self.reason,
            "error_type": self.error_type,
            "cost_known": self.cost_known,
            "started_at": self.started_at,
            "summary": self.summary,
            "summarized_steps": self.summarized_steps,
            "questions_asked": self.questions_asked,
            "asked": [list(pair) for pair in self.asked],
            "failed_calls": [c.to_dict() for c in self.failed_calls],
            "pending_call_id": self.pending_call_id,
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Run:
        """Rebuild a run from :meth:`to_dict` output; a missing or unknown status is an error."""
        try:
            status = RunStatus(data["status"])
        except (KeyError, ValueError):
            known = ", ".join(s.value for s in RunStatus)
            raise ValueError(f"run record: status {data.get('status')!r} is not one of {known}") from None
        pending = data.get("pending_question")
        question = event_from_dict(pending) if pending else None
        if question is not None and not isinstance(question, AskingUser):
            raise ValueError(f"run record: pending_question is a {question.kind!r} event, not asking_user")
        return cls(
            id=str(data["id"]),
            task=str(data["task"]),
            persona_id=str(data.get("persona_id") or ""),
            status=status,
            output=str(data.get("output") or ""),
            steps=tuple(RunStep.from_dict(s) for s in data.get("steps") or ()),
            pending_question=question,
            cost_usd=float(data.get("cost_usd") or 0.0),
            input_tokens=int(data.get("input_tokens") or 0),
            output_tokens=int(data.get("output_tokens") or 0),
            duration_s=float(data.get("duration_s") or 0.0),
            turn_logs=tuple(TurnLog.from_dict(t) for t in data.get("turn_logs") or ()),
            reason=str(data.get("reason") or ""),
            error_type=data.get("error_type"),
            cost_known=bool(data.get("cost_known", True)),
            started_at=str(data.get("started_at") or ""),
            summary=str(data.get("summary") or ""),
            summarized_steps=int(data.get("summarized_steps") or 0),
            questions_asked=int(data.get("questions_asked") or 0),
            asked=tuple((str(q), str(a)) for q, a in data.get("asked") or ()),
            failed_calls=tuple(FailedCall.from_dict(c) for c in data.get("failed_calls") or ()),
            pending_call_id=data.get("pending_call_id"),
            metadata=dict(data.get("metadata") or {}),
        )

    def to_json(self, *, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Run:
        return cls.from_dict(json.loads(text))
