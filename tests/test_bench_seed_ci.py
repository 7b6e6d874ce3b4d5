"""Repeated cross-validation: the bracketed CI describes the seed-averaged headline, not the first seed."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator
from sklearn.model_selection import KFold

from persona_lab.bench import compare
from persona_lab.core import RoutingContext, RoutingDecision
from persona_lab.metrics import aiq, apgr, quantile_thresholds, threshold_decisions
from persona_lab.routers import KNNRouter
from tests.bench_helpers import KeywordThresholdRouter, synthetic_set, three_tier_set


def _number(text: str) -> int:
    match = re.search(r"question (\d+)", text)
    assert match is not None
    return int(match.group(1))


def _base_score(text: str) -> float:
    return (1.0 if "hard" in text else 0.0) + len(text) % 7 / 100


def _sign(training_numbers: Sequence[int]) -> float:
    return 1.0 if sum(training_numbers) % 3 else -1.0


class FoldOffsetRouter(BaseEstimator):  # type: ignore[misc]
    """A learned threshold router that ranks items by difficulty, or the reverse, depending on its training
    items: the CV seeds' sweeps differ far more than one seed's bootstrap interval is wide."""

    def __init__(self, *, threshold: float = 0.5):
        self.threshold = threshold

    def fit(self, frame: pd.DataFrame) -> FoldOffsetRouter:
        self.sign_ = _sign([_number(t) for t in frame["prompt"]])
        return self

    def score_texts(self, texts: Sequence[str]) -> np.ndarray[Any, np.dtype[np.float64]]:
        return np.array([_base_score(t) * self.sign_ for t in texts])

    def route(self, context: RoutingContext) -> RoutingDecision:
        score = float(self.score_texts([context.message])[0])
        return RoutingDecision(tier="frontier" if score >= self.threshold else "small", reason=f"{score:.2f}")


def _inside(summary: pd.DataFrame, names: Sequence[str]) -> list[str]:
    outside = []
    for _, row in summary[summary["point"].isin(["loop", "curve"])].iterrows():
        for name in names:
            lo, hi = row.get(f"{name}_lo", np.nan), row.get(f"{name}_hi", np.nan)
            if pd.isna(lo) or pd.isna(row[name]):
                continue
            if not lo - 1e-9 <= row[name] <= hi + 1e-9:
                outside.append(f"{row['router']} {name} {row[name]:.4f} [{lo:.4f}, {hi:.4f}]")
    return outside


def test_headline_mean_lies_inside_its_ci_for_every_row() -> None:
    routers = {"knn": KNNRouter(), "offset": FoldOffsetRouter(), "keyword": KeywordThresholdRouter()}
    summary = compare(synthetic_set(60, seed=4), routers, folds=3, seeds=3, n_boot=200).summary
    learned = summary[summary["router"].isin(["knn", "offset"]) & (summary["point"] == "loop")]
    assert (learned["n_seeds"] == 3).all()
    assert (learned["apgr_seed_max"] > learned["apgr_seed_min"]).all()  # the seeds do differ
    assert learned["apgr"].to_numpy() == pytest.approx(learned["apgr_seed_mean"].to_numpy())
    assert _inside(summary, ("quality", "strong_share", "apgr", "aiq", "cpt50", "cpt80")) == []


def test_three_tier_headline_mean_lies_inside_its_ci() -> None:
    summary = compare(three_tier_set(60), {"knn": KNNRouter()}, folds=3, seeds=3, n_boot=100).summary
    knn = summary[(summary["router"] == "knn") & (summary["point"] == "loop")].iloc[0]
    assert knn["n_seeds"] == 3 and knn["aiq"] == pytest.approx(knn["aiq_seed_mean"])
    assert knn["aiq_seed_min"] <= knn["aiq"] <= knn["aiq_seed_max"]
    assert _inside(summary, ("quality", "aiq", "gap_closed")) == []


def test_ci_is_the_bootstrap_of_the_seed_averaged_metric() -> None:
    """Hand-computed: per resample of items, each seed's sweep APGR/AIQ on the drawn items, averaged over seeds."""
    n_items, folds, n_seeds, n_boot = 14, 2, 3, 40
    benchmark = synthetic_set(n_items, seed=2)
    comparison = compare(benchmark, {"offset": FoldOffsetRouter()}, folds=folds, seeds=n_seeds, n_boot=n_boot)
    row = comparison.summary[(comparison.summary["router"] == "offset")
                             & (comparison.summary["point"] == "loop")].iloc[0]
    texts = [item.turns[0] for item in benchmark.items]
    numbers = np.array([_number(t) for t in texts])
    weak = np.array([item.outcomes["weak-model"][0].score for item in benchmark.items])
    strong = np.array([item.outcomes["strong-model"][0].score for item in benchmark.items])
    turns = comparison.turns.set_index(["router_name", "item_id"])["total_cost_usd"]
    ids = [item.id for item in benchmark.items]
    weak_cost = turns.loc["always-weak"].reindex(ids).to_numpy(dtype=float)
    strong_cost = turns.loc["always-strong"].reindex(ids).to_numpy(dtype=float)

    seed_scores = []
    for seed in range(n_seeds):  # each seed's out-of-fold scores, from its own KFold split over items
        scores = np.empty(n_items)
        for train, held_out in KFold(n_splits=folds, shuffle=True, random_state=seed).split(np.zeros((n_items, 1))):
            scores[held_out] = [_base_score(texts[i]) * _sign(numbers[train].tolist()) for i in held_out]
        seed_scores.append(scores)

    def metrics(scores: np.ndarray[Any, Any], drawn: np.ndarray[Any, Any]) -> tuple[float, float]:
        decisions = threshold_decisions(scores, quantile_thresholds(scores, 10))[:, drawn]
        w, s, wc, sc = weak[drawn], strong[drawn], weak_cost[drawn], strong_cost[drawn]
        quals = np.where(decisions, s, w).mean(axis=1)
        costs = np.where(decisions, sc, wc).sum(axis=1)
        pgrs = (quals - w.mean()) / (s.mean() - w.mean())
        area = aiq([*costs, wc.sum(), sc.sum()], [*quals, w.mean(), s.mean()],
                   cost_range=(min(wc.sum(), sc.sum()), max(wc.sum(), sc.sum())))
        return apgr(decisions.mean(axis=1), pgrs), area

    everything = np.arange(n_items)
    headline = np.mean([metrics(x, everything) for x in seed_scores], axis=0)
    assert row["apgr"] == pytest.approx(headline[0]) and row["aiq"] == pytest.approx(headline[1])
    draws = np.random.default_rng(0).integers(0, n_items, size=(n_boot, n_items))  # bootstrap_weights(seed=0)
    resampled = np.array([np.mean([metrics(x, drawn) for x in seed_scores], axis=0) for drawn in draws])
    for k, name in enumerate(("apgr", "aiq")):
        lo, hi = np.percentile(resampled[:, k], [2.5, 97.5])
        assert (row[f"{name}_lo"], row[f"{name}_hi"]) == pytest.approx((lo, hi))
    first = np.array([metrics(seed_scores[0], drawn)[0] for drawn in draws])  # what the CI used to be
    assert (row["apgr_lo"], row["apgr_hi"]) != pytest.approx(tuple(np.percentile(first, [2.5, 97.5])))


def test_vectorised_aiq_and_apgr_match_the_scalar_metrics() -> None:
    from persona_lab.bench._analysis_ntier import _aiq_rows, _apgr_rows

    rng = np.random.default_rng(1)
    costs, quals = rng.random((300, 9)), rng.random((300, 9))
    costs[100:200] = np.round(costs[100:200] * 4) / 4  # equal costs
    quals[200:] = np.sort(np.round(quals[200:] * 3) / 3, axis=1)  # plateaus: flat past the peak
    lo, hi = np.minimum(costs[:, -1], costs[:, -2]), np.maximum(costs[:, -1], costs[:, -2])
    lo[:30], hi[:30] = costs[:30].min(axis=1), costs[:30].max(axis=1) + 0.2  # past the dearest point
    hi[30:40] = lo[30:40]  # a single cost
    expected = [aiq(c, q, cost_range=(a, b)) for c, q, a, b in zip(costs, quals, lo, hi, strict=True)]
    assert _aiq_rows(costs, quals, lo, hi) == pytest.approx(expected, abs=1e-12)
    shares = np.round(rng.random((300, 6)) * 5) / 5  # shares of exactly 0 and 1 too
    pgrs = rng.normal(0.5, 0.4, (300, 6))
    pgrs[:3] = np.nan  # a resample with no weak–strong gap
    expected = [apgr(s, p) for s, p in zip(shares, pgrs, strict=True)]
    assert _apgr_rows(shares, pgrs) == pytest.approx(expected, abs=1e-12)
