"""Hard constraints first, then the tier whose capability best fits the turn's difficulty.

The filter drops tiers that cannot serve the turn: the prompt does not fit the context window,
tools are needed but unsupported, the provider is not on the persona's allow-list, or the
estimated cost breaks the persona's per-turn cap or what is left of its session cap. The
survivors are scored: a tier is penalised for capability below the difficulty (steeply) and
above it (gently, that is wasted money), plus ``cost_weight`` × its relative cost and
``latency_weight`` × its relative latency. Difficulty spans [0, 1], so every tier can win.

Unfitted, the capabilities are hand-set (:data:`DEFAULT_CAPABILITIES`). :meth:`ConstraintRouter.fit`
calibrates them from recorded outcomes: it learns the difficulty cutpoints where one tier takes
over from the next (maximising training quality − ``cost_weight`` × relative cost, every tier
kept between 5% and 95% of the turns) and then routes each turn to the feasible tier of its
difficulty band.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from persona_lab.core import (
    TIER_RANK,
    Feature,
    RouterError,
    RoutingContext,
    RoutingDecision,
    RoutingPreferences,
    TierInfo,
    check_tiers,
    nearest_tier,
)
from persona_lab.routers._difficulty import Difficulty, estimate_difficulty
from persona_lab.routers._params import RouterParams
from persona_lab.routers._tier_choice import configured_tiers, pinned_tier


def _bare_context(prompt: str) -> RoutingContext:
    """A context holding only a training prompt, for the difficulty estimator."""
    return RoutingContext(conversation_id="fit", turn_index=0, message=prompt, history=(), prompt_tokens=0,
                          tools_needed=False, tool_names=(), preferences=RoutingPreferences(), session_cost_usd=0.0,
                          tiers={})

__all__ = ["DEFAULT_CAPABILITIES", "ConstraintRouter"]

DEFAULT_CAPABILITIES: Mapping[str, float] = MappingProxyType({"small": 0.2, "mid": 0.55, "frontier": 0.9})
"""Where each tier's sweet spot lies on the difficulty scale [0, 1]."""

DifficultyEstimator = Callable[[RoutingContext], float | Difficulty]


class ConstraintRouter(RouterParams):
    """Filter tiers by hard constraints, then pick the best sweet-spot score.

    Parameters
    ----------
    capabilities:
        Tier → capability on [0, 1] (default :data:`DEFAULT_CAPABILITIES`).
    cost_weight:
        λ: weight of a tier's estimated turn cost, scaled so the dearest surviving tier is 1.
    latency_weight:
        Weight of a tier's ``latency_s``, scaled so the slowest surviving tier is 1 (unknown: 0).
    under_weight, over_weight:
        Penalty per unit of capability below / above the difficulty.
    expected_output_tokens:
        Answer length assumed when estimating a turn's cost.
    difficulty:
        ``context -> float`` (or :class:`Difficulty`) on [0, 1]; default :func:`estimate_difficulty`.
    respect_pin:
        Follow the persona's pinned tier.
    """

    def __init__(
        self,
        *,
        capabilities: Mapping[str, float] | None = None,
        cost_weight: float = 0.3,
        latency_weight: float = 0.1,
        under_weight: float = 4.0,
        over_weight: float = 1.0,
        expected_output_tokens: int = 400,
        difficulty: DifficultyEstimator | None = None,
        respect_pin: bool = True,
    ):
        self.capabilities = capabilities
        self.cost_weight = cost_weight
        self.latency_weight = latency_weight
        self.under_weight = under_weight
        self.over_weight = over_weight
        self.expected_output_tokens = expected_output_tokens
        self.difficulty = difficulty
        self.respect_pin = respect_pin
        self._params_changed()

    def _params_changed(self) -> None:
        if self.capabilities is not None:
            check_tiers(self.capabilities, where="ConstraintRouter capabilities")
        self._capabilities = {**DEFAULT_CAPABILITIES, **(self.capabilities or {})}

    @property
    def name(self) -> str:
        return "constraint"

    # -- calibration from recorded outcomes ------------------------------------------------------

    def fit(self, frame: Any, y: None = None) -> ConstraintRouter:
        """Learn the difficulty cutpoints from a training frame (``prompt``, ``quality_<tier>``…).

        Fitted attributes: ``tiers_`` (cheapest first), ``cutpoints_`` (one fewer than tiers),
        ``capabilities_`` (the band midpoints, for reading), ``n_samples_fit_``.
        """
        import numpy as np

        from persona_lab.routers._constraint_fit import fit_cutpoints
        from persona_lab.routers._training_frame import training_set

        del y
        data = training_set(frame, "ConstraintRouter")
        if len(data.tiers) < 2:
            raise RouterError("ConstraintRouter.fit needs outcomes of at least two tiers")
        values = np.array([self._difficulty(_bare_context(p)).value for p in data.prompts], dtype=float)
        if data.costs is not None and max(data.costs.values()) > min(data.costs.values()):
            low, high = min(data.costs.values()), max(data.costs.values())
            relative = [(data.costs[t] - low) / (high - low) for t in data.tiers]
        else:
            relative = [n / (len(data.tiers) - 1) for n in range(len(data.tiers))]
        cuts = fit_cutpoints(values, data.quality, relative, cost_weight=self.cost_weight)
        edges = [0.0, *cuts, 1.0]
        self.tiers_: tuple[str, ...] = data.tiers
        self.cutpoints_: tuple[float, ...] = cuts
        self.capabilities_: dict[str, float] = {t: (edges[n] + edges[n + 1]) / 2 for n, t in enumerate(data.tiers)}
        self.n_samples_fit_: int = len(values)
        return self

    # -- the hard filter -----------------------------------------------------------------------

    def violations(self, context: RoutingContext, info: TierInfo) -> list[str]:
        """Every hard constraint ``info``'s tier breaks for this turn (empty: it may serve it)."""
        problems: list[str] = []
        prefs = context.preferences
        if context.prompt_tokens > info.prompt_budget:
            problems.append(f"prompt of {context.prompt_tokens} tokens exceeds its budget of {info.prompt_budget}")
        if context.tools_needed and not info.supports_tools:
            problems.append("tools are needed but it does not support tools")
        if prefs.allowed_providers is not None and info.provider not in prefs.allowed_providers:
            problems.append(f"provider {info.provider!r} is not in allowed_providers")
        cost = info.estimated_cost(context.prompt_tokens, self.expected_output_tokens)
        if cost is not None:
            cap = prefs.max_cost_per_turn_usd
            if cap is not None and cost > cap:
                problems.append(f"estimated ${cost:.4f} exceeds max_cost_per_turn_usd ${cap:.4f}")
            session_cap = prefs.max_cost_per_session_usd
            if session_cap is not None and cost > session_cap - context.session_cost_usd:
                left = max(0.0, session_cap - context.session_cost_usd)
                problems.append(f"estimated ${cost:.4f} exceeds the ${left:.4f} left of max_cost_per_session_usd")
        return problems

    # -- routing ---------------------------------------------------------------------------------

    def _difficulty(self, context: RoutingContext) -> Difficulty:
        if self.difficulty is None:
            return estimate_difficulty(context)
        value = self.difficulty(context)
        if isinstance(value, Difficulty):
            return value
        number = float(value)
        if not (0.0 <= number <= 1.0) or math.isnan(number):
            raise RouterError(f"ConstraintRouter: difficulty estimator returned {value!r}, expected a number in [0, 1]")
        return Difficulty(number, "custom")

    def route(self, context: RoutingContext) -> RoutingDecision:
        configured = configured_tiers(context, "ConstraintRouter")
        if self.respect_pin:
            pinned = pinned_tier(context, "ConstraintRouter")
            if pinned is not None:
                tier = nearest_tier(pinned, configured)
                return RoutingDecision(tier=tier, reason=f"persona pins tier {pinned}", features={"rule": "pinned"})
        infos = {t: context.tiers[t] for t in configured}
        problems = {t: self.violations(context, infos[t]) for t in configured}
        features: dict[str, Feature] = {f"excluded_{t}": "; ".join(p) for t, p in problems.items() if p}
        feasible = [t for t in configured if not problems[t]]
        if not feasible:
            return self._least_bad(context, configured, infos, problems, features)

        difficulty = self._difficulty(context)
        if hasattr(self, "cutpoints_"):
            return self._route_fitted(difficulty, feasible, features, configured, problems)
        costs = {t: infos[t].estimated_cost(context.prompt_tokens, self.expected_output_tokens) for t in feasible}
        known = [c for c in costs.values() if c is not None]
        top_cost = max(known, default=0.0)
        latencies = [infos[t].latency_s for t in feasible if infos[t].latency_s is not None]
        top_latency = max((x for x in latencies if x is not None), default=0.0)
        scores: dict[str, float] = {}
        for tier in feasible:
            capability = self._capabilities[tier]
            gap = difficulty.value - capability
            fit = self.under_weight * max(0.0, gap) + self.over_weight * max(0.0, -gap)
            cost = costs[tier]
            cost_norm = (1.0 if cost is None else cost / top_cost) if top_cost > 0 else 0.0
            latency = infos[tier].latency_s
            latency_norm = latency / top_latency if latency is not None and top_latency > 0 else 0.0
            scores[tier] = -fit - self.cost_weight * cost_norm - self.latency_weight * latency_norm
            if cost is not None:
                features[f"cost_{tier}"] = cost
        chosen = max(feasible, key=lambda t: (scores[t], -TIER_RANK[t]))
        features.update(
            difficulty=round(difficulty.value, 4),
            difficulty_kind=difficulty.kind,
            length=difficulty.length,
            reasoning=difficulty.reasoning,
            code_or_math=difficulty.code_or_math,
            questions=difficulty.questions,
            capability=self._capabilities[chosen],
            critical=difficulty.kind == "critical",
        )
        excluded = [t for t in configured if problems[t]]
        reason = (
            f"difficulty {difficulty.value:.2f} ({difficulty.kind}) fits {chosen} "
            f"(capability {self._capabilities[chosen]:.2f}) best"
        )
        if excluded:
            reason += f"; excluded {', '.join(excluded)}"
        return RoutingDecision(tier=chosen, reason=reason, scores=scores, features=features)

    def _route_fitted(self, difficulty: Difficulty, feasible: list[str], features: dict[str, Feature],
                      configured: tuple[str, ...], problems: Mapping[str, list[str]]) -> RoutingDecision:
        """The fitted band of the difficulty; the nearest feasible tier when that one is excluded."""
        from persona_lab.routers._constraint_fit import tier_for_difficulty

        band = self.tiers_[tier_for_difficulty(difficulty.value, self.cutpoints_)]
        chosen = band if band in feasible else nearest_tier(band, feasible)
        features.update(difficulty=round(difficulty.value, 4), difficulty_kind=difficulty.kind,
                        cutpoints=", ".join(f"{c:.3f}" for c in self.cutpoints_), rule="fitted")
        reason = f"difficulty {difficulty.value:.2f} ({difficulty.kind}) falls in the fitted band of {band}"
        excluded = [t for t in configured if problems[t]]
        if chosen != band:
            reason += f"; {band} is excluded, nearest feasible: {chosen}"
        elif excluded:
            reason += f"; excluded {', '.join(excluded)}"
        return RoutingDecision(tier=chosen, reason=reason, features=features)

    def _least_bad(
        self,
        context: RoutingContext,
        configured: tuple[str, ...],
        infos: Mapping[str, TierInfo],
        problems: Mapping[str, list[str]],
        features: dict[str, Feature],
    ) -> RoutingDecision:
        """No tier passes: keep the allow-list (a policy), then break the fewest constraints."""
        allowed_providers = context.preferences.allowed_providers
        allowed = [t for t in configured if allowed_providers is None or infos[t].provider in allowed_providers]
        if not allowed:
            detail = "; ".join(f"{t}: {', '.join(p)}" for t, p in problems.items())
            raise RouterError(
                f"ConstraintRouter: no configured tier is allowed for persona {context.persona_id!r} ({detail})"
            )
        chosen = min(allowed, key=lambda t: (len(problems[t]), -infos[t].prompt_budget, TIER_RANK[t]))
        features["rule"] = "least_bad"
        return RoutingDecision(
            tier=chosen,
            reason=f"no tier passes every constraint; {chosen} breaks the fewest ({'; '.join(problems[chosen])})",
            features=features,
        )
