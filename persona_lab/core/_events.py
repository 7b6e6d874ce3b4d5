"""The event vocabulary both loops stream: frozen, typed, JSON-safe.

Every event carries ``id`` (the conversation or run id) and ``index`` (turn or step index).
Consumers ``match`` on the class. A :class:`Retrying` event means: discard the text streamed
since the last :class:`Started` or :class:`Retrying` of the same index, a new attempt follows.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, Literal

from persona_lab.core._turn_log import TurnLog

__all__ = [
    "AskingUser",
    "BudgetExceededEvent",
    "Compacted",
    "ErrorOccurred",
    "Finished",
    "LoopEvent",
    "MaxStepsReached",
    "Reasoning",
    "Retrying",
    "RunCancelled",
    "RunCompleted",
    "Started",
    "TextDelta",
    "Thinking",
    "TierChosen",
    "ToolCalling",
    "ToolResult",
    "TurnDone",
    "UserResponded",
    "event_from_dict",
]


def _now() -> float:
    return time.time()


class _EventMixin:
    kind: ClassVar[str]

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, TurnLog):
                value = value.to_dict()
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, Mapping):
                value = dict(value)
            data[f.name] = value
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class Started(_EventMixin):
    """A chat turn, an agent run or an agent step began."""

    kind: ClassVar[str] = "started"
    id: str
    index: int
    scope: Literal["turn", "run", "step"]
    text: str
    ts: float = field(default_factory=_now, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class TierChosen(_EventMixin):
    kind: ClassVar[str] = "tier"
    id: str
    index: int
    tier: str
    provider: str
    model: str
    reason: str
    router: str
    scores: Mapping[str, float] = field(default_factory=dict)
    ts: float = field(default_factory=_now, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Thinking(_EventMixin):
    """The loop is working (waiting for a first token, running a tool)."""

    kind: ClassVar[str] = "thinking"
    id: str
    index: int
    message: str
    ts: float = field(default_factory=_now, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class TextDelta(_EventMixin):
    kind: ClassVar[str] = "text_delta"
    id: str
    index: int
    text: str
    ts: float = field(default_factory=_now, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Retrying(_EventMixin):
    """An attempt failed or was escalated; text since the last start is void."""

    kind: ClassVar[str] = "retry"
    id: str
    index: int
    from_tier: str
    from_model: str
    to_tier: str
    to_model: str
    reason: str
    ts: float = field(default_factory=_now, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCalling(_EventMixin):
    kind: ClassVar[str] = "tool_calling"
    id: str
    index: int
    call_id: str
    name: str
    arguments: str
    ts: float = field(default_factory=_now, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolResult(_EventMixin):
    kind: ClassVar[str] = "tool_result"
    id: str
    index: int
    call_id: str
    name: str
    content: str
    is_error: bool
    cached: bool = False
    ts: float = field(default_factory=_now, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class AskingUser(_EventMixin):
    """The agent asks the user; ``options`` holds up to three predefined answers."""

    kind: ClassVar[str] = "asking_user"
    id: str
    index: int
    question: str
    options: tuple[str, ...] = ()
    ts: float = field(default_factory=_now, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class UserResponded(_EventMixin):
    kind: ClassVar[str] = "user_responded"
    id: str
    index: int
    answer: str
    ts: float = field(default_factory=_now, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Reasoning(_EventMixin):
    """Text the model wrote alongside a tool call or question (its stated plan)."""

    kind: ClassVar[str] = "reasoning"
    id: str
    index: int
    text: str
    ts: float = field(default_factory=_now, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Compacted(_EventMixin):
    """History was summarised to stay within budget."""

    kind: ClassVar[str] = "compacted"
    id: str
    index: int
    summarized: int
    tier: str
    cost_usd: float | None
    ts: float = field(default_factory=_now, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class TurnDone(_EventMixin):
    """A chat turn or agent step finished; its turn log is attached (also on failure)."""

    kind: ClassVar[str] = "done"
    id: str
    index: int
    turn_log: TurnLog
    answer: str = ""
    ts: float = field(default_factory=_now, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunCompleted(_EventMixin):
    kind: ClassVar[str] = "completed"
    id: str
    index: int
    output: str
    ts: float = field(default_factory=_now, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunCancelled(_EventMixin):
    kind: ClassVar[str] = "cancelled"
    id: str
    index: int
    reason: str
    ts: float = field(default_factory=_now, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class MaxStepsReached(_EventMixin):
    kind: ClassVar[str] = "max_steps"
    id: str
    index: int
    output: str
    ts: float = field(default_factory=_now, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetExceededEvent(_EventMixin):
    kind: ClassVar[str] = "budget_exceeded"
    id: str
    index: int
    reason: str
    ts: float = field(default_factory=_now, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorOccurred(_EventMixin):
    kind: ClassVar[str] = "error"
    id: str
    index: int
    error_type: str
    message: str
    ts: float = field(default_factory=_now, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Finished(_EventMixin):
    """A run ended with ``status``; the last event of every run."""

    kind: ClassVar[str] = "finished"
    id: str
    index: int
    status: str
    output: str
    cost_usd: float | None
    tokens: int
    ts: float = field(default_factory=_now, compare=False)


LoopEvent = (
    Started
    | TierChosen
    | Thinking
    | TextDelta
    | Retrying
    | ToolCalling
    | ToolResult
    | AskingUser
    | UserResponded
    | Reasoning
    | Compacted
    | TurnDone
    | RunCompleted
    | RunCancelled
    | MaxStepsReached
    | BudgetExceededEvent
    | ErrorOccurred
    | Finished
)

_BY_KIND: Mapping[str, type[Any]] = MappingProxyType({
    cls.kind: cls
    for cls in (
        Started,
        TierChosen,
        Thinking,
        TextDelta,
        Retrying,
        ToolCalling,
        ToolResult,
        AskingUser,
        UserResponded,
        Reasoning,
        Compacted,
        TurnDone,
        RunCompleted,
        RunCancelled,
        MaxStepsReached,
        BudgetExceededEvent,
        ErrorOccurred,
        Finished,
    )
})


def event_from_dict(data: Mapping[str, Any]) -> LoopEvent:
    """Rebuild an event from :meth:`to_dict` output."""
    kind = data.get("kind")
    if kind not in _BY_KIND:
        raise ValueError(f"unknown event kind {kind!r}")
    cls = _BY_KIND[str(kind)]
    names = {f.name for f in dataclasses.fields(cls)}
    values = {k: v for k, v in data.items() if k in names}
    if "turn_log" in values:
        values["turn_log"] = TurnLog.from_dict(values["turn_log"])
    if "options" in values:
        values["options"] = tuple(values["options"])
    event: LoopEvent = cls(**values)
    return event
