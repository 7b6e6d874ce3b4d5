"""N-tier routing metrics: single-tier points, the zero router, the exact oracle, and a router's hull.

Inputs are a *quality matrix* ``Q`` and a *cost matrix* ``C`` (rows: units, columns: tiers
cheapest first): each unit's recorded score and cost under every tier. A router's operating
point is its total cost and mean quality.

- **Single-tier points**: always-<tier> for every tier.
- **Zero router** (RouterBench): the non-decreasing convex hull of the single-tier points —
  what mixing single tiers at random reaches without looking at a query.
- **Oracle**: per unit, the cheapest tier that achieves that unit's best recorded score; its
  cost–quality curve (best quality for each budget) is computed exactly: per unit the upper hull
  of its (cost, quality) points from its cheapest tier, all increments taken in order of quality
  gained per dollar (exact when a unit may be upgraded fractionally, i.e. random mixing; within
  one unit's gain of the integer optimum). No grid.
- For any set of points: AIQ over a cost range, the cost to reach a quality (e.g. always-frontier's),
  the best quality at a cost (e.g. always-mid's), all on the non-decreasing convex hull.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from persona_lab.core import InvalidArgument
from persona_lab.metrics._frontier import aiq, nondecreasing_hull

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

__all__ = [
    "OracleSteps",
    "gap_closed",
    "hull_cost_for_quality",
    "hull_quality_at_cost",
    "oracle_choice",
    "oracle_frontier",
    "oracle_steps",
    "single_tier_points",
    "tier_matrices",
    "zero_router_aiq",
]


def tier_matrices(quality: ArrayLike, cost: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Check and return ``(Q, C)`` as float arrays of the same 2-D shape (units × tiers)."""
    q = np.asarray(quality, dtype=float)
    c = np.asarray(cost, dtype=float)
    if q.ndim != 2 or q.shape != c.shape or q.shape[0] == 0 or q.shape[1] < 2:
        raise InvalidArgument("quality and cost must be (units, tiers ≥ 2) arrays of one shape, "
                         f"got {q.shape} and {c.shape}")
    return q, np.nan_to_num(c)


def single_tier_points(quality: ArrayLike, cost: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``(total cost, mean quality)`` of always-<tier> for every tier (column)."""
    q, c = tier_matrices(quality, cost)
    return c.sum(axis=0), q.mean(axis=0)


def zero_router_aiq(quality: ArrayLike, cost: ArrayLike) -> float:
    """AIQ of the zero router: the hull of the single-tier points over their own cost range."""
    costs, quals = single_tier_points(quality, cost)
    return aiq(costs, quals, cost_range=(float(costs.min()), float(costs.max())))


def oracle_choice(quality: ArrayLike, cost: ArrayLike) -> NDArray[np.int64]:
    """Per unit, the column of the cheapest tier that achieves the unit's best recorded score."""
    q, c = tier_matrices(quality, cost)
    best = q.max(axis=1, keepdims=True)
    candidates = np.where(q >= best, c, np.inf)
    return np.asarray(np.argmin(candidates, axis=1), dtype=np.int64)


@dataclass(frozen=True, kw_only=True)
class OracleSteps:
    """Every unit's upgrade steps along its own hull, in the oracle's order (best gain per dollar first)."""

    start: NDArray[np.int64]
    unit: NDArray[np.int64]
    d_cost: NDArray[np.float64]
    d_quality: NDArray[np.float64]


def oracle_steps(quality: ArrayLike, cost: ArrayLike) -> OracleSteps:
    """The oracle's upgrade steps (independent of unit weights, so bootstrap resamples reuse them)."""
    q, c = tier_matrices(quality, cost)
    units: list[int] = []
    d_cost: list[float] = []
    d_quality: list[float] = []
    for i in range(q.shape[0]):
        hull = nondecreasing_hull(c[i], q[i])
        for dc, dq in np.diff(hull, axis=0):
            if dq > 0:
                units.append(i)
                d_cost.append(float(dc))
                d_quality.append(float(dq))
    dc_, dq_ = np.asarray(d_cost, dtype=float), np.asarray(d_quality, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(dc_ > 0, dq_ / np.where(dc_ > 0, dc_, 1.0), np.inf)
    order = np.argsort(-slope, kind="stable")
    return OracleSteps(start=np.asarray(np.argmin(c, axis=1), dtype=np.int64),
                       unit=np.asarray(units, dtype=np.int64)[order], d_cost=dc_[order], d_quality=dq_[order])


def oracle_frontier(quality: ArrayLike, cost: ArrayLike, *, weights: ArrayLike | None = None,
                    steps: OracleSteps | None = None) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The oracle's exact best-quality-per-budget curve: vertices ``(total cost, mean quality)``.

    Starts with every unit on its cheapest tier; upgrades are taken in order of quality gained per
    extra dollar (free upgrades first). ``weights`` (bootstrap counts per unit) reweight units
    without changing that order (pass the ``steps`` of :func:`oracle_steps` to reuse them). The last
    vertex is the unconstrained oracle (every unit on the cheapest tier that achieves its best score).
    """
    q, c = tier_matrices(quality, cost)
    w = np.ones(q.shape[0]) if weights is None else np.asarray(weights, dtype=float)
    steps = oracle_steps(q, c) if steps is None else steps
    rows = np.arange(q.shape[0])
    base_cost = float(w @ c[rows, steps.start])
    base_quality = float(w @ q[rows, steps.start])
    total = float(w.sum())
    weight = w[steps.unit]
    costs = base_cost + np.concatenate([[0.0], np.cumsum(weight * steps.d_cost)])
    quals = (base_quality + np.concatenate([[0.0], np.cumsum(weight * steps.d_quality)])) / total
    return costs, quals


def hull_quality_at_cost(costs: ArrayLike, qualities: ArrayLike, budget: float) -> float:
    """Best quality on the points' non-decreasing hull at total cost ``budget`` (NaN below the cheapest)."""
    hull = nondecreasing_hull(costs, qualities)
    if hull.size == 0 or budget < hull[0, 0] * (1 - 1e-12):
        return float("nan")
    return float(np.interp(budget, hull[:, 0], hull[:, 1], right=hull[-1, 1]))


def hull_cost_for_quality(costs: ArrayLike, qualities: ArrayLike, target: float) -> float:
    """Smallest total cost at which the points' hull reaches ``target`` quality (NaN if it never does)."""
    hull = nondecreasing_hull(costs, qualities)
    if hull.size == 0 or hull[-1, 1] < target - 1e-12:
        return float("nan")
    reach = int(np.flatnonzero(hull[:, 1] >= target - 1e-12)[0])
    if reach == 0:
        return float(hull[0, 0])
    (c0, q0), (c1, q1) = hull[reach - 1], hull[reach]
    return float(c0 + (target - q0) / (q1 - q0) * (c1 - c0))


def gap_closed(router_aiq: float, zero_aiq: float, oracle_aiq: float) -> float:
    """Share of the zero-router → oracle AIQ gap a router closes (NaN when there is no gap)."""
    gap = oracle_aiq - zero_aiq
    if not np.isfinite(gap) or gap <= 0:
        return float("nan")
    return float((router_aiq - zero_aiq) / gap)
