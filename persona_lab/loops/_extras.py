"""Per-turn additions a caller makes to one turn: instructions, tools, a tier preference, labels.

A journey uses them to run each step on the ordinary loop; anything else that shapes single
turns (an experiment, a guided form) can too. The loop stays stateless: extras come with the
call, never stick to the loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from persona_lab.core import RoutingDecision, check_tier
from persona_lab.loops._tools import Tool, Toolbox

__all__ = ["TurnExtras"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TurnExtras:
    """What one turn adds to the loop's own configuration.

    instructions:
        Appended to the system prompt (after the persona block; never dropped for budget).
    tools:
        Offered this turn on top of the loop's toolbox (the caller's own tools: no allow-list).
    allowed_tools:
        When set, only these of the loop's tools are offered this turn.
    tier_preference:
        The tier this turn should use. The router still decides first; its choice is kept in
        the decision's reason and in ``features["router_tier"]``.
    labels:
        Called when the turn log is built (after tools ran); its string labels go into the
        turn log's ``labels``.
    """

    instructions: str = ""
    tools: tuple[Tool, ...] = ()
    allowed_tools: tuple[str, ...] | None = None
    tier_preference: str | None = None
    tier_reason: str = ""
    labels: Callable[[], Mapping[str, str]] | None = None

    def __post_init__(self) -> None:
        if self.tier_preference is not None:
            check_tier(self.tier_preference, where="TurnExtras.tier_preference")

    def toolbox(self, base: Toolbox) -> Toolbox:
        """The tools of this turn: ``base`` (restricted to ``allowed_tools``) plus ``tools``."""
        if self.allowed_tools is None and not self.tools:
            return base
        kept = base if self.allowed_tools is None else base.allowed(self.allowed_tools)
        if not self.tools:
            return kept
        return kept.extended(self.tools)

    def decide(self, decision: RoutingDecision) -> RoutingDecision:
        """The router's decision with this turn's tier preference applied."""
        tier = self.tier_preference
        if tier is None or tier == decision.tier:
            return decision
        why = self.tier_reason or f"the turn prefers {tier}"
        return replace(
            decision,
            tier=tier,
            reason=f"{why} (router chose {decision.tier}: {decision.reason})",
            features={**decision.features, "router_tier": decision.tier},
        )
