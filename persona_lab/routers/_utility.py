"""One cost knob over N tiers: pick the tier maximising ``predicted quality − λ × relative cost``.

Relative cost runs from 0 (cheapest tier) to 1 (dearest). Sweeping λ from 0 upwards traces a
router's cost–quality curve, from "best predicted quality, whatever it costs" to "always the
cheapest tier". With two tiers the rule is the agreed threshold rule: the stronger tier iff
``q_strong − q_weak >= λ``. Ties go to the cheaper tier (N ≥ 3), as ``route()`` does.

The default operating point of a learned router (its *knee*, :func:`knee_lambda`): on
out-of-fold predictions for its training prompts, the λ whose operating point lies furthest
above the straight line from always-cheapest to always-dearest (``quality − slope × cost`` at
its largest: beyond it, more spending buys less quality than the average move to the dearest
tier does), among the points that send at most 90% of the rows to any one tier (so the default
is never "always one tier"). When no such point is above that line, the one whose cost is
nearest the midpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "MAX_TIER_SHARE",
    "Knee",
    "knee_lambda",
    "lambda_for_budget",
    "lambda_for_cost",
    "lambda_for_share",
    "lambda_grid",
    "relative_costs",
    "utility_choice",
]

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]


def relative_costs(costs: FloatArray | list[float]) -> FloatArray:
    """Min–max normalised tier costs (0 = cheapest, 1 = dearest); tier rank when all are equal."""
    c = np.asarray(costs, dtype=float)
    span = float(c.max() - c.min()) if c.size else 0.0
    if c.size < 2 or span <= 0 or not np.isfinite(span):
        return np.asarray(np.linspace(0.0, 1.0, max(1, c.size)), dtype=np.float64)
    return np.asarray((c - c.min()) / span, dtype=np.float64)


def utility_choice(predicted: FloatArray, rel_cost: FloatArray, lam: float) -> IntArray:
    """Column chosen per row: argmax of ``predicted − lam × rel_cost`` (the threshold rule for two tiers)."""
    p = np.atleast_2d(np.asarray(predicted, dtype=float))
    rc = np.asarray(rel_cost, dtype=float)
    if p.shape[1] == 2:
        strong = (p[:, 1] - p[:, 0]) >= lam * (rc[1] - rc[0])
        return np.asarray(strong, dtype=np.int64)
    utility = p - lam * rc[None, :]
    return np.asarray(np.argmax(utility, axis=1), dtype=np.int64)  # first maximum = the cheapest on ties


def lambda_grid(predicted: FloatArray, rel_cost: FloatArray, n: int = 41) -> FloatArray:
    """λ values spanning a router's curve: 0, quantiles of the per-row switch points, and past the last."""
    p = np.atleast_2d(np.asarray(predicted, dtype=float))
    rc = np.asarray(rel_cost, dtype=float)
    points: list[FloatArray] = []
    for i in range(p.shape[1]):
        for j in range(p.shape[1]):
            if rc[j] > rc[i]:
                points.append((p[:, j] - p[:, i]) / (rc[j] - rc[i]))
    values = np.concatenate(points) if points else np.zeros(1)
    values = values[np.isfinite(values) & (values > 0)]
    inner = np.quantile(values, np.linspace(0.0, 1.0, n)) if values.size else np.zeros(0)
    top = float(values.max()) if values.size else 1.0
    return np.unique(np.concatenate([[0.0], inner, [np.nextafter(top, np.inf) * 1.0001 + 1e-9]]))


def _points(predicted: FloatArray, quality: FloatArray, rel_cost: FloatArray, grid: FloatArray,
            ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per λ: mean relative cost, mean recorded quality, and the largest share of rows on one tier."""
    rows = np.arange(quality.shape[0])
    costs, quals, top = [], [], []
    for lam in grid:
        choice = utility_choice(predicted, rel_cost, float(lam))
        costs.append(float(rel_cost[choice].mean()))
        quals.append(float(quality[rows, choice].mean()))
        top.append(float(np.bincount(choice, minlength=len(rel_cost)).max() / max(1, len(choice))))
    return np.asarray(costs), np.asarray(quals), np.asarray(top)


MAX_TIER_SHARE = 0.9
"""The default operating point sends at most this share of the training rows to any one tier."""


@dataclass(frozen=True, kw_only=True)
class Knee:
    """The default operating point chosen on training data (see :func:`knee_lambda`)."""

    lam: float
    gain: float
    relative_cost: float
    quality: float
    rule: str


def knee_lambda(predicted: FloatArray, quality: FloatArray, rel_cost: FloatArray) -> Knee:
    """The λ whose operating point (on these rows' recorded ``quality``) lies furthest above the chord
    from always-cheapest to always-dearest.

    ``predicted``: out-of-fold predicted quality per row and tier; ``quality``: the recorded
    quality; ``rel_cost``: relative tier costs. The chord's slope is the average quality one unit
    of relative cost buys by moving everything from the cheapest to the dearest tier; the knee is
    the point maximising ``quality − slope × cost``: past it, spending more buys less than that.
    Falls back to the cost midpoint when no point lies above the chord.
    """
    q = np.asarray(quality, dtype=float)
    rc = np.asarray(rel_cost, dtype=float)
    grid = lambda_grid(predicted, rc, n=81)
    costs, quals, top = _points(predicted, q, rc, grid)
    lo, hi = int(np.argmin(rc)), int(np.argmax(rc))
    q_lo, q_hi = float(q[:, lo].mean()), float(q[:, hi].mean())
    slope = max(0.0, (q_hi - q_lo) / max(float(rc[hi] - rc[lo]), 1e-12))
    gain = quals - (q_lo + slope * (costs - float(rc[lo])))
    mixed = top <= MAX_TIER_SHARE + 1e-12
    if not mixed.any():  # the router never mixes tiers on these rows: its most mixed point
        best = int(np.argmin(top))
        return Knee(lam=float(grid[best]), gain=float(gain[best]), relative_cost=float(costs[best]),
                    quality=float(quals[best]), rule="no mixed operating point: the most mixed one")
    best = int(np.flatnonzero(mixed)[np.argmax(gain[mixed])])
    if gain[best] > 1e-12:
        return Knee(lam=float(grid[best]), gain=float(gain[best]), relative_cost=float(costs[best]),
                    quality=float(quals[best]), rule="furthest above the cheapest→dearest chord")
    candidates = np.flatnonzero(mixed)
    mid = int(candidates[np.argmin(np.abs(costs[candidates] - 0.5))])
    return Knee(lam=float(grid[mid]), gain=float(gain[mid]), relative_cost=float(costs[mid]),
                quality=float(quals[mid]), rule="nothing above the chord: the cost midpoint")


def lambda_for_cost(predicted: FloatArray, rel_cost: FloatArray, target: float) -> float:
    """The λ whose mean relative cost over the rows is nearest ``target``, preferring mixed points.

    Carries an operating point found on one model's predictions (the knee, in relative cost) over
    to another model of the same family, whose predicted qualities sit on a different scale.
    """
    rc = np.asarray(rel_cost, dtype=float)
    grid = lambda_grid(predicted, rc, n=201)
    dummy = np.zeros_like(np.atleast_2d(np.asarray(predicted, dtype=float)))
    costs, _, top = _points(predicted, dummy, rc, grid)
    distance = np.abs(costs - target) + np.where(top <= MAX_TIER_SHARE + 1e-12, 0.0, 1.0)
    return float(grid[int(np.argmin(distance))])


def lambda_for_share(predicted: FloatArray, rel_cost: FloatArray, target_share: float) -> float:
    """The smallest-cost λ on the grid whose share of rows on the dearest tier is at most ``target_share``."""
    grid = lambda_grid(predicted, rel_cost, n=201)
    top = int(np.argmax(rel_cost))
    shares = np.array([float(np.mean(utility_choice(predicted, rel_cost, float(lam)) == top)) for lam in grid])
    ok = np.flatnonzero(shares <= target_share + 1e-12)
    return float(grid[ok[0]]) if ok.size else float(grid[-1])


def lambda_for_budget(predicted: FloatArray, rel_cost: FloatArray, tier_cost: FloatArray, budget: float) -> float:
    """The smallest λ on the grid whose mean cost per row (``tier_cost`` per tier) is at most ``budget``."""
    grid = lambda_grid(predicted, rel_cost, n=201)
    cost = np.asarray(tier_cost, dtype=float)
    spend = np.array([float(cost[utility_choice(predicted, rel_cost, float(lam))].mean()) for lam in grid])
    ok = np.flatnonzero(spend <= budget + 1e-15)
    return float(grid[ok[0]]) if ok.size else float(grid[-1])
