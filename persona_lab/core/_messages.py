"""Messages and the conversation a caller owns.

Messages are frozen values. A :class:`Conversation` is the caller's state: the loop reads it,
and commits a finished turn to it with :meth:`Conversation.commit_turn`; the loop itself keeps
nothing between requests.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, overload

from persona_lab.core._tokens import MESSAGE_OVERHEAD_TOKENS, estimate_tokens

__all__ = ["Conversation", "ConversationTurn", "Message", "Role", "ToolCall", "TurnsView"]

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCall:
    """A model's request to call a tool; ``arguments`` is the raw JSON text the model wrote."""

    id: str
    name: str
    arguments: str

    def parsed_arguments(self) -> dict[str, Any]:
        """The arguments as a dict; raises ``ValueError`` naming the tool when they are not a JSON object."""
        try:
            value = json.loads(self.arguments or "{}")
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"arguments for tool {self.name!r} are not valid JSON ({exc.msg} at char {exc.pos}): "
                f"{self.arguments[:200]!r}"
            ) from exc
        if not isinstance(value, dict):
            raise ValueError(f"arguments for tool {self.name!r} must be a JSON object, got {value!r}")
        return value

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "arguments": self.arguments}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ToolCall:
        return cls(id=str(data["id"]), name=str(data["name"]), arguments=str(data["arguments"]))


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """One chat message. Build them with the named constructors."""

    role: Role
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None
    tier: str | None = None
    model: str | None = None
    created_at: float = field(default_factory=time.time, compare=False)

    @classmethod
    def system(cls, content: str) -> Message:
        return cls(role="system", content=content)

    @classmethod
    def user(cls, content: str) -> Message:
        return cls(role="user", content=content)

    @classmethod
    def assistant(
        cls,
        content: str,
        *,
        tool_calls: tuple[ToolCall, ...] = (),
        tier: str | None = None,
        model: str | None = None,
    ) -> Message:
        return cls(role="assistant", content=content, tool_calls=tool_calls, tier=tier, model=model)

    @classmethod
    def tool_result(cls, call: ToolCall, content: str) -> Message:
        return cls(role="tool", content=content, tool_call_id=call.id, name=call.name)

    @property
    def tokens(self) -> int:
        """Estimated prompt tokens of this message, template overhead included."""
        extra = sum(estimate_tokens(c.name) + estimate_tokens(c.arguments) for c in self.tool_calls)
        return MESSAGE_OVERHEAD_TOKENS + estimate_tokens(self.content) + extra

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "content": self.content,
            "tool_calls": [c.to_dict() for c in self.tool_calls],
            "tool_call_id": self.tool_call_id,
            "name": self.name,
            "tier": self.tier,
            "model": self.model,
            "created_at": self.created_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Message:
        return cls(
            role=data["role"],
            content=str(data.get("content") or ""),
            tool_calls=tuple(ToolCall.from_dict(c) for c in data.get("tool_calls") or ()),
            tool_call_id=data.get("tool_call_id"),
            name=data.get("name"),
            tier=data.get("tier"),
            model=data.get("model"),
            created_at=float(data.get("created_at") or 0.0),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationTurn:
    """One finished turn: the user's message, any tool exchanges, and the final answer."""

    index: int
    messages: tuple[Message, ...]
    tier: str
    cost_usd: float | None
    tokens: int

    @property
    def user_text(self) -> str:
        return next((m.content for m in self.messages if m.role == "user"), "")

    @property
    def answer(self) -> str:
        return next((m.content for m in reversed(self.messages) if m.role == "assistant"), "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "messages": [m.to_dict() for m in self.messages],
            "tier": self.tier,
            "cost_usd": self.cost_usd,
            "tokens": self.tokens,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConversationTurn:
        return cls(
            index=int(data["index"]),
            messages=tuple(Message.from_dict(m) for m in data["messages"]),
            tier=str(data["tier"]),
            cost_usd=data.get("cost_usd"),
            tokens=int(data.get("tokens") or 0),
        )


class TurnsView(Sequence[ConversationTurn]):
    """The first ``length`` turns of a conversation, frozen at creation, without copying.

    Conversations only ever append turns, so the view stays what it was when it was made.
    """

    __slots__ = ("_length", "_turns")

    def __init__(self, turns: list[ConversationTurn], length: int):
        self._turns = turns
        self._length = length

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> ConversationTurn: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[ConversationTurn]: ...

    def __getitem__(self, index: int | slice) -> ConversationTurn | Sequence[ConversationTurn]:
        if isinstance(index, slice):
            return self._turns[: self._length][index]
        if index < 0:
            index += self._length
        if not 0 <= index < self._length:
            raise IndexError("turn index out of range")
        return self._turns[index]

    def __iter__(self) -> Iterator[ConversationTurn]:
        for i in range(self._length):
            yield self._turns[i]

    def __repr__(self) -> str:
        return f"TurnsView({self._length} turns)"


def _new_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass(slots=True, kw_only=True)
class Conversation:
    """A conversation's state, owned by the caller and passed to every loop call.

    ``turns`` holds every finished turn; the ones before ``summarized_turns`` are covered by the
    rolling ``summary`` and no longer sent verbatim.
    """

    persona_id: str
    id: str = field(default_factory=_new_id)
    turns: list[ConversationTurn] = field(default_factory=list)
    summary: str = ""
    summarized_turns: int = 0
    cost_usd: float = 0.0
    turn_logs: list[Any] = field(default_factory=list, repr=False, compare=False)
    """The turn logs the loop wrote for this conversation, failed turns included (in memory only:
    ``to_dict`` leaves them out). ``turn_logs_to_frame(conversation)`` reads them."""

    @property
    def turn_count(self) -> int:
        return len(self.turns)

    @property
    def previous_tiers(self) -> tuple[str, ...]:
        return tuple(t.tier for t in self.turns)

    @property
    def messages(self) -> tuple[Message, ...]:
        """Every message of every finished turn, oldest first."""
        return tuple(m for t in self.turns for m in t.messages)

    def history(self) -> TurnsView:
        """The finished turns as they are now, as a read-only view (no copy)."""
        return TurnsView(self.turns, len(self.turns))

    def unsummarized(self) -> list[ConversationTurn]:
        return self.turns[self.summarized_turns :]

    def commit_turn(self, turn: ConversationTurn, *, added_cost_usd: float = 0.0) -> None:
        """Append a finished turn (the loop calls this once a turn has succeeded)."""
        if turn.index != len(self.turns):
            raise ValueError(f"turn index {turn.index} does not follow {len(self.turns)} turns")
        self.turns.append(turn)
        self.cost_usd += added_cost_usd

    def commit_summary(self, summary: str, summarized_turns: int, *, added_cost_usd: float = 0.0) -> None:
        """Replace the rolling summary; ``added_cost_usd`` (the summary call) is paid by the newest turn."""
        if not 0 <= summarized_turns <= len(self.turns):
            raise ValueError(f"cannot summarise {summarized_turns} of {len(self.turns)} turns")
        self.summary = summary
        self.summarized_turns = summarized_turns
        if added_cost_usd and self.turns:
            self.cost_usd += added_cost_usd
            last = self.turns[-1]
            if last.cost_usd is not None:
                self.turns[-1] = dataclasses.replace(last, cost_usd=last.cost_usd + added_cost_usd)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "persona_id": self.persona_id,
            "turns": [t.to_dict() for t in self.turns],
            "summary": self.summary,
            "summarized_turns": self.summarized_turns,
            "cost_usd": self.cost_usd,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Conversation:
        return cls(
            id=str(data["id"]),
            persona_id=str(data["persona_id"]),
            turns=[ConversationTurn.from_dict(t) for t in data.get("turns") or ()],
            summary=str(data.get("summary") or ""),
            summarized_turns=int(data.get("summarized_turns") or 0),
            cost_usd=float(data.get("cost_usd") or 0.0),
        )
