"""Out-of-fold predictions of learned routers, and the batched N-tier decisions the loop replays.

For a fold assignment over items, each fold's router is a fresh clone fitted on the other folds;
it scores (two tiers: ``score_texts``) or predicts each tier's quality (N tiers:
``predict_quality`` with its relative tier costs and its λ) for its own fold's turns only.
Repeated cross-validation calls this once per seed; only the first seed's routers also run
through the loop.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from persona_lab.bench._learning import effective_threshold, fresh_copy
from persona_lab.bench._units import UnitTable
from persona_lab.core import RoutingContext, RoutingDecision, router_name

__all__ = ["BatchedUtilityRouter", "FoldFit", "OutOfFold", "out_of_fold", "predictions"]


@dataclass
class Predictions:
    """What one fitted router says about some units (rows of the unit table)."""

    scores: NDArray[np.float64] | None = None  # two tiers: score_texts
    quality: NDArray[np.float64] | None = None  # N tiers: predicted quality, units' tier order
    rel_cost: NDArray[np.float64] | None = None  # N tiers: the router's relative tier costs
    lam: float = float("nan")  # the λ / threshold it decides with


@dataclass
class FoldFit:
    fold: int
    router: Any
    rows: NDArray[np.int64]


@dataclass
class OutOfFold:
    """Per-unit out-of-fold outputs (NaN where a fold failed), the fitted routers, notes."""

    scores: NDArray[np.float64] | None
    quality: NDArray[np.float64] | None
    rel_cost: NDArray[np.float64] | None
    lam: NDArray[np.float64]
    fits: list[FoldFit] = field(default_factory=list)
    failed: dict[int, BaseException] = field(default_factory=dict)
    fit_seconds: float = 0.0


def predictions(router: Any, units: UnitTable, rows: NDArray[np.int64], *, threshold: bool,
                utility: bool) -> Predictions:
    """Scores and/or per-tier predicted quality of a fitted router for the unit ``rows``."""
    texts = [units.texts[i] for i in rows]
    out = Predictions(lam=effective_threshold(router))
    if threshold:
        out.scores = np.asarray(router.score_texts(texts), dtype=float).reshape(-1)
    if utility:
        tiers = list(units.scores)
        fitted = list(getattr(router, "tiers_", ()))
        if fitted == tiers:
            out.quality = np.asarray(router.predict_quality(texts).to_numpy(), dtype=float)
            out.rel_cost = np.asarray(router.relative_tier_costs(), dtype=float)
    return out


def _without_knee(router: Any) -> Any:
    """A fresh copy with a fixed λ: the curves of the extra CV seeds do not depend on the default point."""
    copy = fresh_copy(router)
    try:
        if "threshold" in copy.get_params() and copy.get_params()["threshold"] is None:
            copy.set_params(threshold=0.0)
    except Exception:  # not a scikit-learn style router
        return copy
    return copy


def out_of_fold(router: Any, units: UnitTable, folds: NDArray[np.int64], *, threshold: bool, utility: bool,
                keep_fits: bool) -> OutOfFold:
    """Fit a fresh clone per fold on the other folds' turns; collect its outputs on its own fold.

    Without ``keep_fits`` (the extra seeds of repeated CV, whose routers never run through the
    loop) a router whose λ is chosen at fit gets a fixed λ instead: its curve is the same.
    """
    n, k = len(units), len(units.scores)
    result = OutOfFold(scores=np.full(n, np.nan) if threshold else None,
                       quality=np.full((n, k), np.nan) if utility else None,
                       rel_cost=np.full((n, k), np.nan) if utility else None,
                       lam=np.full(n, np.nan))
    for fold in range(int(folds.max()) + 1):
        in_fold = folds[units.item_index] == fold
        rows = np.flatnonzero(in_fold)
        try:
            started = time.perf_counter()
            fitted = (fresh_copy(router) if keep_fits else _without_knee(router)).fit(units.training_frame(~in_fold))
            said = predictions(fitted, units, rows, threshold=threshold, utility=utility)
            result.fit_seconds += time.perf_counter() - started
        except Exception as exc:  # a router that cannot fit fails its fold, not the run
            result.failed[fold] = exc
            continue
        if result.scores is not None and said.scores is not None:
            result.scores[rows] = said.scores
        if result.quality is not None and result.rel_cost is not None and said.quality is not None:
            result.quality[rows] = said.quality
            result.rel_cost[rows] = said.rel_cost
        result.lam[rows] = said.lam
        if keep_fits:
            result.fits.append(FoldFit(fold, fitted, rows))
    return result


class BatchedUtilityRouter:
    """An N-tier learned router's decisions, computed in one batch (``predict_quality``) per fold.

    Decides as the router's own ``route()`` does when every fitted tier is configured and the
    router knows its tier costs (the harness fits with ``cost_<tier>`` columns): the tier
    maximising ``predicted quality − λ × relative cost``, the cheaper on a tie.
    """

    def __init__(self, router: Any, choices: dict[tuple[str, int], str], lam: float):
        self.router = router
        self.name = router_name(router)
        self._choices = choices
        self._lam = lam

    def __repr__(self) -> str:
        return f"BatchedUtilityRouter({self.router!r})"

    def route(self, context: RoutingContext) -> RoutingDecision:
        key = (str(context.metadata.get("item_id")), int(context.metadata.get("turn", context.turn_index)))
        chosen = self._choices[key]
        return RoutingDecision(tier=chosen, reason=f"best utility quality − {self._lam:g}×relative cost: {chosen} "
                                                   "(batched predict_quality)", features={"threshold": self._lam})


def batched_utility_router(router: Any, units: UnitTable, rows: NDArray[np.int64], said: Predictions,
                           ) -> BatchedUtilityRouter | None:
    """The batched loop router for ``rows``, or None when batching would not decide exactly as ``route()``."""
    from persona_lab.routers import utility_choice

    if said.quality is None or said.rel_cost is None or getattr(router, "tier_costs_", None) is None:
        return None
    tiers = list(units.scores)
    chosen = utility_choice(said.quality, said.rel_cost, said.lam)
    keyed = {(units.item_ids[units.item_index[i]], int(units.turn[i])): tiers[int(c)]
             for i, c in zip(rows, chosen, strict=True)}
    return BatchedUtilityRouter(router, keyed, said.lam)
