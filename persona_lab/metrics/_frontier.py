"""Cost–quality frontiers: RouterBench's AIQ over the non-decreasing convex hull, and Pareto points."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from persona_lab.core import InvalidArgument

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

__all__ = ["aiq", "nondecreasing_hull", "pareto_frontier"]


def _points(costs: ArrayLike, qualities: ArrayLike) -> NDArray[np.float64]:
    c = np.asarray(costs, dtype=float)
    q = np.asarray(qualities, dtype=float)
    if c.shape != q.shape or c.ndim != 1:
        raise InvalidArgument(f"costs and qualities must be 1-D arrays of the same length, got shapes "
                              f"{np.shape(costs)} and {np.shape(qualities)}")
    keep = ~(np.isnan(c) | np.isnan(q))
    return np.column_stack([c[keep], q[keep]])


def nondecreasing_hull(costs: ArrayLike, qualities: ArrayLike) -> NDArray[np.float64]:
    """The non-decreasing upper convex hull of (cost, quality) points, as (m, 2) vertices by cost.

    Mixing two operating points at random reaches every point on the segment between them, so
    the upper hull is what a router family can achieve; past its best quality the hull stays
    flat (paying more never has to lower quality).
    """
    pts = _points(costs, qualities)
    if pts.size == 0:
        return np.empty((0, 2))
    order = np.lexsort((-pts[:, 1], pts[:, 0]))
    pts = pts[order]
    _, first = np.unique(pts[:, 0], return_index=True)  # best quality per cost
    pts = pts[first]
    hull: list[NDArray[np.float64]] = []
    for p in pts:  # Andrew's monotone chain, upper half
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            if (x2 - x1) * (p[1] - y1) - (y2 - y1) * (p[0] - x1) >= 0:  # hull[-1] is not above the chord
                hull.pop()
            else:
                break
        hull.append(p)
    vertices = np.array(hull)
    peak = int(np.argmax(vertices[:, 1]))
    return vertices[: peak + 1]


def aiq(costs: ArrayLike, qualities: ArrayLike, *, cost_range: tuple[float, float] | None = None) -> float:
    """Average improvement in quality (RouterBench): the area under the non-decreasing convex hull
    divided by the cost range.

    Over ``cost_range`` (default: the points' own min and max cost), the hull is linear between
    vertices, flat after the last one, and 0 below the cheapest point (the router cannot operate
    there). With a single cost the AIQ is that point's quality.
    """
    hull = nondecreasing_hull(costs, qualities)
    if hull.size == 0:
        return float("nan")
    if cost_range is None:
        cost_range = (float(hull[0, 0]), float(_points(costs, qualities)[:, 0].max()))
    lo, hi = cost_range
    if hi < lo:
        raise InvalidArgument(f"cost_range must be (low, high) with low < high, got {(lo, hi)}")
    if hi == lo:
        return float(np.interp(lo, hull[:, 0], hull[:, 1], left=0.0, right=hull[-1, 1]))
    start = max(lo, float(hull[0, 0]))  # below the cheapest point the hull is 0
    if start >= hi:
        return 0.0
    xs = np.unique(np.clip(np.concatenate([[start, hi], hull[:, 0]]), start, hi))
    ys = np.interp(xs, hull[:, 0], hull[:, 1], right=hull[-1, 1])
    area = float(np.sum((xs[1:] - xs[:-1]) * (ys[1:] + ys[:-1]) / 2.0))
    return area / (hi - lo)


def pareto_frontier(costs: ArrayLike, qualities: ArrayLike) -> NDArray[np.bool_]:
    """Mask of Pareto-optimal points: no other point costs no more and scores at least as well,
    with one of the two strictly better. NaN points are never on the frontier."""
    c = np.asarray(costs, dtype=float)
    q = np.asarray(qualities, dtype=float)
    valid = ~(np.isnan(c) | np.isnan(q))
    mask = np.zeros(c.shape, dtype=bool)
    for i in np.flatnonzero(valid):
        dominated = valid & (c <= c[i]) & (q >= q[i]) & ((c < c[i]) | (q > q[i]))
        mask[i] = not dominated.any()
    return mask
