"""What every learned router shares: fitting from an outcome frame, the threshold, routing.

A learned router predicts each fitted tier's quality for a text and picks the best utility
``quality − threshold × relative_cost`` among the configured tiers, where relative cost runs
from 0 (cheapest candidate) to 1 (dearest). With two candidates that is exactly the agreed
threshold rule: the stronger tier iff ``score = q_strong − q_weak >= threshold``. With three,
the middle tier sits at its relative cost, so ``threshold`` acts as the cost weight λ.
Relative costs come from the training frame's ``cost_<tier>`` columns, else from the
configured tiers' prices, else from tier order (0, ½, 1).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils.validation import check_is_fitted

from persona_lab.core import (
    TIER_RANK,
    Feature,
    NotFittedError,
    RouterError,
    RoutingContext,
    RoutingDecision,
    nearest_tier,
)
from persona_lab.routers._embedders import Embedder, embed, resolve_embedder
from persona_lab.routers._tier_choice import configured_tiers, pinned_tier
from persona_lab.routers._training_frame import TrainingSet, training_set

__all__ = ["LearnedRouter"]

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


class LearnedRouter(BaseEstimator):  # type: ignore[misc]
    """Base of the learned routers (scikit-learn conventions: params in ``__init__``, ``fit`` → self).

    Subclasses set ``embedder`` and ``threshold`` in ``__init__`` and implement
    :meth:`_fit_model` and :meth:`_predict_rows`.

    Fitted attributes: ``embedder_``, ``tiers_`` (fitted tiers, cheapest first),
    ``tier_costs_`` (mean USD per tier from ``cost_<tier>`` columns, or None),
    ``n_samples_fit_``, ``dropped_rows_`` (training rows without a quality for every tier).
    """

    embedder: object
    threshold: float
    respect_pin: bool

    # -- to implement --------------------------------------------------------------------------

    def _fit_model(self, X: Any, data: TrainingSet) -> None:
        raise NotImplementedError

    def _predict_rows(self, X: Any) -> FloatArray:
        """Predicted quality, shape (rows, len(tiers_)); each row computed on its own."""
        raise NotImplementedError

    def _validate_params(self) -> None:
        if not isinstance(self.threshold, int | float) or math.isnan(self.threshold):
            raise RouterError(f"{type(self).__name__}: threshold must be a number, got {self.threshold!r}")

    @property
    def name(self) -> str:
        return type(self).__name__.removesuffix("Router").lower()

    # -- fitting ---------------------------------------------------------------------------------

    def fit(self, frame: pd.DataFrame, y: None = None) -> LearnedRouter:
        """Learn from a wide (``prompt``, ``quality_<tier>``…) or long (``prompt``, ``tier``, ``score``) frame."""
        del y
        who = type(self).__name__
        self._validate_params()
        data = training_set(frame, who)
        embedder = resolve_embedder(self.embedder, data.prompts, who)
        X = embed(embedder, data.prompts, who)
        self.embedder_: Embedder = embedder
        self.tiers_: tuple[str, ...] = data.tiers
        self.tier_costs_: Mapping[str, float] | None = data.costs
        self.n_samples_fit_: int = len(data.prompts)
        self.dropped_rows_: int = data.dropped_rows
        self._fit_model(X, data)
        return self

    def _check_fitted(self) -> None:
        try:
            check_is_fitted(self, "tiers_")
        except SklearnNotFittedError:
            raise NotFittedError(
                f"{type(self).__name__} is not fitted yet; call fit(frame) with a training frame first"
            ) from None

    # -- prediction ------------------------------------------------------------------------------

    def predict_quality(self, texts: Sequence[str]) -> pd.DataFrame:
        """Predicted quality of each fitted tier for each text (columns: ``tiers_``)."""
        self._check_fitted()
        return pd.DataFrame(self._quality(texts), columns=list(self.tiers_))

    def _quality(self, texts: Sequence[str]) -> FloatArray:
        if isinstance(texts, str):
            raise RouterError(f"{type(self).__name__}: pass a list of texts, not one string")
        if len(texts) == 0:
            return np.zeros((0, len(self.tiers_)))
        return self._predict_rows(embed(self.embedder_, texts, type(self).__name__))

    def score_texts(self, texts: Sequence[str]) -> FloatArray:
        """One float per text, higher = needs a stronger tier: ``q_strongest − q_cheapest``.

        The tiers are the strongest and cheapest *fitted* tiers; with exactly those two tiers
        configured, :meth:`route` picks the stronger iff ``score >= threshold``.
        """
        self._check_fitted()
        quality = self._quality(texts)
        return quality[:, -1] - quality[:, 0]

    def threshold_for_share(self, texts: Sequence[str], strong_share: float) -> float:
        """The threshold that sends ``strong_share`` of ``texts`` to the stronger of two tiers.

        RouteLLM's calibration: pick the cost point on sample traffic. Tied scores go together,
        so the share reached can be a little higher.
        """
        if not 0.0 <= strong_share <= 1.0:
            raise RouterError(f"{type(self).__name__}: strong_share must be in [0, 1], got {strong_share!r}")
        scores = np.sort(self.score_texts(texts))[::-1]
        if len(scores) == 0:
            raise RouterError(f"{type(self).__name__}: threshold_for_share needs at least one text")
        count = math.ceil(strong_share * len(scores))
        if count == 0:
            return float(np.nextafter(scores[0], np.inf))
        return float(scores[count - 1])

    # -- routing ---------------------------------------------------------------------------------

    def _relative_costs(self, candidates: Sequence[str], context: RoutingContext) -> dict[str, float]:
        """0 for the cheapest candidate, 1 for the dearest: from training costs, prices, or rank."""
        raw: dict[str, float] | None = None
        if self.tier_costs_ is not None:
            raw = {t: self.tier_costs_[t] for t in candidates}
        else:
            infos = [context.tiers[t] for t in candidates]
            if all(i.input_per_mtok is not None and i.output_per_mtok is not None for i in infos):
                raw = {i.name: (i.input_per_mtok or 0.0) + (i.output_per_mtok or 0.0) for i in infos}
        if raw is None or max(raw.values()) == min(raw.values()):
            last = len(candidates) - 1
            return {t: n / last for n, t in enumerate(candidates)}
        low, high = min(raw.values()), max(raw.values())
        return {t: (raw[t] - low) / (high - low) for t in candidates}

    def route(self, context: RoutingContext) -> RoutingDecision:
        self._check_fitted()
        who = type(self).__name__
        configured = configured_tiers(context, who)
        if getattr(self, "respect_pin", True):
            pinned = pinned_tier(context, who)
            if pinned is not None:
                return RoutingDecision(tier=nearest_tier(pinned, configured), reason=f"persona pins tier {pinned}")
        candidates = [t for t in self.tiers_ if t in configured]
        if not candidates:
            raise RouterError(
                f"{who} was fitted on tiers {', '.join(self.tiers_)} but none of them is configured "
                f"(configured: {', '.join(configured)}); refit on outcomes of the configured tiers"
            )
        if len(candidates) == 1:
            return RoutingDecision(
                tier=candidates[0], reason=f"{candidates[0]} is the only fitted tier that is configured",
            )
        row = self._quality([context.message])[0]
        quality = {t: float(row[self.tiers_.index(t)]) for t in candidates}
        weak, strong = candidates[0], candidates[-1]
        score = quality[strong] - quality[weak]
        features: dict[str, Feature] = {f"q_{t}": q for t, q in quality.items()}
        features.update(score=score, threshold=float(self.threshold))
        if len(candidates) == 2:
            chosen = strong if score >= self.threshold else weak
            scores = {weak: quality[weak], strong: quality[strong] - float(self.threshold)}
            relation = ">=" if chosen == strong else "<"
            reason = f"score {score:.3f} {relation} threshold {self.threshold:g} → {chosen}"
            return RoutingDecision(tier=chosen, reason=reason, scores=scores, features=features)
        cost = self._relative_costs(candidates, context)
        scores = {t: quality[t] - float(self.threshold) * cost[t] for t in candidates}
        chosen = max(candidates, key=lambda t: (scores[t], -TIER_RANK[t]))
        reason = (
            f"best utility quality − {self.threshold:g}×relative cost: {chosen} "
            f"(predicted quality {quality[chosen]:.3f})"
        )
        return RoutingDecision(tier=chosen, reason=reason, scores=scores, features=features)
