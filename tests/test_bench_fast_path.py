"""The vectorised fast path decides exactly as routing turn by turn through the loop."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from sklearn.base import clone

from persona_lab.bench import (
    FoldTfidfEmbedder,
    TextCounts,
    UnitTable,
    compare,
    replay_items,
    replay_tiers,
)
from persona_lab.metrics import quantile_thresholds, threshold_decisions
from persona_lab.routers import KNNRouter, TfidfEmbedder
from tests.bench_helpers import KeywordThresholdRouter, synthetic_set


def _loop_tiers(benchmark, router) -> list[str]:  # type: ignore[no-untyped-def]
    result = asyncio.run(replay_items(benchmark, replay_tiers(benchmark), router))
    assert not result.failures
    return [r.tier for r in result.records]


@pytest.mark.parametrize("kind", ["rule", "learned"])
def test_sweep_decisions_equal_per_turn_routing_at_every_threshold(kind: str) -> None:
    benchmark = synthetic_set(24, turns=2, seed=7)
    units = UnitTable.from_set(benchmark)
    if kind == "rule":
        router = KeywordThresholdRouter()
    else:  # fitted on other items, as in one cross-validation fold
        router = KNNRouter(n_neighbors=5).fit(UnitTable.from_set(synthetic_set(40, turns=2, seed=8)).training_frame())
    scores = np.asarray(router.score_texts(list(units.texts)))
    thresholds = quantile_thresholds(scores, 10)
    decisions = threshold_decisions(scores, thresholds)
    assert len(thresholds) >= 3
    for threshold, fast in zip(thresholds, decisions, strict=False):  # the last row is the "> max" point
        if kind == "learned":
            at = router.set_params(threshold=float(threshold))  # keeps the fitted state
        else:
            at = KeywordThresholdRouter(threshold=float(threshold))
        tiers = _loop_tiers(benchmark, at)
        assert tiers == ["frontier" if d else "small" for d in fast], f"threshold {threshold}"


def test_batched_decisions_equal_the_routers_own_route() -> None:
    benchmark = synthetic_set(30, turns=2, seed=9)
    router = KNNRouter(n_neighbors=5, threshold=0.1)
    fast = compare(benchmark, {"knn": router}, folds=3, n_boot=0)
    exact = compare(benchmark, {"knn": router}, folds=3, n_boot=0, exact_routing=True)
    a = fast.turns[fast.turns["router_name"] == "knn"][["item_id", "turn_index", "tier"]]
    b = exact.turns[exact.turns["router_name"] == "knn"][["item_id", "turn_index", "tier"]]
    assert a.sort_values(["item_id", "turn_index"]).to_numpy().tolist() == \
        b.sort_values(["item_id", "turn_index"]).to_numpy().tolist()
    assert set(a["tier"]) == {"small", "frontier"}  # a real mix, not a trivial agreement
    assert (fast.turns["decision_reason"].str.contains("batched score_texts")).any()
    assert not (exact.turns["decision_reason"].str.contains("batched")).any()


def test_fold_tfidf_embedder_equals_the_routers_default_tfidf() -> None:
    texts = [f"question {n} about {w} and {w}s" for n, w in enumerate(["cats", "dogs", "tax", "rent"] * 6)]
    counts = TextCounts([*texts, "unrelated words elsewhere"])
    train, test = texts[:16], [*texts[16:], "a text never counted before about cats"]
    ours = clone(FoldTfidfEmbedder(counts=counts, max_features=20)).fit(train)
    theirs = TfidfEmbedder(max_features=20).fit(train)
    assert np.allclose(ours(test).toarray(), theirs(test).toarray())
    assert clone(FoldTfidfEmbedder(counts=counts)).counts is counts  # shared, not copied
