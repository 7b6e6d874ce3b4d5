"""The routing protocol: what a router sees, what it decides, and how it may ask to escalate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from persona_lab.core._messages import ConversationTurn, Message
from persona_lab.core._preferences import RoutingPreferences
from persona_lab.core._tiers import TierInfo
from persona_lab.core._types import Feature

__all__ = [
    "EscalatingRouter",
    "Router",
    "RoutingContext",
    "RoutingDecision",
    "Verdict",
    "router_name",
]

@dataclass(frozen=True, slots=True, kw_only=True)
class RoutingContext:
    """Everything a router may use to choose a tier for one turn or agent step.

    ``history`` is every finished turn of the conversation, oldest first (a read-only view).
    ``tiers`` holds only configured tiers. ``prompt_tokens`` estimates the whole prompt (persona
    block, summary, memories, history and the current message). ``metadata`` carries caller
    labels such as a benchmark item id.
    """

    conversation_id: str
    turn_index: int
    message: str
    history: Sequence[ConversationTurn]
    prompt_tokens: int
    tools_needed: bool
    tool_names: tuple[str, ...]
    preferences: RoutingPreferences
    session_cost_usd: float
    tiers: Mapping[str, TierInfo]
    persona_id: str = ""
    constraints: tuple[str, ...] = ()
    step_index: int | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def configured(self) -> tuple[str, ...]:
        return tuple(self.tiers)

    @property
    def previous_tiers(self) -> tuple[str, ...]:
        """The tier of each earlier turn, oldest first."""
        return tuple(t.tier for t in self.history)

    @property
    def previous_tier(self) -> str | None:
        return self.history[-1].tier if self.history else None

    @property
    def messages(self) -> tuple[Message, ...]:
        """Every message of the earlier turns, oldest first."""
        return tuple(m for t in self.history for m in t.messages)


@dataclass(frozen=True, slots=True, kw_only=True)
class RoutingDecision:
    """A router's choice: the tier, a short readable reason, and the numbers behind it."""

    tier: str
    reason: str
    scores: Mapping[str, float] = field(default_factory=dict)
    features: Mapping[str, Feature] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "reason": self.reason,
            "scores": dict(self.scores),
            "features": dict(self.features),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """A cascade router's review of an answer: accept it, or escalate to another tier.

    ``cost_usd`` and tokens are what the check itself cost (a judge call), logged with the turn.
    """

    accept: bool
    reason: str
    escalate_to: str | None = None
    cost_usd: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0


@runtime_checkable
class Router(Protocol):
    """Anything with ``route(context) -> RoutingDecision``."""

    def route(self, context: RoutingContext) -> RoutingDecision: ...


@runtime_checkable
class EscalatingRouter(Router, Protocol):
    """A router that reviews each answer after generation and may ask for a stronger tier.

    ``review`` gets the turn's decision with ``tier`` set to the tier that produced ``answer``.
    """

    async def review(self, context: RoutingContext, decision: RoutingDecision, answer: str) -> Verdict: ...


def router_name(router: object) -> str:
    """The name a turn log records for ``router``."""
    name = getattr(router, "name", None)
    return name if isinstance(name, str) and name else type(router).__name__
