"""The oracle: for benchmark sets only, it reads each turn's recorded outcomes and picks the best."""

from __future__ import annotations

import math

from persona_lab.core import RouterError, RoutingContext, RoutingDecision, check_tiers
from persona_lab.routers._params import RouterParams
from persona_lab.routers._tier_choice import configured_tiers

__all__ = ["OracleRouter"]


class OracleRouter(RouterParams):
    """Choose the cheapest configured tier whose recorded score is the best (within ``tolerance``).

    It reads ``context.metadata["outcomes"]`` = ``{tier: score}`` (higher is better), which the
    benchmark harness passes with every turn. It is an upper bound to compare routers against,
    not a router for live traffic.
    """

    def __init__(self, *, tolerance: float = 0.0):
        self.tolerance = tolerance

    @property
    def name(self) -> str:
        return "oracle"

    def route(self, context: RoutingContext) -> RoutingDecision:
        configured = configured_tiers(context, "OracleRouter")
        outcomes = context.metadata.get("outcomes")
        if outcomes is None:
            raise RouterError(
                f"OracleRouter: turn {context.turn_index} of conversation {context.conversation_id} has "
                "no recorded outcomes; pass metadata={'outcomes': {tier: score, ...}} (benchmark sets only)"
            )
        if not hasattr(outcomes, "items"):
            raise RouterError(f"OracleRouter: metadata['outcomes'] must map tier to score, got {outcomes!r}")
        check_tiers(outcomes, where="OracleRouter metadata['outcomes']")
        scores: dict[str, float] = {}
        for tier in configured:
            if tier not in outcomes or outcomes[tier] is None:
                continue
            value = outcomes[tier]
            try:
                score = float(value)
            except (TypeError, ValueError):
                raise RouterError(f"OracleRouter: outcome for tier {tier!r} is not a number: {value!r}") from None
            if not math.isnan(score):
                scores[tier] = score
        if not scores:
            raise RouterError(
                f"OracleRouter: metadata['outcomes'] has no score for any configured tier "
                f"(configured: {', '.join(configured)}; outcomes for: {', '.join(map(str, outcomes)) or 'none'})"
            )
        best = max(scores.values())
        chosen = next(t for t in configured if t in scores and scores[t] >= best - self.tolerance)
        return RoutingDecision(
            tier=chosen, reason=f"oracle: cheapest tier scoring {scores[chosen]:g} (best {best:g})", scores=scores
        )
