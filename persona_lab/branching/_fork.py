"""Fork a conversation at a turn: the first k turns under a new id, with a record of the parent."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from persona_lab.core import Conversation, UsageError

__all__ = ["Branch", "BranchOrigin", "fork"]


@dataclass(frozen=True, slots=True, kw_only=True)
class BranchOrigin:
    """Where a branch came from: the parent conversation and the number of turns it shares."""

    parent_id: str
    at_turn: int
    parent_persona_id: str
    label: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "parent_id": self.parent_id,
            "at_turn": self.at_turn,
            "parent_persona_id": self.parent_persona_id,
            "label": self.label,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BranchOrigin:
        return cls(
            parent_id=str(data["parent_id"]),
            at_turn=int(data["at_turn"]),
            parent_persona_id=str(data["parent_persona_id"]),
            label=str(data.get("label") or ""),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Branch:
    """A forked conversation and its origin.

    ``conversation`` is an ordinary :class:`Conversation` (the caller owns it): any loop runs
    turns on it, compacts it and writes its turn logs; ``to_dict``/``from_dict`` resume it,
    origin included, in another process.
    """

    conversation: Conversation
    origin: BranchOrigin

    @property
    def id(self) -> str:
        return self.conversation.id

    def to_dict(self) -> dict[str, Any]:
        return {"conversation": self.conversation.to_dict(), "origin": self.origin.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Branch:
        return cls(
            conversation=Conversation.from_dict(data["conversation"]),
            origin=BranchOrigin.from_dict(data["origin"]),
        )


def fork(
    conversation: Conversation,
    *,
    at_turn: int,
    id: str | None = None,
    persona_id: str | None = None,
    label: str = "",
) -> Branch:
    """A new conversation holding the first ``at_turn`` turns of ``conversation``.

    ``persona_id`` retargets the branch to a persona variant (a loop only runs conversations of
    its own persona). The rolling summary is kept when it covers only shared turns, and dropped
    otherwise (the branch's loop compacts again when it needs to). ``cost_usd`` is the shared
    turns' cost.
    """
    if not 0 <= at_turn <= conversation.turn_count:
        raise UsageError(
            f"cannot fork conversation {conversation.id} at turn {at_turn}: it has {conversation.turn_count} "
            f"turns (at_turn must be 0..{conversation.turn_count})"
        )
    turns = list(conversation.turns[:at_turn])
    keep_summary = conversation.summarized_turns <= at_turn
    branch = Conversation(
        persona_id=persona_id or conversation.persona_id,
        id=id or f"{conversation.id}-b{at_turn}-{uuid.uuid4().hex[:6]}",
        turns=turns,
        summary=conversation.summary if keep_summary else "",
        summarized_turns=conversation.summarized_turns if keep_summary else 0,
        cost_usd=sum(t.cost_usd or 0.0 for t in turns),
    )
    origin = BranchOrigin(
        parent_id=conversation.id, at_turn=at_turn, parent_persona_id=conversation.persona_id, label=label
    )
    return Branch(conversation=branch, origin=origin)
