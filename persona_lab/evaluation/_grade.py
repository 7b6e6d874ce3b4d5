"""Grades and the grader contract: a grader is a plain callable, sync or async.

``grader(item: GradingInput) -> Grade`` (or ``Awaitable[Grade]``). :func:`apply_grader` calls
one and never lets it stop a run: an exception becomes a grade with ``status="error"``.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from persona_lab.core import TurnLog
from persona_lab.persona import Persona

__all__ = [
    "SCALES",
    "Grade",
    "Grader",
    "GradingInput",
    "apply_grader",
    "grader_name",
]

Scale = Literal["binary", "fraction", "1-10"]
SCALES: tuple[str, ...] = ("binary", "fraction", "1-10")
"""``binary``: 0 or 1; ``fraction``: 0 to 1; ``1-10``: a judge's rating."""

Status = Literal["ok", "error", "unparseable"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Grade:
    """A grader's verdict on one answer (or one conversation).

    ``score`` is on ``scale`` (``None`` when there is none: ``status`` says why), ``passed``
    whether it met the expectation. ``cost_usd`` is what grading cost (judges); ``details``
    holds a judge's prompt, reply, tier and model.
    """

    score: float | None
    scale: Scale = "binary"
    passed: bool | None = None
    reason: str = ""
    grader: str = ""
    level: Literal["turn", "conversation"] = "turn"
    status: Status = "ok"
    cost_usd: float = 0.0
    details: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.scale not in SCALES:
            raise ValueError(f"unknown grade scale {self.scale!r}; known: {', '.join(SCALES)}")
        if self.status == "ok" and self.score is None:
            raise ValueError("a grade with status 'ok' needs a score; use status='error' or 'unparseable'")

    @property
    def normalized(self) -> float | None:
        """The score on 0–1 (a 1–10 rating r becomes (r − 1) / 9)."""
        if self.score is None:
            return None
        if self.scale == "1-10":
            return (min(10.0, max(1.0, self.score)) - 1.0) / 9.0
        return min(1.0, max(0.0, self.score))

    @classmethod
    def check(cls, ok: bool, reason: str, **kw: Any) -> Grade:
        """A binary grade: 1 and passed when ``ok``."""
        return cls(score=1.0 if ok else 0.0, scale="binary", passed=ok, reason=reason, **kw)

    @classmethod
    def failed(cls, grader: str, error: BaseException | str, **kw: Any) -> Grade:
        """The grade of a grader that raised: no score, ``status='error'``, the error as the reason."""
        text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        return cls(score=None, passed=None, reason=text, grader=grader, status="error", **kw)

    def to_dict(self) -> dict[str, Any]:
        return {
            "grader": self.grader, "level": self.level, "score": self.score, "scale": self.scale,
            "passed": self.passed, "reason": self.reason, "status": self.status, "cost_usd": self.cost_usd,
            "details": dict(self.details),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Grade:
        names = {"grader", "level", "score", "scale", "passed", "reason", "status", "cost_usd", "details"}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True, slots=True, kw_only=True)
class GradingInput:
    """What a grader sees: one answer (``level="turn"``) or a whole conversation (``"conversation"``).

    For a conversation, ``answer`` is every answer joined by blank lines (a task: the run's
    output) and ``tool_calls`` every tool called in it. ``transcript`` holds the
    ``(user, answer)`` pairs so far.
    """

    scenario_id: str
    variant: str
    persona: Persona
    level: Literal["turn", "conversation"]
    turn_index: int | None
    user_text: str
    answer: str
    tool_calls: tuple[str, ...] = ()
    transcript: tuple[tuple[str, str], ...] = ()
    turn_log: TurnLog | None = field(default=None, repr=False)


Grader = Callable[[GradingInput], Grade | Awaitable[Grade]]
"""A grader: ``(GradingInput) -> Grade``, sync or async. Give it a ``name`` attribute to label it."""


def grader_name(grader: Grader) -> str:
    """A grader's ``name`` attribute, else its function or class name."""
    name = getattr(grader, "name", None)
    if isinstance(name, str) and name:
        return name
    return str(getattr(grader, "__name__", type(grader).__name__))


async def apply_grader(grader: Grader, item: GradingInput, *, name: str | None = None) -> Grade:
    """Call ``grader``; an exception or a non-Grade result becomes an ``error`` grade, never a crash."""
    label = name or grader_name(grader)
    try:
        result = grader(item)
        if inspect.isawaitable(result):
            result = await result
    except Exception as exc:
        return Grade.failed(label, exc, level=item.level)
    if not isinstance(result, Grade):
        return Grade.failed(label, f"grader returned {type(result).__name__}, not a Grade", level=item.level)
    return replace(result, grader=label, level=item.level)
