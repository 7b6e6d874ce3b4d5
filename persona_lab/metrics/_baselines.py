"""Random and oracle baselines at a matched strong-call share or matched cost, from recorded outcomes.

Each unit (a turn, or an item when routing once per item) has a score under the weak and
the strong model. Random routing at share ``s`` expects ``(1 − s)·mean(weak) + s·mean(strong)``;
the oracle spends its strong calls on the units with the largest gain, and never on a unit
where the strong model does no better. Fractional calls mean mixing the two neighbouring
allocations at random, so both curves are piecewise linear.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from persona_lab.core import InvalidArgument

if TYPE_CHECKING:
    import pandas as pd
    from numpy.typing import ArrayLike, NDArray

__all__ = [
    "oracle_curve",
    "oracle_decisions",
    "oracle_quality",
    "oracle_quality_at_cost",
    "random_curve",
    "random_quality",
]


def _pair(weak: ArrayLike, strong: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    w = np.asarray(weak, dtype=float)
    s = np.asarray(strong, dtype=float)
    if w.shape != s.shape or w.ndim != 1 or w.size == 0:
        raise InvalidArgument(f"weak and strong must be non-empty 1-D arrays of the same length, got shapes "
                              f"{np.shape(weak)} and {np.shape(strong)}")
    return w, s


def random_quality(weak: ArrayLike, strong: ArrayLike, share: ArrayLike) -> NDArray[np.float64] | float:
    """Expected quality of routing a random ``share`` of units to the strong model."""
    w, s = _pair(weak, strong)
    x = np.asarray(share, dtype=float)
    result = (1.0 - x) * w.mean() + x * s.mean()
    return float(result) if result.ndim == 0 else result


def random_curve(weak: ArrayLike, strong: ArrayLike, shares: ArrayLike | None = None, *,
                 weak_cost: ArrayLike | None = None, strong_cost: ArrayLike | None = None) -> pd.DataFrame:
    """The random baseline's expected (strong_share, quality, cost_usd) at each share (default 0, 0.1 … 1)."""
    import pandas as pd

    x = np.linspace(0.0, 1.0, 11) if shares is None else np.asarray(shares, dtype=float)
    frame = pd.DataFrame({"strong_share": x, "quality": random_quality(weak, strong, x)})
    if weak_cost is not None and strong_cost is not None:
        wc, sc = np.asarray(weak_cost, dtype=float), np.asarray(strong_cost, dtype=float)
        frame["cost_usd"] = (1.0 - x) * wc.sum() + x * sc.sum()
    return frame


def _ranked_gains(w: NDArray[np.float64], s: NDArray[np.float64]) -> NDArray[np.int64]:
    """Units where the strong model scores higher, largest gain first (stable on ties)."""
    gains = s - w
    order = np.argsort(-gains, kind="stable")
    return order[gains[order] > 0]


def _running(values: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.concatenate([[0.0], np.cumsum(values)])


def oracle_quality(weak: ArrayLike, strong: ArrayLike, share: ArrayLike) -> NDArray[np.float64] | float:
    """Best quality reachable with at most ``share`` of the units on the strong model."""
    w, s = _pair(weak, strong)
    order = _ranked_gains(w, s)
    calls = np.clip(np.asarray(share, dtype=float), 0.0, 1.0) * w.size
    gained = np.interp(calls, np.arange(order.size + 1), _running((s - w)[order]))
    result = (w.sum() + gained) / w.size
    return float(result) if np.ndim(result) == 0 else np.asarray(result, dtype=float)


def oracle_decisions(weak: ArrayLike, strong: ArrayLike, *, cost_weak: ArrayLike | None = None,
                     cost_strong: ArrayLike | None = None) -> NDArray[np.bool_]:
    """The oracle's unconstrained choice per unit: strong exactly where it scores higher
    (on a tie, the cheaper model: weak unless costs say otherwise)."""
    w, s = _pair(weak, strong)
    decide = s > w
    if cost_weak is not None and cost_strong is not None:
        cw, cs = np.asarray(cost_weak, dtype=float), np.asarray(cost_strong, dtype=float)
        decide |= (s == w) & (cs < cw)
    return decide


def oracle_curve(weak: ArrayLike, strong: ArrayLike, shares: ArrayLike | None = None, *,
                 weak_cost: ArrayLike | None = None, strong_cost: ArrayLike | None = None) -> pd.DataFrame:
    """The oracle at each strong share (default 0, 0.1 … 1): quality, and cost when costs are given."""
    import pandas as pd

    w, s = _pair(weak, strong)
    x = np.linspace(0.0, 1.0, 11) if shares is None else np.asarray(shares, dtype=float)
    frame = pd.DataFrame({"strong_share": x, "quality": oracle_quality(w, s, x)})
    if weak_cost is not None and strong_cost is not None:
        wc, sc = np.asarray(weak_cost, dtype=float), np.asarray(strong_cost, dtype=float)
        order = _ranked_gains(w, s)
        calls = np.clip(x, 0.0, 1.0) * w.size
        frame["cost_usd"] = wc.sum() + np.interp(calls, np.arange(order.size + 1), _running((sc - wc)[order]))
    return frame


def oracle_quality_at_cost(weak: ArrayLike, strong: ArrayLike, weak_cost: ArrayLike, strong_cost: ArrayLike,
                           budget: ArrayLike) -> NDArray[np.float64] | float:
    """Best quality for a total cost ``budget``: upgrades bought greedily by gain per extra dollar.

    Upgrades that cost nothing extra are taken first. The greedy order is optimal when a unit
    may be upgraded fractionally (random mixing), an upper bound within one unit of the integer
    optimum. Budgets below the all-weak cost give NaN.
    """
    w, s = _pair(weak, strong)
    wc, sc = np.asarray(weak_cost, dtype=float), np.asarray(strong_cost, dtype=float)
    gains, extra = s - w, sc - wc
    free = (gains > 0) & (extra <= 0)
    paid = np.flatnonzero((gains > 0) & (extra > 0))
    paid = paid[np.argsort(-(gains[paid] / extra[paid]), kind="stable")]
    base = w.sum() + gains[free].sum()
    b = np.asarray(budget, dtype=float)
    gained = np.interp(b - (wc.sum() + extra[free].sum()), _running(extra[paid]), _running(gains[paid]))
    quality = np.where(b < wc.sum() * (1 - 1e-12), np.nan, (base + gained) / w.size)
    return float(quality) if np.ndim(quality) == 0 else np.asarray(quality, dtype=float)
