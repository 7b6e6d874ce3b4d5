"""What every learned router shares: fitting from an outcome frame, the cost knob, routing.

A learned router predicts each fitted tier's quality for a text and picks the best utility
``quality − λ × relative_cost`` among the configured tiers, where relative cost runs from 0
(cheapest candidate) to 1 (dearest). With two candidates that is exactly the agreed threshold
rule: the stronger tier iff ``score = q_strong − q_weak >= λ``. With three, the middle tier sits
at its relative cost. Relative costs come from the training frame's ``cost_<tier>`` columns,
else from the configured tiers' prices, else from tier order (0, ½, 1).

λ is the ``threshold`` parameter. Left at ``None`` (the default), ``fit`` chooses it from the
training data — the *knee*: 20% of the training rows (at most 3,000, a seeded sample) are held
out of the model; on the model's predictions for them, the λ whose operating point lies
furthest above the straight line from always-cheapest to always-dearest tier, among the points
sending at most 90% of the rows to one tier (``persona_lab.routers.knee_lambda``).
``calibrate(frame, target_share=… | budget=…)`` sets it for a share of calls on the dearest tier
or a mean cost per turn instead, as RouteLLM calibrates its thresholds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
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
from persona_lab.routers._utility import (
    Knee,
    knee_lambda,
    lambda_for_budget,
    lambda_for_share,
    relative_costs,
    utility_choice,
)

__all__ = ["LearnedRouter"]

FloatArray = np.ndarray[Any, np.dtype[np.float64]]

_CALIBRATION_SHARE = 0.2
_CALIBRATION_ROWS = 3000
"""λ is chosen on a held-out calibration share of the training rows (at most this many; a seeded sample)."""


def _split_calibration(data: TrainingSet) -> tuple[TrainingSet, TrainingSet | None]:
    """(the rows the model learns from, the held-out calibration rows); no split below 40 rows."""
    n = len(data.prompts)
    size = min(_CALIBRATION_ROWS, int(n * _CALIBRATION_SHARE))
    if n < 40 or size < 8:
        return data, None
    order = np.random.default_rng(0).permutation(n)
    held, kept = np.sort(order[:size]), np.sort(order[size:])

    def part(rows: Any) -> TrainingSet:
        return replace(data, prompts=[data.prompts[i] for i in rows], quality=data.quality[rows])

    return part(kept), part(held)


class LearnedRouter(BaseEstimator):  # type: ignore[misc]
    """Base of the learned routers (scikit-learn conventions: params in ``__init__``, ``fit`` → self).

    Subclasses set ``embedder`` and ``threshold`` in ``__init__`` and implement
    :meth:`_fit_model` and :meth:`_predict_rows`.

    Fitted attributes: ``embedder_``, ``tiers_`` (fitted tiers, cheapest first),
    ``tier_costs_`` (mean USD per tier from ``cost_<tier>`` columns, or None),
    ``n_samples_fit_``, ``dropped_rows_`` (training rows without a quality for every tier),
    ``threshold_`` (λ chosen at fit when ``threshold`` is None, else ``threshold``),
    ``knee_`` (how it was chosen, or None).
    """

    embedder: object
    threshold: float | None
    respect_pin: bool

    # -- to implement --------------------------------------------------------------------------

    def _fit_model(self, X: Any, data: TrainingSet) -> None:
        raise NotImplementedError

    def _predict_rows(self, X: Any) -> FloatArray:
        """Predicted quality, shape (rows, len(tiers_)); each row computed on its own."""
        raise NotImplementedError

    def _validate_params(self) -> None:
        if self.threshold is None:
            return
        if not isinstance(self.threshold, int | float) or math.isnan(self.threshold):
            raise RouterError(f"{type(self).__name__}: threshold must be a number or None (chosen at fit), "
                              f"got {self.threshold!r}")

    @property
    def name(self) -> str:
        return type(self).__name__.removesuffix("Router").lower()

    # -- fitting ---------------------------------------------------------------------------------

    def fit(self, frame: pd.DataFrame, y: None = None) -> LearnedRouter:
        """Learn from a wide (``prompt``, ``quality_<tier>``…) or long (``prompt``, ``tier``, ``score``) frame.

        With ``threshold=None`` a calibration share of the rows (20%, at most 3,000, a seeded
        sample) is held out of the model and used to choose λ (the knee); otherwise every row fits.
        """
        del y
        who = type(self).__name__
        self._validate_params()
        data = training_set(frame, who)
        calibration: TrainingSet | None = None
        if self.threshold is None:
            data, calibration = _split_calibration(data)
        embedder = resolve_embedder(self.embedder, data.prompts, who)
        X = embed(embedder, data.prompts, who)
        self.embedder_: Embedder = embedder
        self.tiers_: tuple[str, ...] = data.tiers
        self.tier_costs_: Mapping[str, float] | None = data.costs
        self.n_samples_fit_: int = len(data.prompts)
        self.dropped_rows_: int = data.dropped_rows
        self._fit_model(X, data)
        self.knee_: Knee | None = None
        if self.threshold is None:
            held = calibration if calibration is not None else data
            self.knee_ = knee_lambda(self._quality(held.prompts), held.quality, self.relative_tier_costs())
            self.threshold_: float = self.knee_.lam
        else:
            self.threshold_ = float(self.threshold)
        return self

    @property
    def lambda_(self) -> float:
        """The λ in use: the ``threshold`` parameter, else the one chosen at fit."""
        self._check_fitted()
        return float(self.threshold) if self.threshold is not None else float(self.threshold_)

    def relative_tier_costs(self) -> FloatArray:
        """Relative cost of each fitted tier (0 cheapest … 1 dearest): training costs, else tier order."""
        self._check_fitted()
        if self.tier_costs_ is not None:
            return relative_costs([self.tier_costs_[t] for t in self.tiers_])
        return relative_costs([0.0] * len(self.tiers_))

    def predict_tiers(self, texts: Sequence[str], lam: float | None = None) -> list[str]:
        """The fitted tier each text goes to at ``lam`` (default: :attr:`lambda_`), all fitted tiers configured."""
        quality = self._quality(texts)
        chosen = utility_choice(quality, self.relative_tier_costs(), self.lambda_ if lam is None else lam)
        return [self.tiers_[int(k)] for k in chosen]

    def calibrate(self, frame: pd.DataFrame | Sequence[str], *, target_share: float | None = None,
                  budget: float | None = None) -> LearnedRouter:
        """Set λ (``threshold``) from sample traffic: a share of texts on the dearest tier, or a budget.

        ``frame``: texts, or a frame with a ``prompt`` column (and ``cost_<tier>`` columns for a
        budget in USD per turn; without them the budget is in relative cost, 0 … 1, per turn).
        Give exactly one of ``target_share`` (0 … 1) and ``budget``. Returns ``self``.
        """
        self._check_fitted()
        who = type(self).__name__
        if (target_share is None) == (budget is None):
            raise RouterError(f"{who}.calibrate: give exactly one of target_share and budget")
        texts = list(frame["prompt"].astype(str)) if isinstance(frame, pd.DataFrame) else list(frame)
        if not texts:
            raise RouterError(f"{who}.calibrate needs at least one text")
        predicted = self._quality(texts)
        rel = self.relative_tier_costs()
        if target_share is not None:
            if not 0.0 <= target_share <= 1.0:
                raise RouterError(f"{who}.calibrate: target_share must be in [0, 1], got {target_share!r}")
            lam = lambda_for_share(predicted, rel, target_share)
        else:
            tier_cost = rel
            if isinstance(frame, pd.DataFrame) and all(f"cost_{t}" in frame.columns for t in self.tiers_):
                tier_cost = np.array([float(pd.to_numeric(frame[f"cost_{t}"]).mean()) for t in self.tiers_])
            lam = lambda_for_budget(predicted, rel, tier_cost, float(budget))  # type: ignore[arg-type]
        self.set_params(threshold=lam)
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
        lam = self.lambda_
        features.update(score=score, threshold=lam)
        if len(candidates) == 2:
            chosen = strong if score >= lam else weak
            scores = {weak: quality[weak], strong: quality[strong] - lam}
            relation = ">=" if chosen == strong else "<"
            reason = f"score {score:.3f} {relation} threshold {lam:g} → {chosen}"
            return RoutingDecision(tier=chosen, reason=reason, scores=scores, features=features)
        cost = self._relative_costs(candidates, context)
        scores = {t: quality[t] - lam * cost[t] for t in candidates}
        chosen = max(candidates, key=lambda t: (scores[t], -TIER_RANK[t]))
        reason = (
            f"best utility quality − {lam:g}×relative cost: {chosen} "
            f"(predicted quality {quality[chosen]:.3f})"
        )
        return RoutingDecision(tier=chosen, reason=reason, scores=scores, features=features)
