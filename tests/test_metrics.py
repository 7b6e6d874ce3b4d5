"""Routing metrics against hand-computed cases, including ties and non-monotone curves."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from persona_lab.core import TurnLog
from persona_lab.logs import turn_logs_to_frame
from persona_lab.metrics import (
    aiq,
    apgr,
    bootstrap_mean_ci,
    bootstrap_weights,
    cpt,
    latency_summary,
    nondecreasing_hull,
    operating_points,
    oracle_curve,
    oracle_decisions,
    oracle_quality,
    oracle_quality_at_cost,
    pareto_frontier,
    percentile_interval,
    pgr,
    quality,
    quantile_thresholds,
    random_curve,
    random_quality,
    routing_curve,
    strong_share,
    summarize_turns,
    threshold_decisions,
    tier_shares,
    total_cost,
)

# -- PGR, APGR, CPT ----------------------------------------------------------------------------


def test_pgr_is_the_share_of_the_gap_recovered() -> None:
    assert pgr(0.7, 0.6, 0.8) == pytest.approx(0.5)
    assert pgr(0.9, 0.6, 0.8) == pytest.approx(1.5)  # beyond the strong model, as the oracle
    assert np.allclose(pgr([0.6, 0.8], 0.6, 0.8), [0.0, 1.0])
    assert math.isnan(pgr(0.7, 0.8, 0.8))  # no gap: undefined, not a division error


def test_apgr_of_random_routing_is_one_half_and_closure_adds_the_endpoints() -> None:
    assert apgr([0.0, 0.5, 1.0], [0.0, 0.5, 1.0]) == pytest.approx(0.5)
    # one operating point (0.5, 0.75), closed with (0, 0) and (1, 1): 0.5*0.375 + 0.5*0.875
    assert apgr([0.5], [0.75]) == pytest.approx(0.625)


def test_apgr_matches_routellms_formula_on_a_monotone_curve() -> None:
    rng = np.random.default_rng(3)
    shares = np.sort(np.concatenate([[0.0, 1.0], rng.uniform(0, 1, 9)]))
    weak, strong = 0.62, 0.81
    accuracy = np.sort(rng.uniform(weak, strong, shares.size))
    accuracy[0], accuracy[-1] = weak, strong
    # RouteLLM evaluate.py: (AUC - weak_auc) / (strong_auc - weak_auc), trapezoids over the share
    auc = np.trapezoid(accuracy, shares)
    reference = (auc - weak * 1.0) / (strong * 1.0 - weak * 1.0)
    assert apgr(shares, pgr(accuracy, weak, strong)) == pytest.approx(reference)


def test_ties_in_scores_merge_thresholds_where_pandas_qcut_raises() -> None:
    scores = [0.1, 0.1, 0.1, 0.9]
    with pytest.raises(ValueError, match="Bin edges must be unique"):
        pd.qcut(scores, 10, retbins=True)  # what RouteLLM's evaluation calls
    thresholds = quantile_thresholds(scores, 10)
    assert np.allclose(thresholds, [0.1, 0.18, 0.42, 0.66, 0.9])
    decisions = threshold_decisions(scores, thresholds)
    assert decisions.shape == (6, 4)
    assert decisions[0].all() and not decisions[-1].any()  # >= min sends all; > max sends none
    curve = routing_curve(scores, weak=[0, 0, 1, 0], strong=[1, 0, 1, 1])
    assert curve["strong_share"].tolist() == [1.0, 0.25, 0.25, 0.25, 0.25, 0.0]
    assert curve["quality"].tolist() == [0.75, 0.5, 0.5, 0.5, 0.5, 0.25]
    shares, pgrs = curve["strong_share"], curve["pgr"]
    # hand: (0,0) → (0.25, 0.5) → (1, 1): 0.25*0.25 + 0.75*0.75
    assert apgr(shares, pgrs) == pytest.approx(0.625)
    assert cpt(shares, pgrs, 0.5) == pytest.approx(0.25)
    assert cpt(shares, pgrs, 0.8) == pytest.approx(0.25 + 0.3 / 0.5 * 0.75)


def test_cpt_is_the_first_crossing_on_a_non_monotone_curve() -> None:
    shares = np.linspace(0.0, 1.0, 12)
    pgrs = np.array([0, 0.1, 0.2, 0.3, 0.6, 0.2, 0.3, 0.4, 0.45, 0.48, 0.55, 1.0])
    first = 3 / 11 + (0.5 - 0.3) / (0.6 - 0.3) * (1 / 11)  # inside the 4th segment
    assert cpt(shares, pgrs, 0.5) == pytest.approx(first)
    # RouteLLM's np.interp over PGR assumes a monotone curve and lands on a later crossing
    assert np.interp(0.5, pgrs, shares) == pytest.approx(0.844, abs=1e-3)
    assert cpt(shares, pgrs, 0.5, interpolate=False) == pytest.approx(4 / 11)
    # the same non-monotone curve's area, by hand
    s, p = [0, 0.2, 0.4, 0.6, 0.8, 1.0], [0, 0.3, 0.6, 0.2, 0.9, 1.0]
    assert apgr(s, p) == pytest.approx(0.03 + 0.09 + 0.08 + 0.11 + 0.19)
    assert cpt(s, p, 0.8) == pytest.approx(0.6 + 0.6 / 0.7 * 0.2)  # after the dip, not before it


def test_cpt_edge_cases() -> None:
    assert math.isnan(cpt([0.0, 0.5], [0.0, 0.4], 1.5))  # never reached (1, 1) < 1.5
    assert cpt([0.0, 0.3], [0.2, 0.9], 0.1) == 0.0  # already reached at the first point
    with pytest.raises(ValueError):
        cpt([1.5], [0.5], 0.5)


def test_operating_points_quality_share_and_cost() -> None:
    frame = operating_points([[True, False], [False, False]], weak=[0, 1], strong=[1, 1],
                             weak_cost=[1, 1], strong_cost=[10, 10])
    assert frame["strong_share"].tolist() == [0.5, 0.0]
    assert frame["quality"].tolist() == [1.0, 0.5]
    assert frame["cost_usd"].tolist() == [11.0, 2.0]


# -- AIQ, hull, Pareto -----------------------------------------------------------------------------


def test_nondecreasing_hull_drops_points_below_and_after_the_peak() -> None:
    hull = nondecreasing_hull([0, 1, 2, 3, 1.5], [0.5, 0.6, 0.9, 0.8, 0.55])
    assert hull.tolist() == [[0.0, 0.5], [2.0, 0.9]]
    # an upper hull vertex above the chord stays
    hull = nondecreasing_hull([0, 1, 2], [0.0, 0.8, 1.0])
    assert hull.tolist() == [[0.0, 0.0], [1.0, 0.8], [2.0, 1.0]]


def test_aiq_hand_computed() -> None:
    # hull (0,.5)→(2,.9), flat .9 to 3: (1.4 + 0.9) / 3
    assert aiq([0, 1, 2, 3, 1.5], [0.5, 0.6, 0.9, 0.8, 0.55]) == pytest.approx(2.3 / 3)
    # zero below the cheapest point, flat after the last: ((.6+.8)/2 + .8*2) / 4
    assert aiq([1, 2], [0.6, 0.8], cost_range=(0, 4)) == pytest.approx(2.3 / 4)
    assert aiq([2.0], [0.7]) == pytest.approx(0.7)  # one cost: that point's quality
    assert aiq([5.0], [0.7], cost_range=(0.0, 1.0)) == 0.0  # cannot operate in the range


def test_pareto_frontier() -> None:
    mask = pareto_frontier([1, 2, 3, 2, np.nan], [0.5, 0.7, 0.6, 0.7, 0.9])
    assert mask.tolist() == [True, True, False, True, False]


# -- baselines ------------------------------------------------------------------------------------


def test_random_baseline_is_the_expected_line() -> None:
    assert random_quality([0, 0, 1, 0], [1, 1, 1, 0], 0.5) == pytest.approx(0.5)
    curve = random_curve([0, 1], [1, 1], [0.0, 1.0], weak_cost=[1, 1], strong_cost=[3, 3])
    assert curve["quality"].tolist() == [0.5, 1.0]
    assert curve["cost_usd"].tolist() == [2.0, 6.0]


def test_oracle_at_matched_share() -> None:
    weak, strong = [0, 0, 1, 0], [1, 1, 1, 0]
    assert oracle_quality(weak, strong, [0.0, 0.125, 0.25, 0.5, 1.0]).tolist() == pytest.approx(
        [0.25, 0.375, 0.5, 0.75, 0.75])
    assert oracle_decisions(weak, strong).tolist() == [True, True, False, False]
    curve = oracle_curve(weak, strong, [0.0, 0.25, 1.0], weak_cost=[1, 1, 1, 1], strong_cost=[3, 2, 3, 3])
    assert curve["quality"].tolist() == pytest.approx([0.25, 0.5, 0.75])
    assert curve["cost_usd"].tolist() == pytest.approx([4.0, 6.0, 7.0])  # never pays for a useless call


def test_oracle_at_matched_cost_buys_the_best_gain_per_dollar_first() -> None:
    weak, strong = [0, 0, 1, 0], [1, 1, 1, 0]
    budgets = [3.0, 4.0, 5.0, 6.0, 7.0, 100.0]
    got = oracle_quality_at_cost(weak, strong, [1, 1, 1, 1], [3, 2, 3, 3], budgets)
    assert math.isnan(got[0])
    assert got[1:].tolist() == pytest.approx([0.25, 0.5, 0.625, 0.75, 0.75])


def test_graded_scores_oracle() -> None:
    weak, strong = [8.0, 9.0, 10.0], [10.0, 9.0, 7.0]
    assert oracle_quality(weak, strong, 1.0) == pytest.approx((10 + 9 + 10) / 3)
    assert oracle_quality(weak, strong, 0.0) == pytest.approx(9.0)


# -- bootstrap -----------------------------------------------------------------------------------


def test_bootstrap_weights_and_intervals() -> None:
    weights = bootstrap_weights(7, 50, seed=1)
    assert weights.shape == (50, 7) and np.all(weights.sum(axis=1) == 7)
    assert np.array_equal(weights, bootstrap_weights(7, 50, seed=1))
    assert not np.array_equal(weights, bootstrap_weights(7, 50, seed=2))
    lo, hi = percentile_interval([1, 2, 3, 4, np.nan], 0.5)
    assert (lo, hi) == pytest.approx((1.75, 3.25))
    mean, lo, hi = bootstrap_mean_ci([1, 0, 1, 1, 0, 1], groups=[0, 0, 1, 1, 2, 2], n_boot=500)
    assert mean == pytest.approx(4 / 6)
    assert 0.4 <= lo <= mean <= hi <= 1.0
    mean, lo, hi = bootstrap_mean_ci([5.0, 5.0, 5.0], n_boot=100)  # no spread, no interval
    assert (mean, lo, hi) == (5.0, 5.0, 5.0)


# -- per-run figures from a turn-log frame ----------------------------------------------------------


def _log(i: int, tier: str | None, score: float | None, cost: float | None, error: str | None = None) -> TurnLog:
    return TurnLog(conversation_id=f"c{i}", turn_index=0, timestamp="2025-01-01T00:00:00+00:00", persona_id="p",
                   router_name="r", requested_tier=tier or "", tier=tier, decision_reason="", latency_s=0.01 * (i + 1),
                   cost_usd=cost, total_cost_usd=cost, error=error, labels={"suite": "s", "item_id": str(i)},
                   scores={} if score is None else {"score": score})


def test_summaries_from_a_turn_log_frame_leave_failed_turns_out() -> None:
    frame = turn_logs_to_frame([
        _log(0, "small", 1.0, 0.01), _log(1, "frontier", 0.0, 0.1), _log(2, "frontier", 1.0, 0.1),
        _log(3, None, None, None, error="RouterError: boom"),
    ])
    assert quality(frame) == pytest.approx(2 / 3)
    assert total_cost(frame) == pytest.approx(0.21)
    shares = tier_shares(frame)
    assert shares["small"] == pytest.approx(1 / 3) and shares["frontier"] == pytest.approx(2 / 3)
    assert strong_share(frame) == pytest.approx(2 / 3)
    assert latency_summary(frame)["p50"] == pytest.approx(0.025)
    summary = summarize_turns(frame)
    row = summary.iloc[0]
    assert (row["n_turns"], row["n_failed"]) == (4, 1)
    assert row["quality"] == pytest.approx(2 / 3)
    assert row["share_frontier"] == pytest.approx(2 / 3)
