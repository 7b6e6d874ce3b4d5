"""Stacked router (out-of-fold combiner) and the cheap prompt features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from persona_lab.core import NotFittedError, RouterError
from persona_lab.routers import (
    PROMPT_FEATURES,
    ClassifierRouter,
    KNNRouter,
    PromptFeatureEmbedder,
    StackedRouter,
    prompt_features,
)
from tests.router_helpers import context


def _frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    """Maths prompts need the strong tier, chat prompts do not."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        hard = bool(rng.random() < 0.4)
        prompt = (f"Compute {rng.integers(100, 999)} * {rng.integers(10, 99)} and then the average of it"
                  if hard else f"Say hello to my friend number {i} please")
        rows.append({"prompt": prompt, "quality_small": 0.0 if hard and rng.random() < 0.9 else 1.0,
                     "quality_frontier": 1.0, "item_id": f"i{i}"})
    return pd.DataFrame(rows)


def test_prompt_features_are_cheap_numbers_per_text() -> None:
    features = prompt_features(["Compute 12 * 7?", "```python\ndef f(x):\n    return x\n```", ""])
    assert features.shape == (3, len(PROMPT_FEATURES))
    column = dict(zip(PROMPT_FEATURES, features.T, strict=True))
    assert column["math_markers"][0] > 0 and column["code_markers"][1] > 0
    assert column["questions"][0] == 1 and column["log_chars"][2] == 0
    one = prompt_features(["Compute 12 * 7?"])
    np.testing.assert_array_equal(one[0], features[0])  # alone or in a batch
    with pytest.raises(RouterError, match="list of texts"):
        prompt_features("one string")


def test_prompt_feature_embedder_appends_standardised_features() -> None:
    texts = ["Compute 12 * 7?", "hello there", "What is 3 + 4?"]
    embedder = PromptFeatureEmbedder(weight=1.0)
    with pytest.raises(NotFittedError):
        embedder(texts)
    embedder.fit(texts)
    rows = embedder(texts).toarray()
    extra = rows[:, -len(PROMPT_FEATURES):]
    np.testing.assert_allclose(extra.mean(axis=0), 0.0, atol=1e-12)
    router = ClassifierRouter(embedder=PromptFeatureEmbedder()).fit(_frame())
    assert router.score_texts(["Compute 512 * 33 and then the average of it"])[0] > router.score_texts(
        ["Say hello to my friend number 4 please"])[0]


def test_stacked_router_learns_from_out_of_fold_scores() -> None:
    router = StackedRouter(routers=[ClassifierRouter(), KNNRouter()], folds=4)
    with pytest.raises(NotFittedError):
        router.score_texts(["x"])
    frame = _frame()
    router.fit(frame)
    assert router.oof_scores_.shape == (len(frame), 2) and router.tiers_ == ("small", "frontier")
    # out-of-fold scores differ from the refitted bases' in-sample scores (no leakage into the combiner)
    in_sample = np.column_stack([r.score_texts(frame["prompt"].tolist()) for r in router.routers_])
    assert not np.allclose(in_sample, router.oof_scores_)
    hard, easy = router.score_texts(["Compute 512 * 33 and then the average of it",
                                     "Say hello to my friend number 4 please"])
    assert hard > 0.5 > easy
    assert router.route(context("Compute 512 * 33 and then the average of it")).tier == "frontier"
    assert router.route(context("Say hello to my friend number 4 please")).tier == "small"


def test_stacked_router_bad_input() -> None:
    with pytest.raises(RouterError, match="at least one base router"):
        StackedRouter(routers=[])
    with pytest.raises(RouterError, match="not a learned router"):
        StackedRouter(routers=["knn"])
    with pytest.raises(RouterError, match="quality_<tier>"):
        StackedRouter(routers=[KNNRouter()]).fit(pd.DataFrame({"prompt": ["a"], "quality_small": [1.0]}))


def test_stacked_router_default_operating_point_is_never_one_tier() -> None:
    frame = _frame(200, seed=3)
    router = StackedRouter(routers=[ClassifierRouter(), KNNRouter()], folds=4).fit(frame)
    share = float((router.score_texts(frame["prompt"].tolist()) >= router.lambda_).mean())
    needed = float((frame["quality_frontier"] > frame["quality_small"]).mean())
    assert 0.1 <= share <= 0.9 and abs(share - needed) < 0.15
    fixed = StackedRouter(routers=[ClassifierRouter()], folds=3, threshold=0.7).fit(frame)
    assert fixed.lambda_ == 0.7
