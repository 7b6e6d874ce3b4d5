"""Routing curves as RouteLLM defines them: PGR, APGR over the strong-call share, and CPT(x).

A *curve* is a set of operating points (strong-call share, quality). RouteLLM sweeps a
router's score over its 10-quantile thresholds: a turn goes to the strong model when its score
is ``>= t`` (and, for the last threshold, ``> t``), which spans strong shares from 1 to 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from persona_lab.core import InvalidArgument

if TYPE_CHECKING:
    import pandas as pd
    from numpy.typing import ArrayLike, NDArray

__all__ = [
    "apgr",
    "cpt",
    "operating_points",
    "pgr",
    "quantile_thresholds",
    "routing_curve",
    "threshold_decisions",
]


def pgr(quality: ArrayLike, weak: float, strong: float) -> NDArray[np.float64] | float:
    """Performance gap recovered: ``(quality − weak) / (strong − weak)`` (NaN when strong == weak)."""
    q = np.asarray(quality, dtype=float)
    gap = strong - weak
    result = np.full_like(q, np.nan) if gap == 0 else (q - weak) / gap
    return float(result) if result.ndim == 0 else result


def _closed_curve(shares: ArrayLike, pgrs: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Points sorted by share, closed with (0, 0) and (1, 1) — the always-weak and always-strong points."""
    s = np.asarray(shares, dtype=float)
    p = np.asarray(pgrs, dtype=float)
    if s.shape != p.shape or s.ndim != 1:
        raise InvalidArgument(f"shares and pgrs must be 1-D arrays of the same length, got shapes "
                              f"{np.shape(shares)} and {np.shape(pgrs)}")
    keep = ~(np.isnan(s) | np.isnan(p))
    s, p = s[keep], p[keep]
    if s.size and (s.min() < 0 or s.max() > 1):
        raise InvalidArgument("strong-call shares must lie in [0, 1], got values from "
                              f"{np.min(shares):g} to {np.max(shares):g}")
    if not np.any(s == 0.0):
        s, p = np.append(s, 0.0), np.append(p, 0.0)
    if not np.any(s == 1.0):
        s, p = np.append(s, 1.0), np.append(p, 1.0)
    order = np.lexsort((p, s))
    return s[order], p[order]


def apgr(shares: ArrayLike, pgrs: ArrayLike) -> float:
    """Average PGR: the area under PGR over the strong-call share in [0, 1] (trapezoids).

    The curve is closed with the always-weak (0, 0) and always-strong (1, 1) points, which
    RouteLLM's threshold sweep always contains; a router with one operating point is thereby
    scored as if mixed with the two single models. Random routing scores 0.5.
    """
    s, p = _closed_curve(shares, pgrs)
    return float(np.sum((s[1:] - s[:-1]) * (p[1:] + p[:-1]) / 2.0))


def cpt(shares: ArrayLike, pgrs: ArrayLike, target: float, *, interpolate: bool = True) -> float:
    """Call-performance threshold: the smallest strong-call share at which PGR first reaches ``target``.

    Points are taken in order of share; the answer is the *first crossing*, interpolated
    linearly inside the segment where the curve first reaches ``target`` (or the share of the
    first point at or above it with ``interpolate=False``). NaN when the curve never reaches it.
    RouteLLM's ``np.interp`` over PGR assumes a monotone curve and is wrong otherwise.
    """
    s, p = _closed_curve(shares, pgrs)
    hits = np.flatnonzero(p >= target)
    if hits.size == 0:
        return float("nan")
    i = int(hits[0])
    if i == 0 or not interpolate:
        return float(s[i])
    s0, s1, p0, p1 = s[i - 1], s[i], p[i - 1], p[i]
    return float(s0 + (target - p0) / (p1 - p0) * (s1 - s0))


def quantile_thresholds(scores: ArrayLike, n: int = 10) -> NDArray[np.float64]:
    """RouteLLM's thresholds: the ``n``-quantile bin edges of the scores, ascending, ties merged.

    ``pandas.qcut(scores, n, retbins=True)`` raises when edges repeat (many equal scores);
    here equal edges are merged, so a router with few distinct scores gives fewer points.
    """
    values = np.asarray(scores, dtype=float)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return np.empty(0)
    edges = np.quantile(values, np.linspace(0.0, 1.0, n + 1))
    return np.unique(edges)


def threshold_decisions(scores: ArrayLike, thresholds: ArrayLike) -> NDArray[np.bool_]:
    """Strong-model decisions, one row per operating point: ``score >= t`` per threshold, then ``score > max``.

    The last row (``> the highest threshold``) is RouteLLM's zero-strong-calls point; the first
    (``>= the lowest``) sends everything to the strong model when the lowest is the minimum.
    """
    s = np.asarray(scores, dtype=float)
    t = np.asarray(thresholds, dtype=float)
    rows = s[None, :] >= t[:, None]
    if t.size:
        rows = np.vstack([rows, s[None, :] > t[-1]])
    return rows


def operating_points(
    decisions: ArrayLike,
    weak: ArrayLike,
    strong: ArrayLike,
    *,
    weak_cost: ArrayLike | None = None,
    strong_cost: ArrayLike | None = None,
) -> pd.DataFrame:
    """Quality, strong share and cost of each row of ``decisions`` (True = strong model).

    ``weak``/``strong`` are each unit's score under the weak and strong model; costs are
    per unit (missing costs give NaN). Columns: ``strong_share``, ``quality``, ``cost_usd``.
    """
    import pandas as pd

    d = np.atleast_2d(np.asarray(decisions, dtype=bool))
    w = np.asarray(weak, dtype=float)
    st = np.asarray(strong, dtype=float)
    chosen = np.where(d, st[None, :], w[None, :])
    data = {"strong_share": d.mean(axis=1), "quality": chosen.mean(axis=1)}
    if weak_cost is not None and strong_cost is not None:
        wc = np.asarray(weak_cost, dtype=float)
        sc = np.asarray(strong_cost, dtype=float)
        data["cost_usd"] = np.where(d, sc[None, :], wc[None, :]).sum(axis=1)
    else:
        data["cost_usd"] = np.full(d.shape[0], np.nan)
    return pd.DataFrame(data)


def routing_curve(
    scores: ArrayLike,
    weak: ArrayLike,
    strong: ArrayLike,
    *,
    n: int = 10,
    weak_cost: ArrayLike | None = None,
    strong_cost: ArrayLike | None = None,
) -> pd.DataFrame:
    """RouteLLM's evaluation of a scoring router: sweep the quantile thresholds, one row per point.

    Columns: ``threshold`` (NaN for the final ``> max`` point), ``strong_share``, ``quality``,
    ``cost_usd``, ``pgr``.
    """
    thresholds = quantile_thresholds(scores, n)
    decisions = threshold_decisions(scores, thresholds)
    frame = operating_points(decisions, weak, strong, weak_cost=weak_cost, strong_cost=strong_cost)
    frame.insert(0, "threshold", np.append(thresholds, np.nan)[: len(frame)])
    w = float(np.mean(np.asarray(weak, dtype=float)))
    s = float(np.mean(np.asarray(strong, dtype=float)))
    frame["pgr"] = pgr(frame["quality"].to_numpy(), w, s)
    return frame
