"""Three tiers, measured: N-tier metrics, learned routers with one cost knob, train/test, repeated CV."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from persona_lab import BenchmarkFormatError
from persona_lab.bench import (
    UnitTable,
    compare,
    load_suite,
    replay_tiers,
)
from persona_lab.cli import main
from persona_lab.metrics import (
    gap_closed,
    hull_cost_for_quality,
    hull_quality_at_cost,
    oracle_choice,
    oracle_frontier,
    zero_router_aiq,
)
from persona_lab.routers import ClassifierRouter, KNNRouter, MatrixFactorizationRouter, utility_choice
from tests.bench_helpers import synthetic_set, three_tier_set

TIERS = ("small", "mid", "frontier")


# -- metrics ---------------------------------------------------------------------------------------


def test_oracle_frontier_is_exact_against_brute_force() -> None:
    rng = np.random.default_rng(3)
    quality = rng.integers(0, 2, size=(6, 3)).astype(float)
    cost = np.sort(rng.uniform(0.1, 5.0, size=(6, 3)), axis=1)
    costs, quals = oracle_frontier(quality, cost)
    assignments = list(itertools.product(range(3), repeat=6))
    rows = np.arange(6)
    every = np.array([(cost[rows, a].sum(), quality[rows, a].mean()) for a in assignments])
    for c, q in zip(costs, quals, strict=True):  # each vertex is an integer allocation, and the best one
        assert np.any(np.isclose(every[:, 0], c) & np.isclose(every[:, 1], q))
        assert every[every[:, 0] <= c + 1e-9, 1].max() == pytest.approx(q)
    # the unconstrained oracle: the cheapest tier with the best score, per unit
    choice = oracle_choice(quality, cost)
    assert quals[-1] == pytest.approx(quality.max(axis=1).mean())
    assert costs[-1] == pytest.approx(cost[rows, choice].sum())
    # weights reweight units without changing the order of the upgrades
    w = np.array([2.0, 0, 1, 1, 3, 1])
    _, q_w = oracle_frontier(quality, cost, weights=w)
    assert q_w[-1] == pytest.approx((w @ quality.max(axis=1)) / w.sum())


def test_hull_reads_and_gap_closed() -> None:
    costs, quals = [1.0, 2.0, 10.0], [0.5, 0.8, 0.9]
    assert hull_quality_at_cost(costs, quals, 1.5) == pytest.approx(0.65)
    assert np.isnan(hull_quality_at_cost(costs, quals, 0.5))  # below the cheapest point
    assert hull_cost_for_quality(costs, quals, 0.85) == pytest.approx(6.0)
    assert np.isnan(hull_cost_for_quality(costs, quals, 0.95))
    assert gap_closed(0.8, 0.7, 0.9) == pytest.approx(0.5)
    assert np.isnan(gap_closed(0.8, 0.7, 0.7))
    q = np.array([[0.0, 1.0], [1.0, 1.0]])
    c = np.array([[1.0, 4.0], [1.0, 4.0]])
    assert zero_router_aiq(q, c) == pytest.approx(0.75)  # the chord from (2, 0.5) to (8, 1.0)


def test_utility_choice_is_the_threshold_rule_for_two_tiers_and_monotone_in_lambda() -> None:
    rng = np.random.default_rng(0)
    p2 = rng.random((200, 2))
    for lam in (0.0, 0.1, 0.3):
        assert np.array_equal(utility_choice(p2, np.array([0.0, 1.0]), lam), (p2[:, 1] - p2[:, 0] >= lam))
    p3 = rng.random((300, 3))
    rc = np.array([0.0, 0.1, 1.0])
    spend = [rc[utility_choice(p3, rc, lam)].mean() for lam in np.linspace(0, 3, 20)]
    assert all(a >= b for a, b in itertools.pairwise(spend))  # a dearer λ never spends more
    assert utility_choice(np.array([[0.5, 0.5, 0.5]]), rc, 0.0)[0] == 0  # ties go to the cheaper tier


# -- learned routers over N tiers -----------------------------------------------------------------


def test_default_operating_point_is_never_one_tier_on_the_bundled_sets() -> None:
    for name, n_fit in (("zeroeval_gsm8k", 1000), ("zeroeval_crux", 600), ("mmlu_pro", 1500), ("gsm8k", 1000),
                        ("mt_bench", 28)):
        benchmark = load_suite(name)
        units = UnitTable.from_set(benchmark).with_cost_estimates(
            benchmark, {t: replay_tiers(benchmark).prices[m][0] for t, m in benchmark.tier_models.items()})
        rows = np.random.default_rng(0).permutation(len(units))  # a random split, as the bench's folds are
        train = units.training_frame(np.isin(np.arange(len(units)), rows[:n_fit]))
        test = [units.texts[i] for i in rows[n_fit: n_fit + 600]]
        for router in (KNNRouter(), ClassifierRouter(), MatrixFactorizationRouter(epochs=30)):
            fitted = router.fit(train)
            assert fitted.threshold is None and fitted.knee_ is not None
            shares = Counter(fitted.predict_tiers(test))
            top = max(shares.values()) / len(test)
            assert top <= 0.95, (name, type(router).__name__, shares, fitted.knee_)


def test_calibrate_sets_the_operating_point_for_a_share_or_a_budget() -> None:
    units = UnitTable.from_set(three_tier_set(150))
    frame = units.training_frame()
    router = KNNRouter().fit(frame)
    texts = list(frame["prompt"])
    router.calibrate(texts, target_share=0.2)
    share = np.mean([t == "frontier" for t in router.predict_tiers(texts)])
    assert share <= 0.2 + 1e-9 and share >= 0.1
    assert router.threshold == router.lambda_
    router.calibrate(texts, budget=0.05)  # relative cost per turn (no cost columns)
    chosen = router.predict_tiers(texts)
    rc = dict(zip(router.tiers_, router.relative_tier_costs(), strict=True))
    assert np.mean([rc[t] for t in chosen]) <= 0.05 + 1e-9
    with pytest.raises(Exception, match="exactly one of target_share and budget"):
        router.calibrate(texts)


def test_three_tier_routing_learns_the_middle_tier() -> None:
    units = UnitTable.from_set(three_tier_set(240))
    train = units.training_frame(np.arange(len(units)) < 180)
    router = KNNRouter().fit(train)
    tiers = router.predict_tiers(["medium problem number 999 topic1", "easy problem number 998 topic2"])
    assert tiers == ["mid", "small"]


# -- compare over N tiers -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def three_tier_comparison() -> pd.DataFrame:
    return compare(three_tier_set(120), {"knn": KNNRouter()}, folds=3, seeds=3, n_boot=30).summary


def test_three_tier_summary_has_every_baseline_and_the_new_measures(three_tier_comparison: pd.DataFrame) -> None:
    summary = three_tier_comparison
    loop = summary[summary["point"] != "sweep"].set_index("router")
    assert {"always-small", "always-mid", "always-frontier", "knn", "random (expected)",
            "zero router (single tiers)", "oracle (recorded)"} <= set(loop.index)
    assert loop.loc["always-mid", "share_mid"] == 1.0
    assert loop.loc["oracle (recorded)", "gap_closed"] == pytest.approx(1.0)
    assert loop.loc["zero router (single tiers)", "gap_closed"] == pytest.approx(0.0)
    # the oracle answers every item right at the cheapest tier that can: easy→small, medium→mid, hard→frontier
    assert loop.loc["oracle (recorded)", "quality"] == pytest.approx(1.0)
    knn = loop.loc["knn"]
    assert knn["evaluation"] == "3-fold CV × 3 seeds" and knn["n_seeds"] == 3
    assert knn["gap_closed"] > 0.5 and knn["aiq"] > knn["zero_router_aiq"]  # the text gives the difficulty away
    assert knn["cost_to_match_frontier"] < 0.6 and knn["quality_at_mid_cost"] > loop.loc["always-mid", "quality"]
    assert knn["aiq_seed_sd"] >= 0 and knn["aiq_lo"] <= knn["aiq"] <= knn["aiq_hi"]
    sweep = summary[(summary["router"] == "knn") & (summary["point"] == "sweep")]
    assert len(sweep) >= 5 and sweep["share_mid"].max() > 0.2  # the λ sweep uses the middle tier
    assert {"small", "mid", "frontier"} <= {t for t in ("small", "mid", "frontier") if knn[f"share_{t}"] > 0.1}


def test_two_tier_headline_is_the_mean_over_seeds() -> None:
    summary = compare(synthetic_set(60), {"knn": KNNRouter()}, folds=3, seeds=3, n_boot=20).summary
    row = summary[(summary["router"] == "knn") & (summary["point"] == "loop")].iloc[0]
    assert row["n_seeds"] == 3 and row["apgr"] == pytest.approx(row["apgr_seed_mean"])
    assert not np.isnan(row["apgr_seed_sd"]) and not np.isnan(row["apgr_first_seed"])


def test_exact_two_model_oracle_cpt() -> None:
    benchmark = synthetic_set(37)
    summary = compare(benchmark, {}, n_boot=0).summary
    oracle = summary[summary["router"] == "oracle (recorded)"].iloc[0]
    units = UnitTable.from_set(benchmark)
    gains = int((units.strong > units.weak).sum())
    # PGR 0.5 needs exactly half of the useful strong calls (the 11-point grid gave a coarser answer)
    gap = units.strong.mean() - units.weak.mean()
    needed = 0.5 * gap * len(units)
    assert oracle["cpt50"] == pytest.approx(needed / len(units))
    assert gains / len(units) >= oracle["cpt50"]


# -- train on one set, test on another; pre-fitted routers ----------------------------------------


class CountingKNN(KNNRouter):
    fits = 0

    def fit(self, frame: pd.DataFrame, y: None = None) -> CountingKNN:
        type(self).fits += 1
        super().fit(frame, y)
        return self


def test_a_prefitted_router_is_used_as_fitted_even_with_cv() -> None:
    train, test = three_tier_set(90, seed=1), three_tier_set(60, seed=2, suite="other")
    router = CountingKNN(threshold=0.3).fit(UnitTable.from_set(train).training_frame())
    before = CountingKNN.fits
    summary = compare(test, {"fitted": router}, cv=True, n_boot=0).summary
    row = summary[(summary["router"] == "fitted") & (summary["point"] == "loop")].iloc[0]
    assert row["evaluation"] == "pre-fitted" and CountingKNN.fits == before


def test_compare_trains_on_one_set_and_tests_on_another() -> None:
    train, test = three_tier_set(150, seed=1, suite="train3"), three_tier_set(60, seed=2, suite="test3")
    result = compare(test, {"knn": KNNRouter()}, train=train, n_boot=0)
    row = result.summary[(result.summary["router"] == "knn") & (result.summary["point"] == "loop")].iloc[0]
    assert row["evaluation"] == "trained on train3" and row["quality"] > 0.9
    with pytest.raises(BenchmarkFormatError, match="scale"):
        compare(test, {"knn": KNNRouter()}, train=synthetic_set(20, scale="grade-1-10"), n_boot=0)
    with pytest.raises(BenchmarkFormatError, match="plays tiers small, frontier but test suite"):
        compare(test, {"knn": KNNRouter()}, train=synthetic_set(20), n_boot=0)


def test_cli_trains_on_one_suite_maps_tiers_and_tests_on_another(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["bench", "--train", "zeroeval_gsm8k", "--suite", "zeroeval_crux", "--router", "classifier",
                 "--tiers", "small=gemma-2-9b-it,mid=gpt-4o-mini-2024-07-18,frontier=gpt-4o-2024-08-06",
                 "--limit", "120", "--bootstrap", "0", "--no-html", "--jobs", "1", "--out", str(tmp_path)])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "trained on zeroeval_gsm8k" in out.out and "small: gemma-2-9b-it" in out.out
    assert "gap closed" in out.out
    code = main(["bench", "--suite", "zeroeval_crux", "--tiers", "small=gpt-9", "--out", str(tmp_path)])
    assert code == 1 and "unknown model 'gpt-9'" in capsys.readouterr().err


def test_sweep_measures_of_a_router_that_knows_the_outcomes_reach_the_oracle() -> None:
    from persona_lab.bench import sweep_measures

    units = UnitTable.from_set(three_tier_set(120))
    quality = np.column_stack([units.scores[t] for t in TIERS])
    cost = np.tile([0.001, 0.01, 0.1], (len(units), 1))
    knows = sweep_measures(quality, cost, quality, np.tile([0.0, 0.1, 1.0], (len(units), 1)),
                           np.full(len(units), 0.05))
    assert knows["gap_closed"] == pytest.approx(1.0) and knows["cost_to_match_frontier"] < 0.5
    assert knows["default_quality"] == pytest.approx(1.0) and knows["default_top_share"] < 0.9
    guesses = sweep_measures(quality, cost, np.random.default_rng(0).random(quality.shape),
                             np.tile([0.0, 0.1, 1.0], (len(units), 1)))
    assert guesses["gap_closed"] < 0.3 and "default_quality" not in guesses
