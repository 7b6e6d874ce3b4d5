"""What the harness needs to know about a router: learned (``fit``), threshold (``score_texts``), copies.

Learned routers are evaluated by k-fold cross-validation over *items* (both turns of a
two-turn item fall in the same fold): each fold's router is a fresh ``sklearn.base.clone``
fitted on the other folds, so no router is ever trained on an item it routes.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from numpy.typing import NDArray

from persona_lab.core import InvalidArgument, Router, RoutingContext, RoutingDecision, router_name

__all__ = [
    "BatchedThresholdRouter",
    "effective_threshold",
    "fold_assignment",
    "fresh_copy",
    "is_fitted",
    "is_learned",
    "is_threshold_router",
    "is_utility_router",
]


def is_learned(router: object) -> bool:
    """Anything with a ``fit`` method."""
    return callable(getattr(router, "fit", None))


def is_threshold_router(router: object) -> bool:
    """The agreed sweep interface: ``score_texts(texts)`` and a ``threshold`` (numeric, or None = chosen at fit)."""
    if not callable(getattr(router, "score_texts", None)) or not hasattr(router, "threshold"):
        return False
    threshold = getattr(router, "threshold", None)
    return threshold is None or (isinstance(threshold, (int, float)) and not isinstance(threshold, bool))


def effective_threshold(router: object) -> float:
    """The threshold a (fitted) threshold router decides with: ``lambda_`` when it has one, else ``threshold``."""
    for name in ("lambda_", "threshold", "threshold_"):
        try:
            value = getattr(router, name, None)
        except Exception:  # an unfitted router's lambda_
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return 0.0


def is_utility_router(router: object) -> bool:
    """An N-tier learned router: ``predict_quality(texts)`` and ``relative_tier_costs()`` (the λ sweep)."""
    return callable(getattr(router, "predict_quality", None)) and callable(getattr(router, "relative_tier_costs", None))


def is_fitted(router: object) -> bool:
    """True when a learned router already holds fitted state (scikit-learn's check)."""
    try:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(router)
    except Exception:
        return False
    return True


def fresh_copy(router: Any) -> Any:
    """An unfitted copy with the same parameters: ``sklearn.base.clone``, else a deep copy."""
    try:
        from sklearn.base import clone

        return clone(router)
    except Exception:
        return copy.deepcopy(router)


def fold_assignment(n_items: int, folds: int, seed: int) -> NDArray[np.int64]:
    """A fold number per *item*: ``sklearn.model_selection.KFold`` over items, shuffled with ``seed``.

    Folds are drawn over items, not turns, so every turn of an item lands in its item's fold
    (what ``GroupKFold`` over turns grouped by item gives); fold sizes differ by at most one.
    """
    from sklearn.model_selection import KFold

    if folds < 2:
        raise InvalidArgument(f"folds: cross-validation needs at least 2 folds, got {folds}")
    if n_items < folds:
        raise InvalidArgument(f"folds: {n_items} items cannot be split into {folds} folds (use folds <= {n_items})")
    assignment = np.empty(n_items, dtype=np.int64)
    splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    for fold, (_, held_out) in enumerate(splitter.split(np.zeros((n_items, 1)))):
        assignment[held_out] = fold
    return assignment


class BatchedThresholdRouter:
    """A threshold router's decisions from scores computed in one ``score_texts`` batch.

    The agreed interface promises ``route()`` picks the stronger of two tiers iff
    ``score >= threshold``; this applies that rule to precomputed scores (keyed by the
    benchmark metadata ``item_id`` and ``turn``), so learned routers run through the loop
    without embedding one text at a time. ``tests/test_bench_fast_path.py`` checks that it
    decides exactly as the router's own ``route()``.
    """

    def __init__(self, router: Router, scores: dict[tuple[str, int], float], weak: str, strong: str):
        self.router = router
        self.name = router_name(router)
        self._scores = scores
        self._weak = weak
        self._strong = strong
        self._threshold = effective_threshold(router)

    def __repr__(self) -> str:
        return f"BatchedThresholdRouter({self.router!r})"

    def route(self, context: RoutingContext) -> RoutingDecision:
        key = (str(context.metadata.get("item_id")), int(context.metadata.get("turn", context.turn_index)))
        score = self._scores[key]
        chosen = self._strong if score >= self._threshold else self._weak
        relation = ">=" if chosen == self._strong else "<"
        return RoutingDecision(
            tier=chosen,
            reason=f"score {score:.3f} {relation} threshold {self._threshold:g} → {chosen} (batched score_texts)",
            features={"score": score, "threshold": self._threshold},
        )
