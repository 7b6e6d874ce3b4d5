"""A stacked ensemble of learned routers: a logistic regression on their out-of-fold scores.

``fit`` cross-validates every base router inside the training frame (folds over ``item_id``
when the frame has one, so both turns of an item stay together), so the combiner learns from
scores the bases produced on prompts they were not fitted on (no leakage); then it refits the
bases on the whole frame. The score of a text is P(the strongest tier is needed), i.e.
P(q_strongest > q_cheapest), and routing is the agreed threshold rule between the cheapest and
the strongest fitted tiers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from persona_lab.core import NotFittedError, RouterError, RoutingContext, RoutingDecision, nearest_tier
from persona_lab.routers._params import RouterParams
from persona_lab.routers._tier_choice import configured_tiers, pinned_tier

__all__ = ["StackedRouter"]

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


class StackedRouter(RouterParams):
    """Combine learned routers' ``score_texts`` with a logistic regression fitted out-of-fold.

    Parameters
    ----------
    routers:
        Learned routers (anything with ``fit(frame)`` and ``score_texts(texts)``); cloned.
    folds:
        Inner folds for the out-of-fold scores the combiner is fitted on.
    threshold:
        The stronger tier when P(strongest needed) ≥ ``threshold``. None (default): chosen at
        fit so that the strongest tier gets the share of training prompts on which it scored
        higher than the cheapest (by the combiner's scores of the out-of-fold base scores), kept
        between 10% and 90% so the default is never "always one tier"; ``lambda_`` is the one in use.
    seed:
        Seed of the inner fold assignment.

    Fitted attributes: ``routers_`` (bases refitted on all rows), ``combiner_``, ``tiers_``,
    ``oof_scores_`` (the bases' out-of-fold scores, rows × routers).
    """

    def __init__(self, *, routers: Sequence[Any], folds: int = 5, threshold: float | None = None, seed: int = 0,
                 respect_pin: bool = True):
        self.routers = routers
        self.folds = folds
        self.threshold = threshold
        self.seed = seed
        self.respect_pin = respect_pin
        if not routers:
            raise RouterError("StackedRouter needs at least one base router")
        for router in routers:
            if not (callable(getattr(router, "fit", None)) and callable(getattr(router, "score_texts", None))):
                raise RouterError(f"StackedRouter: {router!r} is not a learned router (fit and score_texts)")
        if folds < 2:
            raise RouterError(f"StackedRouter: folds must be at least 2, got {folds}")

    @property
    def name(self) -> str:
        return "stacked"

    def fit(self, frame: Any, y: None = None) -> StackedRouter:
        """Fit on a wide training frame (``prompt``, ``quality_<tier>``…, optional ``item_id``)."""
        from sklearn.base import clone
        from sklearn.linear_model import LogisticRegression

        del y
        tiers = [c.removeprefix("quality_") for c in frame.columns if str(c).startswith("quality_")]
        if len(tiers) < 2:
            raise RouterError("StackedRouter.fit: the frame needs quality_<tier> columns for at least two tiers")
        from persona_lab.core import TIER_NAMES

        tiers = sorted(tiers, key=lambda t: TIER_NAMES.index(t) if t in TIER_NAMES else len(TIER_NAMES))
        frame = frame.reset_index(drop=True)
        weak, strong = frame[f"quality_{tiers[0]}"].to_numpy(float), frame[f"quality_{tiers[-1]}"].to_numpy(float)
        labels = (strong > weak).astype(int)
        groups = frame["item_id"].astype(str).to_numpy() if "item_id" in frame.columns else np.arange(len(frame))
        unique = np.unique(groups)
        if len(unique) < self.folds:
            raise RouterError(f"StackedRouter.fit: {len(unique)} items cannot be split into {self.folds} folds")
        fold_of_group = np.random.default_rng(self.seed).permutation(len(unique)) % self.folds
        fold = fold_of_group[np.searchsorted(unique, groups)]
        prompts = frame["prompt"].astype(str).tolist()
        oof = np.zeros((len(frame), len(self.routers)))
        for k in range(self.folds):
            held = fold == k
            for j, router in enumerate(self.routers):
                fitted = clone(router).fit(frame[~held])
                oof[held, j] = fitted.score_texts([prompts[i] for i in np.flatnonzero(held)])
        self.oof_scores_ = oof
        self.mean_ = oof.mean(axis=0)
        scale = oof.std(axis=0)
        scale[scale == 0] = 1.0
        self.scale_ = scale
        if labels.min() == labels.max():
            self.combiner_: Any = float(labels[0])
        else:
            self.combiner_ = LogisticRegression(C=1.0).fit((oof - self.mean_) / self.scale_, labels)
        self.routers_ = [clone(r).fit(frame) for r in self.routers]
        self.tiers_ = tuple(tiers)
        self.threshold_ = float(self.threshold) if self.threshold is not None else self._default_threshold(labels)
        return self

    def _default_threshold(self, labels: np.ndarray[Any, np.dtype[np.int64]]) -> float:
        if isinstance(self.combiner_, float):
            return 0.5
        column = int(np.flatnonzero(self.combiner_.classes_ == 1)[0])
        combined = np.sort(self.combiner_.predict_proba((self.oof_scores_ - self.mean_) / self.scale_)[:, column])
        share = min(0.9, max(0.1, float(labels.mean())))
        return float(combined[int(np.floor((1.0 - share) * (len(combined) - 1)))])

    @property
    def lambda_(self) -> float:
        """The threshold in use: the ``threshold`` parameter, else the one chosen at fit."""
        self._check_fitted()
        return float(self.threshold) if self.threshold is not None else float(self.threshold_)

    def _check_fitted(self) -> None:
        if not hasattr(self, "routers_"):
            raise NotFittedError("StackedRouter is not fitted yet; call fit(frame) with a training frame first")

    def score_texts(self, texts: Sequence[str]) -> FloatArray:
        """P(the strongest fitted tier is needed) per text."""
        self._check_fitted()
        if isinstance(texts, str):
            raise RouterError("StackedRouter: pass a list of texts, not one string")
        texts = list(texts)
        if isinstance(self.combiner_, float):
            return np.full(len(texts), self.combiner_)
        stacked = np.column_stack([np.asarray(r.score_texts(texts), dtype=float) for r in self.routers_])
        column = int(np.flatnonzero(self.combiner_.classes_ == 1)[0])
        return np.asarray(self.combiner_.predict_proba((stacked - self.mean_) / self.scale_)[:, column], dtype=float)

    def route(self, context: RoutingContext) -> RoutingDecision:
        self._check_fitted()
        configured = configured_tiers(context, "StackedRouter")
        if self.respect_pin:
            pinned = pinned_tier(context, "StackedRouter")
            if pinned is not None:
                return RoutingDecision(tier=nearest_tier(pinned, configured), reason=f"persona pins tier {pinned}")
        candidates = [t for t in self.tiers_ if t in configured]
        if not candidates:
            raise RouterError(f"StackedRouter was fitted on tiers {', '.join(self.tiers_)} but none is configured "
                              f"(configured: {', '.join(configured)})")
        weak, strong = candidates[0], candidates[-1]
        score = float(self.score_texts([context.message])[0])
        limit = self.lambda_
        chosen = strong if score >= limit else weak
        relation = ">=" if chosen == strong else "<"
        return RoutingDecision(
            tier=chosen,
            reason=f"stacked P(strong needed) {score:.3f} {relation} {limit:g} → {chosen}",
            features={"score": score, "threshold": limit},
        )
