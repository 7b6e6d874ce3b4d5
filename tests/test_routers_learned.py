"""Learned routers: fitting from wide, long and turn-log frames, the threshold contract, 2+ tiers."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer, TfidfVectorizer

from persona_lab import NotFittedError, RouterError, RoutingPreferences, UnknownTier
from persona_lab.core import TurnLog
from persona_lab.logs import turn_logs_to_frame
from persona_lab.routers import (
    ClassifierRouter,
    HashingEmbedder,
    KNNRouter,
    LearnedRouter,
    MatrixFactorizationRouter,
    TfidfEmbedder,
    outcomes_from_turn_logs,
)
from tests.router_helpers import context

EASY = ["what colour is the {n} in the picture", "say hello to my {n}", "spell the word {n} backwards please"]
MEDIUM = ["summarise this short story about a {n} and a fox", "translate the sentence about the {n} into french"]
HARD = ["prove the integral theorem for the {n} manifold", "derive the eigenvalue bound of the {n} operator matrix"]
NOUNS = ["cat", "river", "lamp", "garden", "violin", "castle", "teapot", "comet", "harbour", "forest", "engine", "kite"]


def _prompts(templates: list[str], seed: int) -> list[str]:
    rng = random.Random(seed)
    return [t.format(n=rng.choice(NOUNS)) + f" {rng.randint(0, 99)}" for t in templates for _ in range(12)]


def three_tier_frame(seed: int = 0) -> pd.DataFrame:
    """Easy prompts every tier gets right, medium ones mid and frontier get, hard ones only frontier."""
    rows = []
    for group, (small, mid, frontier) in (("easy", (1, 1, 1)), ("medium", (0, 1, 1)), ("hard", (0, 0, 1))):
        templates = {"easy": EASY, "medium": MEDIUM, "hard": HARD}[group]
        for prompt in _prompts(templates, seed):
            rows.append({"prompt": prompt, "quality_small": small, "quality_mid": mid, "quality_frontier": frontier,
                         "cost_small": 0.001, "cost_mid": 0.004, "cost_frontier": 0.02, "group": group})
    return pd.DataFrame(rows)


def two_tier_frame(seed: int = 0) -> pd.DataFrame:
    frame = three_tier_frame(seed)
    frame = frame[frame["group"] != "medium"]
    return frame.drop(columns=["quality_mid", "cost_mid"]).reset_index(drop=True)


ROUTERS: list[Callable[[], LearnedRouter]] = [
    KNNRouter,
    ClassifierRouter,
    lambda: MatrixFactorizationRouter(epochs=60, learning_rate=0.05),
]
"""Each router, built with parameters that fit the small frames here in a fraction of a second."""


@pytest.mark.parametrize("make", ROUTERS, ids=["knn", "classifier", "mf"])
def test_two_tier_routers_learn_which_prompts_need_the_strong_tier(make: Callable[[], LearnedRouter]) -> None:
    train = two_tier_frame(seed=0)
    router = make().fit(train)
    assert router.tiers_ == ("small", "frontier") and router.n_samples_fit_ == 48  # 12 held out to choose λ
    assert router.knee_ is not None and router.threshold_ == router.lambda_
    # calibrate the cost knob on sample traffic: 40% of the training prompts are hard
    router.set_params(threshold=router.threshold_for_share(list(train["prompt"]), 0.4))
    test = two_tier_frame(seed=1)
    tiers = [router.route(context(p, tiers=("small", "frontier"))).tier for p in test["prompt"]]
    expected = ["frontier" if g == "hard" else "small" for g in test["group"]]
    agreement = np.mean([a == b for a, b in zip(tiers, expected, strict=True)])
    assert agreement >= 0.9, (router, agreement)
    scores = router.score_texts(list(test["prompt"]))
    assert scores[test["group"].to_numpy() == "hard"].min() > scores[test["group"].to_numpy() == "easy"].max()


@pytest.mark.parametrize("make", ROUTERS, ids=["knn", "classifier", "mf"])
def test_score_texts_matches_per_turn_routing_exactly(make: Callable[[], LearnedRouter]) -> None:
    router = make().fit(two_tier_frame(seed=0))
    texts = list(three_tier_frame(seed=2)["prompt"])
    scores = router.score_texts(texts)
    assert scores.shape == (len(texts),) and scores.dtype == np.float64
    for threshold in [*np.quantile(scores, np.linspace(0, 1, 6), method="nearest"), scores.max() + 1]:
        router.set_params(threshold=float(threshold))
        for text, score in zip(texts, scores, strict=True):
            decision = router.route(context(text, tiers=("small", "frontier")))
            assert (decision.tier == "frontier") == (score >= threshold)
            assert decision.features["score"] == score


def test_three_tiers_pick_the_best_utility_and_the_threshold_trades_cost() -> None:
    frame = three_tier_frame(seed=0)
    test = three_tier_frame(seed=3)
    router = KNNRouter(threshold=0.5).fit(frame)
    chosen = [router.route(context(p)).tier for p in test["prompt"]]
    expected = test["group"].map({"easy": "small", "medium": "mid", "hard": "frontier"}).tolist()
    assert np.mean([a == b for a, b in zip(chosen, expected, strict=True)]) >= 0.9
    decision = router.route(context(test["prompt"].iloc[-1]))
    assert set(decision.scores) == {"small", "mid", "frontier"}
    assert decision.tier == max(decision.scores, key=decision.scores.__getitem__)
    # raising the threshold (the cost weight) never makes the routing dearer
    rank = {"small": 0, "mid": 1, "frontier": 2}
    spend = []
    for threshold in (0.0, 0.2, 0.6, 1.2, 20.0):
        router.set_params(threshold=threshold)
        spend.append(sum(rank[router.route(context(p)).tier] for p in test["prompt"]))
    assert spend == sorted(spend, reverse=True) and spend[0] > spend[-1] == 0


def test_routing_uses_only_fitted_tiers_that_are_configured() -> None:
    router = ClassifierRouter(threshold=0.5).fit(three_tier_frame())  # a fixed cost knob, not the knee
    medium = "summarise this short story about a comet and a fox 3"
    hard = "prove the integral theorem for the comet manifold 3"
    assert router.route(context(medium, tiers=("small", "mid"))).tier == "mid"
    assert router.route(context(medium, tiers=("small", "frontier"))).tier == "frontier"
    # on a hard prompt mid is no better than small (both fail where frontier succeeds)
    assert router.route(context(hard, tiers=("small", "mid"))).tier == "small"
    assert router.route(context(hard, tiers=("mid",))).tier == "mid"
    knn = KNNRouter().fit(two_tier_frame())
    with pytest.raises(RouterError, match=r"fitted on tiers small, frontier but none of them is configured"):
        knn.route(context(hard, tiers=("mid",)))
    assert knn.route(context(hard, preferences=RoutingPreferences(tier="small"))).tier == "small"


def test_long_form_fits_like_wide_form() -> None:
    wide = two_tier_frame()
    long = wide.melt(id_vars=["prompt"], value_vars=["quality_small", "quality_frontier"], var_name="tier",
                     value_name="score")
    long["tier"] = long["tier"].str.removeprefix("quality_")
    texts = list(two_tier_frame(seed=5)["prompt"])
    a = KNNRouter().fit(wide).score_texts(texts)
    b = KNNRouter().fit(long).score_texts(texts)
    np.testing.assert_allclose(a, b)


def _turn_log(i: int, text: str, tier: str, score: float | None, cost: float, item: str) -> TurnLog:
    return TurnLog(
        conversation_id=f"c{i}", turn_index=0, timestamp="2026-01-01T00:00:00+00:00", persona_id="p",
        router_name="r", requested_tier=tier, tier=tier, decision_reason="", latency_s=0.1, user_text=text,
        cost_usd=cost, total_cost_usd=cost, labels={"item_id": item},
        scores={} if score is None else {"score": score},
    )


def test_outcomes_from_turn_logs_builds_a_training_frame() -> None:
    logs = [
        _turn_log(0, "prove it", "small", 0.0, 0.001, "1"),
        _turn_log(1, "prove it", "frontier", 1.0, 0.02, "1"),
        _turn_log(2, "prove it", "small", 0.5, 0.003, "1"),
        _turn_log(3, "say hi", "small", 1.0, 0.001, "2"),
        _turn_log(4, "say hi", "frontier", 1.0, 0.01, "2"),
        _turn_log(5, "failed turn", "frontier", None, 0.01, "3"),
    ]
    wide = outcomes_from_turn_logs(turn_logs_to_frame(logs))
    assert list(wide.columns) == ["item_id", "prompt", "quality_small", "cost_small", "quality_frontier",
                                  "cost_frontier"]
    row = wide.set_index("prompt").loc["prove it"]
    assert (row["quality_small"], row["quality_frontier"]) == (0.25, 1.0)
    assert row["cost_small"] == pytest.approx(0.002)
    assert "failed turn" not in set(wide["prompt"])
    router = KNNRouter(n_neighbors=1).fit(wide)
    assert router.tier_costs_ == pytest.approx({"small": 0.0015, "frontier": 0.015})
    assert router.route(context("prove it", tiers=("small", "frontier"))).tier == "frontier"
    with pytest.raises(RouterError, match=r"missing column.*score"):
        outcomes_from_turn_logs(pd.DataFrame({"user_text": ["x"], "tier": ["small"]}))


def test_pluggable_embedders() -> None:
    calls: list[int] = []

    def bag_of_letters(texts: Sequence[str]) -> np.ndarray[Any, Any]:
        calls.append(len(texts))
        return np.array([[t.count(c) for c in "abcdefghijklmnopqrstuvwxyz"] for t in texts], dtype=float)

    router = KNNRouter(embedder=bag_of_letters, threshold=0.1).fit(two_tier_frame())  # no knee search: one fit
    assert router.embedder_ is bag_of_letters and calls == [60]
    router.route(context("prove the integral theorem", tiers=("small", "frontier")))
    assert calls == [60, 1]
    assert isinstance(KNNRouter(embedder="hashing").fit(two_tier_frame()).embedder_, HashingEmbedder)
    hashing = ClassifierRouter(embedder=HashingEmbedder(n_features=2**12)).fit(two_tier_frame())
    assert hashing.route(context("derive the eigenvalue bound of the kite operator matrix 7",
                                 tiers=("small", "frontier"))).tier == "frontier"
    tfidf = KNNRouter(embedder=TfidfEmbedder(ngram_range=(1, 1))).fit(two_tier_frame())
    assert tfidf.embedder_ is not tfidf.embedder  # the parameter is cloned, never fitted in place
    assert not hasattr(tfidf.embedder, "vectorizer_")
    with pytest.raises(RouterError, match=r"returned 1 rows for 2 texts"):
        KNNRouter(embedder=lambda texts: np.zeros((1, 3))).fit(two_tier_frame().head(2))
    with pytest.raises(RouterError, match=r"unknown embedder 'bert'"):
        KNNRouter(embedder="bert").fit(two_tier_frame())


def test_bad_frames_get_clear_errors() -> None:
    router = KNNRouter()
    with pytest.raises(RouterError, match=r"no 'prompt' column.*outcomes_from_turn_logs"):
        router.fit(pd.DataFrame({"user_text": ["x"], "tier": ["small"], "score": [1.0]}))
    with pytest.raises(RouterError, match=r"needs quality_<tier> columns.*columns: prompt, answer"):
        router.fit(pd.DataFrame({"prompt": ["x"], "answer": ["y"]}))
    with pytest.raises(RouterError, match=r"missing score"):
        router.fit(pd.DataFrame({"prompt": ["x"], "tier": ["small"]}))
    with pytest.raises(UnknownTier, match=r"'large' in KNNRouter.fit frame column 'quality_large'"):
        router.fit(pd.DataFrame({"prompt": ["x"], "quality_small": [1.0], "quality_large": [0.0]}))
    with pytest.raises(UnknownTier, match=r"'xl' in KNNRouter.fit frame column 'tier', row 1"):
        router.fit(pd.DataFrame({"prompt": ["x", "x"], "tier": ["small", "xl"], "score": [1.0, 0.0]}))
    with pytest.raises(RouterError, match=r"at least two tiers"):
        router.fit(pd.DataFrame({"prompt": ["x"], "quality_small": [1.0]}))
    with pytest.raises(RouterError, match=r"no row has a numeric quality for every tier"):
        router.fit(pd.DataFrame({"prompt": ["x"], "quality_small": [1.0], "quality_mid": [None]}))
    with pytest.raises(RouterError, match=r"expects a pandas DataFrame"):
        router.fit([{"prompt": "x"}])  # type: ignore[arg-type]
    with pytest.raises(RouterError, match=r"threshold must be a number"):
        KNNRouter(threshold=float("nan")).fit(two_tier_frame())


@pytest.mark.parametrize("make", ROUTERS, ids=["knn", "classifier", "mf"])
def test_used_before_fit(make: Callable[[], LearnedRouter]) -> None:
    router = make()
    for use in (lambda: router.route(context()), lambda: router.score_texts(["x"]),
                lambda: router.predict_quality(["x"])):
        with pytest.raises(NotFittedError, match=r"is not fitted yet; call fit"):
            use()


def test_threshold_for_share_calibrates_the_strong_share() -> None:
    router = KNNRouter(n_neighbors=5).fit(two_tier_frame())
    texts = list(three_tier_frame(seed=4)["prompt"])
    scores = router.score_texts(texts)
    for share in (0.0, 0.25, 0.5, 1.0):
        threshold = router.threshold_for_share(texts, share)
        reached = float(np.mean(scores >= threshold))
        assert share <= reached <= share + 0.2, (share, reached)
    assert router.threshold_for_share(texts, 0.0) > scores.max()
    with pytest.raises(RouterError, match=r"strong_share must be in \[0, 1\]"):
        router.threshold_for_share(texts, 1.5)


def test_predict_quality_is_a_frame_per_tier() -> None:
    router = ClassifierRouter().fit(three_tier_frame())
    quality = router.predict_quality(["say hello to my cat 3", "prove the integral theorem for the kite manifold 1"])
    assert list(quality.columns) == ["small", "mid", "frontier"]
    assert (quality["frontier"] == 1.0).all()  # the strongest tier is the reference
    assert quality.loc[0, "small"] > 0.5 > quality.loc[1, "small"]
    with pytest.raises(RouterError, match=r"pass a list of texts"):
        router.score_texts("one string")


def _same_sparse(a: Any, b: Any) -> bool:
    a, b = sp.csr_matrix(a), sp.csr_matrix(b)
    return (a.shape == b.shape and np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
            and np.array_equal(a.data, b.data))


def test_default_embedders_give_scikit_learns_vectors_to_the_bit() -> None:
    """The embedders skip scikit-learn's re-validation of their own output, nothing else."""
    frame = three_tier_frame()
    texts = [*frame["prompt"], "", "words it never saw", "PROVE the integral theorem, twice: prove it!"]
    for params in ({}, {"ngram_range": (1, 1), "sublinear_tf": False, "max_features": 20}):
        embedder = TfidfEmbedder(**params).fit(list(frame["prompt"]))
        reference = TfidfVectorizer(dtype=np.float64, **embedder.get_params()).fit(list(frame["prompt"]))
        assert _same_sparse(embedder(texts), reference.transform(texts))
        assert _same_sparse(embedder(texts[:1]), reference.transform(texts[:1]))
    hashing = HashingVectorizer(n_features=2**12, ngram_range=(1, 2), alternate_sign=False, norm="l2")
    assert _same_sparse(HashingEmbedder(n_features=2**12)(texts), hashing.transform(texts))


def test_knn_similarities_equal_the_sparse_product_to_the_bit() -> None:
    router = KNNRouter().fit(three_tier_frame())
    texts = ["prove the integral theorem for the cat manifold", "nothing it knows", "", "the the the"]
    X = router.embedder_(texts)
    for i in range(len(texts)):
        row = X[i]
        expected = np.asarray((row @ router.embeddings_).toarray()).ravel()
        assert np.array_equal(router._sparse_similarities(row.indices, row.data), expected)
    alone = np.vstack([router.predict_quality([t]).to_numpy() for t in texts])
    assert np.array_equal(alone, router.predict_quality(texts).to_numpy())
