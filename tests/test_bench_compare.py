"""compare(): baselines, sweeps, cross-validation, failures, outputs."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator

from persona_lab.bench import Comparison, compare
from persona_lab.core import RoutingContext, RoutingDecision, TurnLog
from persona_lab.logs import turn_logs_to_frame
from tests.bench_helpers import KeywordThresholdRouter, synthetic_set


class MemoryRouter(BaseEstimator):  # type: ignore[misc]
    """A learned threshold router that scores 1.0 exactly for texts it was trained on (a leak detector)."""

    fits: ClassVar[list[set[str]]] = []

    def __init__(self, *, threshold: float = 0.5):
        self.threshold = threshold

    def fit(self, frame: pd.DataFrame) -> MemoryRouter:
        assert {"prompt", "quality_small", "quality_frontier"} <= set(frame.columns)
        self.seen_ = set(frame["prompt"])
        MemoryRouter.fits.append(self.seen_)
        return self

    def score_texts(self, texts: Sequence[str]) -> np.ndarray[Any, np.dtype[np.float64]]:
        return np.array([1.0 if t in self.seen_ else 0.0 for t in texts])

    def route(self, context: RoutingContext) -> RoutingDecision:
        score = float(self.score_texts([context.message])[0])
        return RoutingDecision(tier="frontier" if score >= self.threshold else "small", reason=f"seen={score}")


class FailsOnce:
    name = "flaky"

    def __init__(self, item_id: str):
        self.item_id = item_id

    def route(self, context: RoutingContext) -> RoutingDecision:
        if context.metadata["item_id"] == self.item_id:
            raise RuntimeError("router bug")
        return RoutingDecision(tier="frontier", reason="always frontier")


@pytest.fixture(scope="module")
def comparison() -> Comparison:
    benchmark = synthetic_set(30, turns=2, seed=1)
    MemoryRouter.fits.clear()
    routers = {"keyword": KeywordThresholdRouter(), "memory": MemoryRouter(),
               "flaky": FailsOnce(benchmark.items[3].id)}
    return compare(benchmark, routers, folds=3, n_boot=50, seed=0)


def _row(comparison: Comparison, router: str, point: str = "loop") -> pd.Series:
    summary = comparison.summary
    rows = summary[(summary["router"] == router) & (summary["point"] == point)]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def test_baselines_are_in_every_comparison(comparison: Comparison) -> None:
    benchmark = synthetic_set(30, turns=2, seed=1)
    weak = np.mean([o.score for i in benchmark.items for o in i.outcomes["weak-model"]])
    assert set(comparison.summary["router"]) == {"always-weak", "always-strong", "keyword", "memory", "flaky",
                                                 "random (expected)", "oracle (recorded)"}
    assert _row(comparison, "always-weak")["quality"] == pytest.approx(weak)
    assert _row(comparison, "always-weak")["pgr"] == 0.0 and _row(comparison, "always-strong")["pgr"] == 1.0
    assert _row(comparison, "always-strong")["strong_share"] == 1.0
    assert _row(comparison, "random (expected)", "curve")["apgr"] == pytest.approx(0.5)
    oracle = _row(comparison, "oracle (recorded)", "curve")
    assert oracle["apgr"] > 1.0  # the oracle beats the strong model: it never wastes a call
    strong = _row(comparison, "always-strong")
    assert strong["random_quality_at_cost"] == pytest.approx(strong["quality"])  # all the budget: all strong
    assert strong["oracle_quality_at_cost"] == pytest.approx(oracle["quality"])
    assert _row(comparison, "always-weak")["pareto"] and not strong["pareto"]  # keyword is as good, cheaper


def test_threshold_router_is_swept_and_scored_like_routellm(comparison: Comparison) -> None:
    keyword = _row(comparison, "keyword")
    sweep = comparison.summary[(comparison.summary["router"] == "keyword") & (comparison.summary["point"] == "sweep")]
    assert len(sweep) >= 3 and sweep["strong_share"].max() == 1.0 and sweep["strong_share"].min() == 0.0
    # the keyword finds exactly the items only the strong model gets right: strong quality at 40% of calls
    hard = comparison.turns[(comparison.turns["router_name"] == "keyword") & (comparison.turns["tier"] == "frontier")]
    assert set(hard["category"]) == {"hard"}
    assert keyword["pgr"] > 1.0 and keyword["strong_share"] < 0.5
    assert keyword["apgr"] > 0.9 and keyword["cpt50"] < 0.3
    assert keyword["quality_lo"] <= keyword["quality"] <= keyword["quality_hi"]
    assert keyword["apgr_lo"] <= keyword["apgr"] <= keyword["apgr_hi"]
    assert keyword["evaluation"] == "rule"


def test_learned_routers_never_route_an_item_they_were_trained_on(comparison: Comparison) -> None:
    assert len(MemoryRouter.fits) == 9  # one fresh clone per fold and seed (repeated CV: 3 seeds by default)
    memory = _row(comparison, "memory")
    assert memory["evaluation"] == "3-fold CV × 3 seeds"
    turns = comparison.turns[comparison.turns["router_name"] == "memory"]
    assert len(turns) == 60 and set(turns["tier"]) == {"small"}  # every score was 0: never seen
    # within a seed the folds partition the items: each prompt was trained on by exactly two of its three clones
    for seed in range(3):
        counts = pd.Series([p for seen in MemoryRouter.fits[3 * seed: 3 * seed + 3] for p in seen]).value_counts()
        assert set(counts) == {2}
    # the seeds cut different folds
    assert MemoryRouter.fits[0] not in MemoryRouter.fits[3:6]


def test_without_cv_a_learned_router_is_in_sample() -> None:
    benchmark = synthetic_set(10, seed=2)
    result = compare(benchmark, {"memory": MemoryRouter()}, cv=False, n_boot=0)
    row = result.summary[(result.summary["router"] == "memory") & (result.summary["point"] == "loop")].iloc[0]
    assert row["evaluation"] == "in-sample (no CV)"
    assert set(result.turns[result.turns["router_name"] == "memory"]["tier"]) == {"frontier"}  # it saw them all


def test_a_failing_item_is_reported_and_the_run_goes_on(comparison: Comparison) -> None:
    flaky = _row(comparison, "flaky")
    assert flaky["n_failed"] == 2  # both turns of the item are missing
    assert len(comparison.failures) == 1
    failure = comparison.failures.iloc[0]
    assert (failure["router"], failure["error_type"]) == ("flaky", "RouterError")
    assert "router bug" in failure["error"]
    items = synthetic_set(30, turns=2, seed=1).items
    others = [o.score for i in items[:3] + items[4:] for o in i.outcomes["strong-model"]]
    assert flaky["quality"] == pytest.approx(np.mean(others))  # the other 29 items, all answered by frontier
    markdown = comparison.to_markdown()
    assert "**Failed items:** flaky: 1" in markdown
    assert "Failed items" in comparison.to_html()


def test_outputs(comparison: Comparison, tmp_path: Path) -> None:
    figures = comparison.figures()
    assert set(figures) == {"cost_quality", "pgr", "cost_per_turn", "tier_mix_synth"}
    assert {t.name for t in figures["cost_quality"].data} >= {"keyword", "random (expected)", "oracle (recorded)"}
    paths = comparison.save(tmp_path / "run")
    assert {p.name for p in paths.values()} == {
        "turn_logs.jsonl.gz", "turn_logs.parquet", "summary.csv", "summary.md", "curves.csv", "failures.csv",
        "run.json", "report.html"}
    html = paths["report_html"].read_text()
    assert not re.search(r"<script[^>]*\ssrc=", html)  # nothing to fetch: works offline
    assert html.count("Plotly.newPlot") == 4 and len(html) > 1_000_000  # plotly.js is inlined once
    with gzip.open(paths["turn_logs_jsonl"], "rt") as handle:
        records = [TurnLog.from_dict(json.loads(line)) for line in handle]
    assert len(records) == len(comparison.turns)
    assert turn_logs_to_frame(records)["score"].sum() == pytest.approx(comparison.turns["score"].sum())
    assert len(pd.read_parquet(paths["turn_logs_parquet"])) == len(comparison.turns)
    assert pd.read_csv(paths["summary_csv"]).shape == comparison.summary.shape
    assert "| router |" in paths["summary_md"].read_text()


def test_parallel_workers_give_the_same_results() -> None:
    benchmark = synthetic_set(12, seed=4)
    routers = {"keyword": KeywordThresholdRouter()}
    one = compare(benchmark, routers, n_boot=20, n_jobs=1)
    two = compare(benchmark, routers, n_boot=20, n_jobs=2)
    columns = ["router", "point", "quality", "cost_usd", "strong_share", "apgr", "cpt50", "apgr_lo"]
    pd.testing.assert_frame_equal(one.summary[columns], two.summary[columns])


def test_route_on_the_first_turn_only() -> None:
    benchmark = synthetic_set(10, turns=2, seed=5)
    result = compare(benchmark, {"keyword": KeywordThresholdRouter(threshold=0.03)}, n_boot=0,
                     route_first_turn_only=True)
    turns = result.turns[result.turns["router_name"] == "keyword"]
    per_item = turns.groupby("item_id")["tier"].nunique()
    assert set(per_item) == {1}
    assert result.options["route_first_turn_only"] is True


async def test_compare_also_runs_inside_a_running_event_loop() -> None:  # as in a notebook cell
    result = compare(synthetic_set(6, seed=6), {"keyword": KeywordThresholdRouter()}, n_boot=0)
    assert len(result.turns) == 18
