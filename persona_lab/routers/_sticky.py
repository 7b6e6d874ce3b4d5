"""Hysteresis for any router: a conversation keeps its tier unless there is a reason to move.

Per-turn routers bounce: small, frontier, small, mid… and every switch changes the voice the
user hears and loses prompt-cache hits. :class:`StickyRouter` wraps a router and keeps the
previous turn's tier unless the move is worth it. It reads the previous tiers from the
conversation history in the routing context, so it keeps no state of its own.
"""

from __future__ import annotations

from persona_lab.core import TIER_RANK, Feature, Router, RoutingContext, RoutingDecision, Verdict, router_name
from persona_lab.routers._params import RouterParams
from persona_lab.routers._tier_choice import configured_tiers

__all__ = ["StickyRouter"]


class StickyRouter(RouterParams):
    """Keep the previous turn's tier unless ``base`` has a good reason to switch.

    Rules, in order, when ``base`` picks a tier other than the previous turn's:

    1. a decision marked ``critical`` (safety or identity turns) always goes through;
    2. if the previous tier is no longer configured, or ``base`` scored tiers and left the
       previous one out (a hard constraint removed it), the switch goes through;
    3. if ``base`` scored both tiers (higher is better), the new tier must beat the previous
       one by at least ``margin``;
    4. a move *down* waits until the conversation has spent ``min_turns`` turns on the
       previous tier; moves up are not delayed.

    ``review`` is passed on to ``base`` when it is an escalating router (a cascade).
    """

    def __init__(self, base: Router, *, margin: float = 0.05, min_turns: int = 2):
        self.base = base
        self.margin = margin
        self.min_turns = min_turns

    @property
    def name(self) -> str:
        return f"sticky-{router_name(self.base)}"

    def route(self, context: RoutingContext) -> RoutingDecision:
        configured = configured_tiers(context, "StickyRouter")
        decision = self.base.route(context)
        previous = context.previous_tier
        if previous is None or previous == decision.tier or previous not in configured:
            return decision
        if decision.features.get("critical"):
            return _annotate(decision, stayed=False, base_tier=decision.tier)
        scores = decision.scores
        if scores and previous not in scores:
            return _annotate(decision, stayed=False, base_tier=decision.tier)
        if decision.tier in scores and previous in scores:
            gain = scores[decision.tier] - scores[previous]
            if gain < self.margin:
                why = f"sticky: stays on {previous}; {decision.tier} would gain {gain:.3f} < margin {self.margin:g}"
                return _stay(decision, previous, why)
        moving_down = TIER_RANK[decision.tier] < TIER_RANK[previous]
        if moving_down:
            dwell = 0
            for tier in reversed(context.previous_tiers):
                if tier != previous:
                    break
                dwell += 1
            if dwell < self.min_turns:
                why = (
                    f"sticky: stays on {previous} ({dwell} of {self.min_turns} turns before moving down "
                    f"to {decision.tier})"
                )
                return _stay(decision, previous, why)
        return _annotate(decision, stayed=False, base_tier=decision.tier)

    async def review(self, context: RoutingContext, decision: RoutingDecision, answer: str) -> Verdict:
        review = getattr(self.base, "review", None)
        if review is None:
            return Verdict(accept=True, reason=f"{router_name(self.base)} does not review answers")
        verdict: Verdict = await review(context, decision, answer)
        return verdict


def _annotate(decision: RoutingDecision, *, stayed: bool, base_tier: str) -> RoutingDecision:
    features: dict[str, Feature] = {**decision.features, "sticky": stayed, "base_tier": base_tier}
    return RoutingDecision(tier=decision.tier, reason=decision.reason, scores=decision.scores, features=features)


def _stay(decision: RoutingDecision, previous: str, why: str) -> RoutingDecision:
    features: dict[str, Feature] = {**decision.features, "sticky": True, "base_tier": decision.tier}
    return RoutingDecision(
        tier=previous, reason=f"{why} (base: {decision.reason})", scores=decision.scores, features=features
    )
