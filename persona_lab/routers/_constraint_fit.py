"""Difficulty cutpoints for the constraint router, fitted to recorded outcomes.

The sweet-spot scoring sends a turn to the tier whose capability sits nearest its difficulty,
so the capabilities only matter through the difficulty values where one tier takes over from
the next. :func:`fit_cutpoints` chooses those values from data: on a grid of difficulty
quantiles it picks the cutpoints that maximise the training utility
``mean(normalised quality) − cost_weight × mean(relative cost)``, keeping every tier's share
between ``min_share`` and ``1 − min_share`` so the fitted router never degenerates to one tier.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["fit_cutpoints", "tier_for_difficulty"]

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def tier_for_difficulty(difficulty: float, cutpoints: Sequence[float]) -> int:
    """The index of the tier a difficulty falls to: the number of cutpoints at or below it."""
    return int(sum(difficulty >= c for c in cutpoints))


def fit_cutpoints(difficulty: FloatArray, quality: FloatArray, relative_cost: Sequence[float], *,
                  cost_weight: float, min_share: float = 0.05, grid: int = 19) -> tuple[float, ...]:
    """Cutpoints (one fewer than tiers, increasing) maximising the training utility (see the module doc)."""
    n, tiers = quality.shape
    low, high = float(np.nanmin(quality)), float(np.nanmax(quality))
    normalised = (quality - low) / (high - low) if high > low else np.zeros_like(quality)
    utility = normalised - cost_weight * np.asarray(relative_cost, dtype=float)[None, :]
    candidates = np.unique(np.quantile(difficulty, np.linspace(0.05, 0.95, grid)))
    best: tuple[float, tuple[float, ...]] | None = None
    for cuts in itertools.combinations(candidates.tolist(), tiers - 1):
        chosen = np.searchsorted(np.asarray(cuts), difficulty, side="right")
        shares = np.bincount(chosen, minlength=tiers) / n
        if shares.min() < min_share:
            continue
        value = float(utility[np.arange(n), chosen].mean())
        if best is None or value > best[0] + 1e-12:
            best = (value, tuple(float(c) for c in cuts))
    if best is None:  # too few distinct difficulties to give every tier its share: split by rank
        quantiles = np.linspace(0, 1, tiers + 1)[1:-1]
        return tuple(float(q) for q in np.quantile(difficulty, quantiles))
    return best[1]
