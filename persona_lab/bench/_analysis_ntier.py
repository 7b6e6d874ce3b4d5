"""Summary rows and curves of one suite with three or more tiers, and the spread over CV seeds.

Per unit and tier: the recorded score (``Q``) and the replayed cost of the always-<tier> run
(``C``). Every router is a loop point (its run through the loop); N-tier learned routers are also
swept over λ with their out-of-fold predicted qualities (the vectorised fast path). Baselines:
always-<tier> (loop runs), random over all tiers (its expected point), the zero router (the hull
of the single tiers) and the exact oracle (``persona_lab.metrics.oracle_frontier``). Columns
beyond the two-tier ones: ``share_<tier>``, ``gap_closed``, ``cost_to_match_frontier`` (share of
always-frontier's cost), ``quality_at_mid_cost``, ``zero_router_aiq``, ``oracle_aiq`` and the
``*_seed_mean``/``*_seed_sd`` spread over CV seeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from persona_lab.bench._analysis import RouterRun, SuiteAnalysis
from persona_lab.bench._units import UnitTable
from persona_lab.metrics import (
    OracleSteps,
    aiq,
    apgr,
    bootstrap_weights,
    gap_closed,
    hull_cost_for_quality,
    hull_quality_at_cost,
    nondecreasing_hull,
    oracle_choice,
    oracle_frontier,
    oracle_steps,
    percentile_interval,
    pgr,
    quantile_thresholds,
    threshold_decisions,
)
from persona_lab.routers import lambda_grid, utility_choice

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["NTierRun", "analyze_suite_ntier", "seed_mean_interval", "seed_spread", "sweep_measures",
           "two_tier_seed_metrics", "two_tier_sweep_samples"]


@dataclass
class NTierRun:
    """A router's loop run plus, for N-tier learned routers, its out-of-fold predictions per seed."""

    run: RouterRun
    predicted: list[NDArray[np.float64]]  # per seed: (units, tiers), NaN rows where a fold failed
    rel_cost: list[NDArray[np.float64]]  # per seed: (units, tiers)
    lam: list[NDArray[np.float64]]  # per seed: the λ each unit's fold router decides with


@dataclass(frozen=True, kw_only=True)
class _Frame:
    """The numbers every router is measured against."""

    quality: NDArray[np.float64]
    cost: NDArray[np.float64]
    single_cost: NDArray[np.float64]
    single_quality: NDArray[np.float64]
    cost_range: tuple[float, float]
    zero_aiq: float
    oracle_costs: NDArray[np.float64]
    oracle_quals: NDArray[np.float64]
    oracle_aiq: float

    @classmethod
    def build(cls, quality: NDArray[np.float64], cost: NDArray[np.float64],
              weights: NDArray[np.float64] | None = None, steps: OracleSteps | None = None) -> _Frame:
        w = np.ones(quality.shape[0]) if weights is None else weights
        single_cost = w @ cost
        single_quality = (w @ quality) / w.sum()
        lo_hi = (float(single_cost.min()), float(single_cost.max()))
        zero = aiq(single_cost, single_quality, cost_range=lo_hi)
        o_cost, o_qual = oracle_frontier(quality, cost, weights=w, steps=steps)
        oracle = aiq(np.concatenate([o_cost, single_cost]), np.concatenate([o_qual, single_quality]), cost_range=lo_hi)
        return cls(quality=quality, cost=cost, single_cost=single_cost, single_quality=single_quality,
                   cost_range=lo_hi, zero_aiq=zero, oracle_costs=o_cost, oracle_quals=o_qual, oracle_aiq=oracle)

    def ends(self) -> tuple[list[float], list[float]]:
        """The cheapest and the dearest single tier: a router's curve is closed with them."""
        lo, hi = int(np.argmin(self.single_cost)), int(np.argmax(self.single_cost))
        return ([float(self.single_cost[lo]), float(self.single_cost[hi])],
                [float(self.single_quality[lo]), float(self.single_quality[hi])])

    def area(self, costs: Sequence[float], quals: Sequence[float]) -> float:
        """AIQ of the points closed with the cheapest and the dearest single tier (as :meth:`measures`)."""
        end_c, end_q = self.ends()
        return aiq(np.asarray([*costs, *end_c], dtype=float), np.asarray([*quals, *end_q], dtype=float),
                   cost_range=self.cost_range)

    def measures(self, costs: Sequence[float], quals: Sequence[float]) -> dict[str, float]:
        """AIQ, gap closed, cost to match always-frontier (share of its cost), quality at always-mid cost."""
        end_c, end_q = self.ends()
        c = np.asarray([*costs, *end_c], dtype=float)
        q = np.asarray([*quals, *end_q], dtype=float)
        top = int(np.argmax(self.single_cost))
        value = self.area(costs, quals)
        match = hull_cost_for_quality(c, q, float(self.single_quality[top]))
        mid = int(np.argsort(self.single_cost)[len(self.single_cost) // 2])
        return {
            "aiq": value,
            "gap_closed": gap_closed(value, self.zero_aiq, self.oracle_aiq),
            "cost_to_match_frontier": match / float(self.single_cost[top]) if self.single_cost[top] > 0 else np.nan,
            "quality_at_mid_cost": hull_quality_at_cost(c, q, float(self.single_cost[mid])),
        }


def _sweep_points(frame: _Frame, predicted: NDArray[np.float64], rel_cost: NDArray[np.float64],
                  n: int = 41) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """λ values and each one's tier choice per unit (units with no prediction get the cheapest tier)."""
    ok = ~np.isnan(predicted).any(axis=1)
    cheapest = int(np.argmin(frame.single_cost))
    lambdas = lambda_grid(predicted[ok], rel_cost[ok][0] if ok.any() else np.linspace(0, 1, predicted.shape[1]), n)
    choices = np.full((len(lambdas), predicted.shape[0]), cheapest, dtype=np.int64)
    if ok.any():
        groups: dict[bytes, list[int]] = {}
        for row in np.flatnonzero(ok):  # one relative-cost vector per fold
            groups.setdefault(rel_cost[row].tobytes(), []).append(int(row))
        for key, rows in groups.items():
            rc = np.frombuffer(key, dtype=float)
            idx = np.asarray(rows)
            for k, lam in enumerate(lambdas):
                choices[k, idx] = utility_choice(predicted[idx], rc, float(lam))
    return lambdas, choices


def _default_choice(predicted: NDArray[np.float64], rel_cost: NDArray[np.float64], lam: NDArray[np.float64],
                    fallback: int) -> NDArray[np.int64]:
    choice = np.full(predicted.shape[0], fallback, dtype=np.int64)
    ok = ~np.isnan(predicted).any(axis=1) & ~np.isnan(lam)
    for row in np.flatnonzero(ok):
        choice[row] = int(utility_choice(predicted[row][None, :], rel_cost[row], float(lam[row]))[0])
    return choice


def _seed_measures(frame: _Frame, run: NTierRun) -> list[dict[str, float]]:
    rows = np.arange(frame.quality.shape[0])
    out = []
    for predicted, rel_cost in zip(run.predicted, run.rel_cost, strict=True):
        _, choices = _sweep_points(frame, predicted, rel_cost)
        quals = frame.quality[rows[None, :], choices].mean(axis=1)
        costs = frame.cost[rows[None, :], choices].sum(axis=1)
        out.append(frame.measures(costs.tolist(), quals.tolist()))
    return out


def _sweep_samples(frame: _Frame, frames_b: list[_Frame], weights: NDArray[np.float64],
                   predicted: NDArray[np.float64], rel_cost: NDArray[np.float64]) -> dict[str, NDArray[np.float64]]:
    """One seed's λ-sweep AIQ and gap closed under each resample (``frames_b[b]`` built with ``weights[b]``)."""
    rows = np.arange(frame.quality.shape[0])
    _, choices = _sweep_points(frame, predicted, rel_cost)
    quals = weights @ frame.quality[rows[None, :], choices].T / weights.sum(axis=1)[:, None]
    costs = weights @ frame.cost[rows[None, :], choices].T
    areas = np.array([fb.area(c.tolist(), q.tolist()) for fb, c, q in zip(frames_b, costs, quals, strict=True)])
    gaps = np.array([gap_closed(a, fb.zero_aiq, fb.oracle_aiq) for a, fb in zip(areas, frames_b, strict=True)])
    return {"aiq": areas, "gap_closed": gaps}


def _spread(row: dict[str, Any], per_seed: list[dict[str, float]]) -> None:
    if not per_seed:
        return
    row["n_seeds"] = len(per_seed)
    for name in per_seed[0]:
        values = np.array([m[name] for m in per_seed], dtype=float)
        finite = values[np.isfinite(values)]
        row[f"{name}_seed_mean"] = float(finite.mean()) if finite.size else float("nan")
        row[f"{name}_seed_sd"] = float(finite.std(ddof=1)) if finite.size > 1 else float("nan")
        row[f"{name}_seed_min"] = float(finite.min()) if finite.size else float("nan")
        row[f"{name}_seed_max"] = float(finite.max()) if finite.size else float("nan")


def analyze_suite_ntier(units: UnitTable, runs: list[NTierRun], *, tier_cost: dict[str, NDArray[np.float64]],
                        n_boot: int = 200, seed: int = 0, level: float = 0.95) -> SuiteAnalysis:
    """Summary rows and curve points for every run of one suite with three or more tiers."""
    tiers = list(units.scores)
    quality = np.column_stack([units.scores[t] for t in tiers])
    cost = np.column_stack([np.nan_to_num(tier_cost[t]) for t in tiers])
    steps = oracle_steps(quality, cost)
    frame = _Frame.build(quality, cost, steps=steps)
    n = len(units)
    top = int(np.argmax(frame.single_cost))
    cheapest = int(np.argmin(frame.single_cost))
    base = {"suite": units.suite}
    summary: list[dict[str, Any]] = []
    curves: list[dict[str, Any]] = []
    boot = n_boot > 0
    weights = bootstrap_weights(units.n_items, n_boot, seed=seed)[:, units.item_index] if boot else np.zeros((0, n))
    frames_b = [_Frame.build(quality, cost, w, steps) for w in weights] if boot else []
    w_small, w_top = float(frame.single_quality[cheapest]), float(frame.single_quality[top])
    rows_idx = np.arange(n)

    for item in runs:
        run = item.run
        valid = ~np.isnan(run.score)
        q_ = float(np.nanmean(run.score)) if valid.any() else float("nan")
        c_ = float(np.nansum(run.cost))
        shares = {t: float(np.mean([x == t for x in run.tier[valid]])) if valid.any() else float("nan") for t in tiers}
        sweep_c: list[float] = []
        sweep_q: list[float] = []
        choices = None
        if item.predicted:
            lambdas, choices = _sweep_points(frame, item.predicted[0], item.rel_cost[0])
            sweep_q = frame.quality[rows_idx[None, :], choices].mean(axis=1).tolist()
            sweep_c = frame.cost[rows_idx[None, :], choices].sum(axis=1).tolist()
            for lam, cc, qq, ch in zip(lambdas, sweep_c, sweep_q, choices, strict=True):
                point_shares = {f"share_{t}": float(np.mean(ch == k)) for k, t in enumerate(tiers)}
                curves.append({**base, "router": run.label, "kind": "sweep", "threshold": float(lam),
                               "strong_share": point_shares[f"share_{tiers[top]}"], "quality": qq, "cost_usd": cc,
                               "pgr": float(pgr(qq, w_small, w_top))})
                summary.append({**base, "router": run.label, "point": "sweep", "threshold": float(lam),
                                "evaluation": run.evaluation, "n_items": units.n_items, "n_turns": n, "n_failed": 0,
                                "quality": qq, "pgr": float(pgr(qq, w_small, w_top)), "cost_usd": cc,
                                "cost_per_turn_usd": cc / n, "strong_share": point_shares[f"share_{tiers[top]}"],
                                **point_shares})
        curves.append({**base, "router": run.label, "kind": "loop", "threshold": np.nan,
                       "strong_share": shares[tiers[top]], "quality": q_, "cost_usd": c_,
                       "pgr": float(pgr(q_, w_small, w_top))})
        measures = frame.measures([*sweep_c, c_], [*sweep_q, q_]) if valid.any() else {}
        row: dict[str, Any] = {
            **base, "router": run.label, "point": "loop", "threshold": np.nan, "evaluation": run.evaluation,
            "n_items": len(set(units.item_index[valid].tolist())) if valid.any() else 0,
            "n_turns": n, "n_failed": int((~valid).sum()), "quality": q_, "pgr": float(pgr(q_, w_small, w_top)),
            "cost_usd": c_, "cost_per_turn_usd": c_ / max(1, int(valid.sum())), "strong_share": shares[tiers[top]],
            **{f"share_{t}": v for t, v in shares.items()}, **measures,
            "zero_router_aiq": frame.zero_aiq, "oracle_aiq": frame.oracle_aiq,
            "random_quality_at_cost": hull_quality_at_cost(frame.single_cost, frame.single_quality, c_),
            "oracle_quality_at_cost": hull_quality_at_cost(frame.oracle_costs, frame.oracle_quals, c_),
            "loop_ms_p50": float(np.nanmedian(run.latency) * 1000) if valid.any() else np.nan, "note": run.note,
        }
        if item.predicted:  # repeated CV: the headline measures are the mean over the seeds' sweeps
            _spread(row, _seed_measures(frame, item))
            for name in ("aiq", "gap_closed", "cost_to_match_frontier", "quality_at_mid_cost"):
                row[f"{name}_first_seed"] = row.get(name)
                row[name] = row.get(f"{name}_seed_mean", row.get(name))
        if boot and valid.any():
            wsum = weights @ valid.astype(float)
            b_quality = (weights @ np.where(valid, run.score, 0.0)) / wsum
            b_cost = weights @ np.nan_to_num(run.cost)
            top_share = np.array([x == tiers[top] for x in run.tier], dtype=float)
            b_share = (weights @ np.where(valid, top_share, 0.0)) / wsum
            if item.predicted:  # the CI of the seed mean: per resample, every seed's sweep on it, averaged
                per_seed_b = [_sweep_samples(frame, frames_b, weights, p, c)
                              for p, c in zip(item.predicted, item.rel_cost, strict=True)]
                for name in ("aiq", "gap_closed"):
                    row[f"{name}_first_seed_lo"], row[f"{name}_first_seed_hi"] = percentile_interval(
                        per_seed_b[0][name], level)
                    row[f"{name}_lo"], row[f"{name}_hi"] = seed_mean_interval([x[name] for x in per_seed_b], level)
            else:
                b_aiq = np.array([fb.area([b_cost[b]], [b_quality[b]]) for b, fb in enumerate(frames_b)])
                b_gap = np.array([gap_closed(a, fb.zero_aiq, fb.oracle_aiq) for a, fb in zip(b_aiq, frames_b,
                                                                                              strict=True)])
                for name, samples in (("aiq", b_aiq), ("gap_closed", b_gap)):
                    row[f"{name}_lo"], row[f"{name}_hi"] = percentile_interval(samples, level)
            for name, samples in (("quality", b_quality), ("cost", b_cost), ("strong_share", b_share)):
                row[f"{name}_lo"], row[f"{name}_hi"] = percentile_interval(np.asarray(samples, dtype=float), level)
        summary.append(row)

    # -- analytic baselines -----------------------------------------------------------------------
    choice = oracle_choice(quality, cost)
    o_q = float(quality[rows_idx, choice].mean())
    o_c = float(cost[rows_idx, choice].sum())
    random_q = float(frame.single_quality.mean())
    random_c = float(frame.single_cost.mean())
    o_measures = frame.measures(frame.oracle_costs.tolist(), frame.oracle_quals.tolist())
    zero_measures = frame.measures(frame.single_cost.tolist(), frame.single_quality.tolist())
    for label, q_, c_, shares, measures, note in (
        ("random (expected)", random_q, random_c, dict.fromkeys(tiers, 1 / len(tiers)),
         frame.measures([random_c], [random_q]), "each tier with equal probability"),
        ("zero router (single tiers)", float("nan"), float("nan"), {}, zero_measures,
         "mixing the single tiers at random: the hull of the always-<tier> points"),
        ("oracle (recorded)", o_q, o_c, {t: float(np.mean(choice == k)) for k, t in enumerate(tiers)}, o_measures,
         "per turn the cheapest tier with the best recorded score; curve: exact best quality per budget"),
    ):
        summary.append({**base, "router": label, "point": "curve", "threshold": np.nan, "evaluation": "analytic",
                        "n_items": units.n_items, "n_turns": n, "n_failed": 0, "quality": q_,
                        "pgr": float(pgr(q_, w_small, w_top)), "cost_usd": c_, "cost_per_turn_usd": c_ / n,
                        "strong_share": shares.get(tiers[top], np.nan),
                        **{f"share_{t}": v for t, v in shares.items()}, **measures,
                        "zero_router_aiq": frame.zero_aiq, "oracle_aiq": frame.oracle_aiq, "note": note})
    hull = nondecreasing_hull(frame.single_cost, frame.single_quality)
    for c_, q_ in hull:
        curves.append({**base, "router": "zero router (single tiers)", "kind": "baseline", "threshold": np.nan,
                       "strong_share": np.nan, "quality": float(q_), "cost_usd": float(c_),
                       "pgr": float(pgr(q_, w_small, w_top))})
    keep = np.unique(np.linspace(0, len(frame.oracle_costs) - 1, min(201, len(frame.oracle_costs))).astype(int))
    for c_, q_ in zip(frame.oracle_costs[keep], frame.oracle_quals[keep], strict=True):
        curves.append({**base, "router": "oracle (recorded)", "kind": "baseline", "threshold": np.nan,
                       "strong_share": np.nan, "quality": float(q_), "cost_usd": float(c_),
                       "pgr": float(pgr(q_, w_small, w_top))})
    for row in summary:
        row.setdefault("pareto", False)
    info = {"suite": units.suite, "n_items": units.n_items, "n_turns": n, "weak_tier": tiers[cheapest],
            "strong_tier": tiers[top], "weak_quality": w_small, "strong_quality": w_top,
            "weak_cost_usd": float(frame.single_cost[cheapest]), "strong_cost_usd": float(frame.single_cost[top]),
            "tiers": tiers, "tier_quality": dict(zip(tiers, frame.single_quality.tolist(), strict=True)),
            "tier_cost_usd": dict(zip(tiers, frame.single_cost.tolist(), strict=True)),
            "zero_router_aiq": frame.zero_aiq, "oracle_aiq": frame.oracle_aiq}
    return SuiteAnalysis(summary, curves, info)


def two_tier_seed_metrics(units: UnitTable, scores: NDArray[np.float64], *, weak_cost: NDArray[np.float64],
                          strong_cost: NDArray[np.float64], sweep_points: int = 10,
                          first_turn_only: bool = False) -> dict[str, float]:
    """APGR and AIQ of one seed's out-of-fold threshold sweep (as the two-tier summary computes them)."""
    out = two_tier_sweep_samples(units, scores, np.ones((1, len(units))), weak_cost=weak_cost,
                                 strong_cost=strong_cost, sweep_points=sweep_points, first_turn_only=first_turn_only)
    return {name: float(values[0]) for name, values in out.items()}


def two_tier_sweep_samples(units: UnitTable, scores: NDArray[np.float64], weights: NDArray[np.float64], *,
                           weak_cost: NDArray[np.float64], strong_cost: NDArray[np.float64], sweep_points: int = 10,
                           first_turn_only: bool = False) -> dict[str, NDArray[np.float64]]:
    """APGR and AIQ of one seed's threshold sweep under each row of unit ``weights`` (resamples × units).

    The thresholds and decisions are the sweep's on all units; a resample re-weights the units
    (all-ones weights give the point estimate). Returns ``{"apgr": (rows,), "aiq": (rows,)}``.
    """
    w, s = units.weak, units.strong
    wc, sc = np.nan_to_num(weak_cost), np.nan_to_num(strong_cost)
    basis = scores[units.first_turn_rows()] if first_turn_only else scores
    thresholds = quantile_thresholds(basis[units.turn == 0] if first_turn_only else basis, sweep_points)
    decisions = threshold_decisions(basis, thresholds)
    wsum = weights.sum(axis=1)
    b_w, b_s = weights @ w / wsum, weights @ s / wsum
    b_cw, b_cs = weights @ wc, weights @ sc
    per_unit = np.ascontiguousarray(np.vstack([decisions, np.where(decisions, s, w), np.where(decisions, sc, wc)]).T,
                                    dtype=float)  # (units, 3 × points): one product for the whole sweep
    sums = weights @ per_unit
    points = decisions.shape[0]
    shares, quals = sums[:, :points] / wsum[:, None], sums[:, points:2 * points] / wsum[:, None]
    costs = sums[:, 2 * points:]
    gap = b_s - b_w
    with np.errstate(invalid="ignore", divide="ignore"):  # no gap: NaN PGRs, as metrics.pgr gives
        pgrs = np.where((gap == 0)[:, None], np.nan, (quals - b_w[:, None]) / gap[:, None])
    apgrs = _apgr_rows(shares, pgrs)
    aiqs = _aiq_rows(np.column_stack([costs, b_cw, b_cs]), np.column_stack([quals, b_w, b_s]),
                     np.minimum(b_cw, b_cs), np.maximum(b_cw, b_cs))
    return {"apgr": apgrs, "aiq": aiqs}


def _aiq_rows(costs: NDArray[np.float64], quals: NDArray[np.float64], lo: NDArray[np.float64],
              hi: NDArray[np.float64]) -> NDArray[np.float64]:
    """:func:`persona_lab.metrics.aiq` of each row's points over ``(lo, hi)`` at once (for a few points a row).

    The upper concave envelope at ``x`` is the best mix of two points whose costs bracket ``x``;
    with the best point at most as dear as ``x`` it gives the non-decreasing hull, linear between
    the points' costs, so the trapezoids over those costs (clipped to the range) give the area
    exactly. Rows the shortcut does not cover (NaN, an empty or degenerate range) fall back to ``aiq``.
    """
    start = np.maximum(lo, costs.min(axis=1))
    grid = np.sort(np.clip(np.column_stack([costs, start, hi]), start[:, None], hi[:, None]), axis=1)
    x = grid[:, :, None, None]
    ci, cj = costs[:, None, :, None], costs[:, None, None, :]
    qi, qj = quals[:, None, :, None], quals[:, None, None, :]
    span = cj - ci
    with np.errstate(invalid="ignore", divide="ignore"):
        mixed = np.where((ci <= x) & (x <= cj) & (span > 0), qi + (qj - qi) * (x - ci) / span, -np.inf)
    cheaper = np.where(costs[:, None, :] <= grid[:, :, None], quals[:, None, :], -np.inf)  # flat past the peak
    hull = np.maximum(mixed.max(axis=(2, 3)), cheaper.max(axis=2))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.sum((grid[:, 1:] - grid[:, :-1]) * (hull[:, 1:] + hull[:, :-1]) / 2.0, axis=1) / (hi - lo)
    odd = ~np.isfinite(out) | ~np.isfinite(hull).all(axis=1) | (start >= hi) | (hi <= lo)
    for row in np.flatnonzero(odd):
        out[row] = aiq(costs[row], quals[row], cost_range=(float(lo[row]), float(hi[row])))
    return np.asarray(out, dtype=np.float64)


def _apgr_rows(shares: NDArray[np.float64], pgrs: NDArray[np.float64]) -> NDArray[np.float64]:
    """:func:`persona_lab.metrics.apgr` of each row at once (rows with a NaN PGR fall back to it)."""
    def closing(share: float, default: float) -> NDArray[np.float64]:  # a copy of a point already there adds nothing
        at = shares == share
        return np.where(at.any(axis=1), pgrs[np.arange(len(shares)), at.argmax(axis=1)], default)[:, None]

    ones, zeros = np.ones((len(shares), 1)), np.zeros((len(shares), 1))
    s = np.hstack([shares, zeros, ones])  # closed with (0, 0) and (1, 1) as metrics.apgr closes it
    p = np.hstack([pgrs, closing(0.0, 0.0), closing(1.0, 1.0)])
    order = np.lexsort((p, s), axis=-1)
    s, p = np.take_along_axis(s, order, axis=1), np.take_along_axis(p, order, axis=1)
    with np.errstate(invalid="ignore"):
        out = np.sum((s[:, 1:] - s[:, :-1]) * (p[:, 1:] + p[:, :-1]) / 2.0, axis=1)
    for row in np.flatnonzero(~np.isfinite(out)):
        out[row] = apgr(shares[row], pgrs[row])
    return np.asarray(out, dtype=np.float64)


def seed_mean_interval(samples: Sequence[NDArray[np.float64]], level: float) -> tuple[float, float]:
    """Percentile interval of the seed-averaged metric: per resample, the mean over seeds (NaN seeds left out)."""
    stacked = np.vstack(samples)
    finite = np.isfinite(stacked)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(finite, stacked, 0.0).sum(axis=0) / finite.sum(axis=0)
    return percentile_interval(mean, level)


def seed_spread(row: dict[str, Any], per_seed: list[dict[str, float]]) -> None:
    """Add ``<name>_seed_mean``/``_seed_sd``/``_seed_min``/``_seed_max`` and ``n_seeds`` to a summary row."""
    _spread(row, per_seed)


def sweep_measures(quality: NDArray[np.float64], cost: NDArray[np.float64], predicted: NDArray[np.float64],
                   rel_cost: NDArray[np.float64], lam: NDArray[np.float64] | None = None) -> dict[str, float]:
    """A λ sweep's measures on recorded outcomes, as the N-tier summary computes them.

    ``quality``/``cost``: recorded score and cost per unit and tier (cheapest first);
    ``predicted``/``rel_cost``: a router's predicted quality and relative tier costs per unit (out
    of fold, or from a router fitted elsewhere); ``lam``: the λ per unit of its default point.
    Returns ``aiq``, ``gap_closed``, ``cost_to_match_frontier``, ``quality_at_mid_cost``,
    ``zero_router_aiq``, ``oracle_aiq``, and with ``lam`` the default point's ``default_quality``,
    ``default_cost_share`` (of always-dearest's cost) and ``default_top_share`` (largest tier share).
    """
    frame = _Frame.build(quality, cost)
    rows = np.arange(quality.shape[0])
    _, choices = _sweep_points(frame, predicted, rel_cost)
    out = frame.measures(cost[rows[None, :], choices].sum(axis=1).tolist(),
                         quality[rows[None, :], choices].mean(axis=1).tolist())
    out.update(zero_router_aiq=frame.zero_aiq, oracle_aiq=frame.oracle_aiq)
    if lam is not None:
        choice = _default_choice(predicted, rel_cost, lam, int(np.argmin(frame.single_cost)))
        top = float(frame.single_cost.max())
        out.update(default_quality=float(quality[rows, choice].mean()),
                   default_cost_share=float(cost[rows, choice].sum()) / top if top > 0 else float("nan"),
                   default_top_share=float(np.bincount(choice, minlength=quality.shape[1]).max() / len(choice)))
    return out
