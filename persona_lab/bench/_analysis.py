"""Turning one suite's replays into summary rows and curves (metrics + bootstrap over items).

Inputs per router: its turn logs aligned to the suite's units, and, for threshold routers,
one score per unit (out-of-fold for learned routers). Threshold routers are swept over
RouteLLM's 10-quantile thresholds with the vectorised fast path; every other router is one
operating point (its loop run), closed with the always-weak and always-strong points.
Per-unit costs of the sweep come from the always-weak and always-strong replays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from persona_lab.bench._units import UnitTable
from persona_lab.metrics import (
    aiq,
    apgr,
    bootstrap_weights,
    cpt,
    oracle_curve,
    oracle_frontier,
    oracle_quality,
    oracle_quality_at_cost,
    pareto_frontier,
    percentile_interval,
    pgr,
    quantile_thresholds,
    random_quality,
    threshold_decisions,
)

if TYPE_CHECKING:
    import pandas as pd
    from numpy.typing import NDArray

__all__ = ["RouterRun", "SuiteAnalysis", "analyze_suite", "exact_oracle_shares"]



@dataclass
class RouterRun:
    """One router's replay of one suite, aligned to the suite's units."""

    label: str
    tier: NDArray[np.object_]
    score: NDArray[np.float64]
    cost: NDArray[np.float64]
    latency: NDArray[np.float64]
    sweep_scores: NDArray[np.float64] | None
    evaluation: str
    note: str = ""

    @classmethod
    def from_frame(cls, units: UnitTable, frame: pd.DataFrame, label: str, sweep_scores: NDArray[np.float64] | None,
                   evaluation: str, note: str = "") -> RouterRun:
        import pandas as pd

        index = pd.MultiIndex.from_arrays([frame["item_id"].astype(str).to_numpy(),
                                           frame["turn_index"].astype("int64").to_numpy()])
        keyed = frame.set_axis(index)
        keyed = keyed[~keyed.index.duplicated(keep="last")]
        target = pd.MultiIndex.from_arrays([np.asarray(units.item_ids, dtype=object)[units.item_index], units.turn])
        aligned = keyed.reindex(target)
        failed = aligned["error"].notna().to_numpy() | aligned["tier"].isna().to_numpy()
        score = aligned["score"].astype("float64").to_numpy().copy()
        score[failed] = np.nan
        return cls(
            label=label,
            tier=aligned["tier"].astype(object).where(~failed, None).to_numpy(dtype=object),
            score=np.asarray(score, dtype=np.float64),
            cost=np.asarray(aligned["total_cost_usd"].astype("float64").to_numpy(), dtype=np.float64),
            latency=np.asarray(aligned["latency_s"].astype("float64").to_numpy(), dtype=np.float64),
            sweep_scores=sweep_scores,
            evaluation=evaluation,
            note=note,
        )


@dataclass
class SuiteAnalysis:
    summary: list[dict[str, Any]]
    curves: list[dict[str, Any]]
    info: dict[str, Any]


def _weighted_mean(weights: NDArray[np.float64], values: NDArray[np.float64]) -> NDArray[np.float64]:
    valid = ~np.isnan(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        result: NDArray[np.float64] = (weights @ np.where(valid, values, 0.0)) / (weights @ valid.astype(float))
    return result


def _ci(samples: NDArray[np.float64] | list[float], level: float) -> tuple[float, float]:
    return percentile_interval(np.asarray(samples, dtype=float), level)


def analyze_suite(
    units: UnitTable,
    runs: list[RouterRun],
    *,
    weak_cost: NDArray[np.float64],
    strong_cost: NDArray[np.float64],
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
    sweep_points: int = 10,
    first_turn_only: bool = False,
) -> SuiteAnalysis:
    """Summary rows and curve points for every run of one suite."""
    w_scores, s_scores = units.weak, units.strong
    n = len(units)
    r_weak, r_strong = float(w_scores.mean()), float(s_scores.mean())
    c_weak, c_strong = float(np.nansum(weak_cost)), float(np.nansum(strong_cost))
    cost_range = (min(c_weak, c_strong), max(c_weak, c_strong))
    wc = np.nan_to_num(weak_cost)
    sc = np.nan_to_num(strong_cost)
    boot = n_boot > 0
    weights = bootstrap_weights(units.n_items, n_boot, seed=seed)[:, units.item_index] if boot else np.zeros((0, n))
    wsum = weights.sum(axis=1) if boot else np.zeros(0)
    b_weak = weights @ w_scores / wsum if boot else np.zeros(0)
    b_strong = weights @ s_scores / wsum if boot else np.zeros(0)
    b_cweak = weights @ np.nan_to_num(weak_cost) if boot else np.zeros(0)
    b_cstrong = weights @ np.nan_to_num(strong_cost) if boot else np.zeros(0)
    oracle_unit_w, oracle_unit_s, oracle_cost_w, oracle_cost_s = w_scores, s_scores, wc, sc
    if first_turn_only:  # RouteLLM's MT Bench oracle: one choice per question, scored on its mean
        per_item = np.bincount(units.item_index).astype(float)
        oracle_unit_w = np.bincount(units.item_index, weights=w_scores) / per_item
        oracle_unit_s = np.bincount(units.item_index, weights=s_scores) / per_item
        oracle_cost_w = np.bincount(units.item_index, weights=wc).astype(np.float64)
        oracle_cost_s = np.bincount(units.item_index, weights=sc).astype(np.float64)

    summary: list[dict[str, Any]] = []
    curves: list[dict[str, Any]] = []
    base = {"suite": units.suite}

    def closed_aiq(costs: list[float], qualities: list[float], lo_hi: tuple[float, float],
                   ends: tuple[float, float, float, float]) -> float:
        cw_, qw_, cs_, qs_ = ends
        return aiq([*costs, cw_, cs_], [*qualities, qw_, qs_], cost_range=lo_hi)

    for run in runs:
        valid = ~np.isnan(run.score)
        strong = np.array([t == units.strong_tier for t in run.tier], dtype=float)
        strong[~valid] = np.nan
        quality = float(np.nanmean(run.score)) if valid.any() else float("nan")
        share = float(np.nanmean(strong)) if valid.any() else float("nan")
        cost = float(np.nansum(run.cost))
        point_pgr = float(pgr(quality, r_weak, r_strong))
        # -- the curve: a sweep for threshold routers, else the loop point ----------------------
        sweep = None
        if run.sweep_scores is not None and not np.all(np.isnan(run.sweep_scores)):
            scores = run.sweep_scores
            basis = scores[units.first_turn_rows()] if first_turn_only else scores
            thresholds = quantile_thresholds(basis[units.turn == 0] if first_turn_only else basis, sweep_points)
            decisions = threshold_decisions(basis, thresholds)
            chosen = np.where(decisions, s_scores[None, :], w_scores[None, :])
            chosen_cost = np.where(decisions, sc[None, :], wc[None, :])
            sweep = (thresholds, decisions, chosen, chosen_cost)
            shares = decisions.mean(axis=1)
            qualities = chosen.mean(axis=1)
            costs = chosen_cost.sum(axis=1)
            pgrs = np.atleast_1d(pgr(qualities, r_weak, r_strong))
            curve_shares, curve_pgrs = np.asarray(shares), pgrs
            for t, s_, q_, c_, p_ in zip(np.append(thresholds, np.nan), shares, qualities, costs, pgrs, strict=True):
                curves.append({**base, "router": run.label, "kind": "sweep", "threshold": float(t),
                               "strong_share": float(s_), "quality": float(q_), "cost_usd": float(c_),
                               "pgr": float(p_)})
            aiq_costs, aiq_quals = [*costs.tolist(), cost], [*qualities.tolist(), quality]
        else:
            curve_shares, curve_pgrs = np.array([share]), np.array([point_pgr])
            aiq_costs, aiq_quals = [cost], [quality]
        curves.append({**base, "router": run.label, "kind": "loop", "threshold": np.nan, "strong_share": share,
                       "quality": quality, "cost_usd": cost, "pgr": point_pgr})
        ends = (c_weak, r_weak, c_strong, r_strong)
        row: dict[str, Any] = {
            **base, "router": run.label, "point": "loop", "threshold": np.nan, "evaluation": run.evaluation,
            "n_items": len(set(units.item_index[valid].tolist())) if valid.any() else 0,
            "n_turns": int(n), "n_failed": int((~valid).sum()),
            "quality": quality, "pgr": point_pgr, "cost_usd": cost,
            "cost_per_turn_usd": cost / max(1, int(valid.sum())), "strong_share": share,
            "random_quality": float(random_quality(w_scores, s_scores, share)) if valid.any() else np.nan,
            "oracle_quality": float(oracle_quality(w_scores, s_scores, share)) if valid.any() else np.nan,
            "apgr": apgr(curve_shares, curve_pgrs),
            "cpt50": cpt(curve_shares, curve_pgrs, 0.5),
            "cpt80": cpt(curve_shares, curve_pgrs, 0.8),
            "aiq": closed_aiq(aiq_costs, aiq_quals, cost_range, ends) if valid.any() else np.nan,
            "loop_ms_p50": float(np.nanmedian(run.latency) * 1000) if valid.any() else np.nan,
            "note": run.note,
        }
        if boot and valid.any():
            b_quality = _weighted_mean(weights, run.score)
            b_share = _weighted_mean(weights, strong)
            b_cost = weights @ np.nan_to_num(run.cost)
            b_apgr, b_cpt50, b_cpt80, b_aiq = [], [], [], []
            if sweep is not None:
                _, decisions, chosen, chosen_cost = sweep
                b_shares = (weights @ decisions.T.astype(float)) / wsum[:, None]
                b_quals = (weights @ chosen.T) / wsum[:, None]
                b_costs = weights @ chosen_cost.T
            for b in range(n_boot):
                if sweep is not None:
                    shares_b, pgrs_b = b_shares[b], pgr(b_quals[b], b_weak[b], b_strong[b])
                    costs_b, quals_b = [*b_costs[b].tolist(), b_cost[b]], [*b_quals[b].tolist(), b_quality[b]]
                else:
                    shares_b = np.array([b_share[b]])
                    pgrs_b = np.atleast_1d(pgr(b_quality[b], b_weak[b], b_strong[b]))
                    costs_b, quals_b = [b_cost[b]], [b_quality[b]]
                b_apgr.append(apgr(shares_b, pgrs_b))
                b_cpt50.append(cpt(shares_b, pgrs_b, 0.5))
                b_cpt80.append(cpt(shares_b, pgrs_b, 0.8))
                lo_hi = (min(b_cweak[b], b_cstrong[b]), max(b_cweak[b], b_cstrong[b]))
                b_aiq.append(closed_aiq(costs_b, quals_b, lo_hi, (b_cweak[b], b_weak[b], b_cstrong[b], b_strong[b])))
            for name, samples in (("quality", b_quality), ("cost", b_cost), ("strong_share", b_share),
                                  ("apgr", b_apgr), ("cpt50", b_cpt50), ("cpt80", b_cpt80), ("aiq", b_aiq)):
                row[f"{name}_lo"], row[f"{name}_hi"] = _ci(samples, level)
        summary.append(row)
        if sweep is not None:
            thresholds, decisions, chosen, chosen_cost = sweep
            for t, d, ch, cc in zip(np.append(thresholds, np.nan), decisions, chosen, chosen_cost, strict=True):
                q_ = float(ch.mean())
                s_ = float(d.mean())
                summary.append({**base, "router": run.label, "point": "sweep", "threshold": float(t),
                                "evaluation": run.evaluation, "n_items": units.n_items, "n_turns": int(n),
                                "n_failed": 0, "quality": q_, "pgr": float(pgr(q_, r_weak, r_strong)),
                                "cost_usd": float(cc.sum()), "cost_per_turn_usd": float(cc.sum()) / n,
                                "strong_share": s_,
                                "random_quality": float(random_quality(w_scores, s_scores, s_)),
                                "oracle_quality": float(oracle_quality(w_scores, s_scores, s_))})

    # -- analytic baselines: random (expected) and the oracle from the recorded outcomes ------------
    # The oracle's curve is evaluated exactly: at every strong share where its marginal gain changes
    # (not on an 11-point grid); its AIQ on its exact best-quality-per-budget curve.
    grid = np.linspace(0.0, 1.0, 11)
    exact = exact_oracle_shares(oracle_unit_w, oracle_unit_s)
    rand = random_quality(w_scores, s_scores, grid)
    orc = oracle_curve(oracle_unit_w, oracle_unit_s, exact, weak_cost=oracle_cost_w, strong_cost=oracle_cost_s)
    orc_quality = orc["quality"].to_numpy()
    orc_cost = (orc["cost_usd"].to_numpy() if "cost_usd" in orc.columns
                else c_weak + exact * (c_strong - c_weak))
    frontier_c, frontier_q = oracle_frontier(np.column_stack([oracle_unit_w, oracle_unit_s]),
                                             np.column_stack([oracle_cost_w, oracle_cost_s]))
    rand_cost = c_weak + grid * (c_strong - c_weak)
    for label, shares, qualities, costs, aiq_points in (
            ("random (expected)", grid, np.asarray(rand), rand_cost, (list(rand_cost), list(np.asarray(rand)))),
            ("oracle (recorded)", exact, orc_quality, orc_cost, (list(frontier_c), list(frontier_q)))):
        pgrs = np.asarray(pgr(qualities, r_weak, r_strong))
        for s_, q_, c_, p_ in zip(shares, qualities, costs, pgrs, strict=True):
            curves.append({**base, "router": label, "kind": "baseline", "threshold": np.nan,
                           "strong_share": float(s_), "quality": float(q_), "cost_usd": float(c_), "pgr": float(p_)})
        half_q = float(np.interp(0.5, shares, qualities))
        half_c = float(np.interp(0.5, shares, costs))
        summary.append({
            **base, "router": label, "point": "curve", "threshold": np.nan, "evaluation": "analytic",
            "n_items": units.n_items, "n_turns": int(n), "n_failed": 0,
            "quality": half_q, "pgr": float(pgr(half_q, r_weak, r_strong)), "cost_usd": half_c,
            "cost_per_turn_usd": half_c / n, "strong_share": 0.5,
            "apgr": apgr(shares, pgrs), "cpt50": cpt(shares, pgrs, 0.5), "cpt80": cpt(shares, pgrs, 0.8),
            "aiq": closed_aiq(*aiq_points, cost_range, (c_weak, r_weak, c_strong, r_strong)),
            "note": "at 50% strong calls; curve over 0–100% strong calls",
        })
    _matched_cost_baselines(summary, w_scores, s_scores, wc, sc)
    info = {"suite": units.suite, "n_items": units.n_items, "n_turns": n, "weak_tier": units.weak_tier,
            "strong_tier": units.strong_tier, "weak_quality": r_weak, "strong_quality": r_strong,
            "weak_cost_usd": c_weak, "strong_cost_usd": c_strong}
    return SuiteAnalysis(summary, curves, info)


def exact_oracle_shares(weak: NDArray[np.float64], strong: NDArray[np.float64]) -> NDArray[np.float64]:
    """The strong shares where the two-model oracle's curve bends: 0, every change of its marginal
    gain, its last useful call, and 1 (the curve is linear between them, so metrics on these are exact)."""
    gains = np.sort((strong - weak)[strong > weak])[::-1]
    n = weak.size
    bends = np.flatnonzero(np.diff(gains) != 0) + 1
    calls = np.unique(np.concatenate([[0], bends, [gains.size], [n]]))
    return np.asarray(calls / n, dtype=np.float64)


def _matched_cost_baselines(rows: list[dict[str, Any]], weak: NDArray[np.float64], strong: NDArray[np.float64],
                            weak_cost: NDArray[np.float64], strong_cost: NDArray[np.float64]) -> None:
    """Add random and oracle quality at each row's cost, and whether the row is Pareto-optimal.

    Random routing at cost ``c`` mixes the single models in the proportion that costs ``c``;
    the oracle buys upgrades by gain per dollar. The Pareto flag compares the routers' own
    points (loop runs and sweep points), not the analytic baselines.
    """
    c_weak, c_strong = float(weak_cost.sum()), float(strong_cost.sum())
    span = c_strong - c_weak
    for row in rows:
        cost = float(row.get("cost_usd", np.nan))
        if np.isnan(cost) or span <= 0:
            row["random_quality_at_cost"] = row["oracle_quality_at_cost"] = np.nan
            continue
        share = min(1.0, max(0.0, (cost - c_weak) / span))
        row["random_quality_at_cost"] = float(random_quality(weak, strong, share))
        row["oracle_quality_at_cost"] = float(oracle_quality_at_cost(weak, strong, weak_cost, strong_cost, cost))
    points = [r for r in rows if r.get("point") in ("loop", "sweep")]
    mask = pareto_frontier([r["cost_usd"] for r in points], [r["quality"] for r in points])
    for row, on in zip(points, mask, strict=True):
        row["pareto"] = bool(on)
    for row in rows:
        row.setdefault("pareto", False)
