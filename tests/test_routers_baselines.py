"""Baselines: the reproducible random router and the oracle over recorded outcomes."""

from __future__ import annotations

from collections import Counter

import pytest

from persona_lab import RouterError, UnknownTier
from persona_lab.routers import OracleRouter, RandomRouter
from tests.router_helpers import context


def test_random_router_is_reproducible_per_conversation_turn_and_step() -> None:
    router = RandomRouter(seed=7)
    picks = [router.route(context(conversation_id=f"c{i}", turn_index=i % 5)).tier for i in range(60)]
    again = [RandomRouter(seed=7).route(context(conversation_id=f"c{i}", turn_index=i % 5)).tier for i in range(60)]
    assert picks == again
    other_seed = [
        RandomRouter(seed=8).route(context(conversation_id=f"c{i}", turn_index=i % 5)).tier for i in range(60)
    ]
    assert picks != other_seed
    assert set(picks) == {"small", "mid", "frontier"}
    # the agent step is part of the key
    steps = {router.route(context(conversation_id="run", turn_index=0, step_index=s)).tier for s in range(30)}
    assert len(steps) > 1


def test_random_router_follows_weights_and_drops_unconfigured_tiers() -> None:
    router = RandomRouter({"small": 3.0, "mid": 1.0, "frontier": 0.0}, seed=1)
    counts = Counter(router.route(context(conversation_id=f"c{i}")).tier for i in range(4000))
    assert counts["frontier"] == 0
    assert 0.70 < counts["small"] / 4000 < 0.80
    # mid is not configured: its weight is dropped, everything goes to small
    only_small = Counter(
        router.route(context(conversation_id=f"c{i}", tiers=("small", "frontier"))).tier for i in range(200)
    )
    assert only_small == {"small": 200}
    decision = router.route(context(tiers=("small", "mid", "frontier")))
    assert decision.features["p_small"] == pytest.approx(0.75) and "p_frontier" not in decision.features


def test_random_router_errors_name_the_problem() -> None:
    with pytest.raises(UnknownTier, match=r"'huge'.*RandomRouter"):
        RandomRouter({"huge": 1.0})
    with pytest.raises(RouterError, match=r"p_by_tier\['small'\] must be a number >= 0"):
        RandomRouter({"small": -1.0})
    with pytest.raises(RouterError, match=r"no configured tier .* positive weight"):
        RandomRouter({"frontier": 1.0}).route(context(tiers=("small", "mid")))


def test_oracle_picks_the_cheapest_configured_tier_with_the_best_score() -> None:
    router = OracleRouter()
    outcomes = {"small": 0.0, "mid": 1.0, "frontier": 1.0}
    assert router.route(context(metadata={"outcomes": outcomes})).tier == "mid"
    assert router.route(context(metadata={"outcomes": {"small": 1, "mid": 1, "frontier": 1}})).tier == "small"
    assert router.route(context(metadata={"outcomes": {"small": 2, "mid": 9, "frontier": 10}})).tier == "frontier"
    # mid is not configured, so it cannot be chosen even though it is the cheapest best
    assert router.route(context(tiers=("small", "frontier"), metadata={"outcomes": outcomes})).tier == "frontier"
    # tolerance: a score within 1 of the best counts as the best
    assert OracleRouter(tolerance=1.0).route(
        context(metadata={"outcomes": {"small": 9, "mid": 9.5, "frontier": 10}})
    ).tier == "small"


def test_oracle_errors_are_clear() -> None:
    router = OracleRouter()
    with pytest.raises(RouterError, match=r"no recorded outcomes"):
        router.route(context())
    with pytest.raises(UnknownTier, match=r"'giant'"):
        router.route(context(metadata={"outcomes": {"giant": 1.0}}))
    with pytest.raises(RouterError, match=r"no score for any configured tier"):
        router.route(context(tiers=("small",), metadata={"outcomes": {"frontier": 1.0}}))
    with pytest.raises(RouterError, match=r"not a number"):
        router.route(context(metadata={"outcomes": {"small": "good"}}))
