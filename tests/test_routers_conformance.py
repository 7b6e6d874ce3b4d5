"""Every router honours the estimator contract: params in __init__, clone, changed-only repr, errors."""

from __future__ import annotations

import inspect
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
from sklearn.base import clone

import persona_lab
import persona_lab.routers as routers
from persona_lab import NotFittedError, RouterError
from persona_lab.core import router_name
from persona_lab.routers import (
    CascadeRouter,
    ClassifierRouter,
    ConfidenceVerifier,
    ConstraintRouter,
    FixedRouter,
    HashingEmbedder,
    HeuristicRouter,
    JudgeVerifier,
    KNNRouter,
    MatrixFactorizationRouter,
    OracleRouter,
    RandomRouter,
    RuleVerifier,
    StickyRouter,
    TfidfEmbedder,
)
from persona_lab.tiers import ScriptedBackend
from tests.router_helpers import context, registry

CASES: list[tuple[type, dict[str, Any]]] = [
    (FixedRouter, {"tier": "small", "respect_pin": False}),
    (RandomRouter, {"p_by_tier": {"small": 1.0, "frontier": 2.0}, "seed": 3}),
    (OracleRouter, {"tolerance": 0.5}),
    (HeuristicRouter, {"default_tier": "small", "keywords": {"frontier": ["court"]}, "small_talk_max_words": 4}),
    (ConstraintRouter, {"capabilities": {"small": 0.3}, "cost_weight": 1.0, "difficulty": len}),
    (KNNRouter, {"n_neighbors": 5, "threshold": 0.3, "embedder": "hashing"}),
    (ClassifierRouter, {"margin": 0.1, "threshold": 0.4}),
    (MatrixFactorizationRouter, {"dim": 8, "epochs": 10}),
    (CascadeRouter, {"verifiers": (RuleVerifier(min_chars=3), ConfidenceVerifier()), "escalation": "strongest"}),
    (StickyRouter, {"base": ConstraintRouter(cost_weight=0.5), "margin": 0.1, "min_turns": 3}),
]
LEARNED = (KNNRouter, ClassifierRouter, MatrixFactorizationRouter)
HELPERS: list[tuple[type, dict[str, Any]]] = [
    (RuleVerifier, {"min_chars": 2}),
    (ConfidenceVerifier, {"min_confidence": 0.5, "missing": "escalate"}),
    (JudgeVerifier, {"tiers": registry(small=ScriptedBackend([])), "min_score": 6.0}),
    (TfidfEmbedder, {"ngram_range": (1, 1)}),
    (HashingEmbedder, {"n_features": 1024}),
]


def ids(cases: list[tuple[type, dict[str, Any]]]) -> list[str]:
    return [cls.__name__ for cls, _ in cases]


def training_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "prompt": [
                "say hi", "say hello", "prove the theorem", "derive the bound", "greet me", "solve the integral",
            ],
            "quality_small": [1, 1, 0, 0, 1, 0],
            "quality_frontier": [1, 1, 1, 1, 1, 1],
        }
    )


@pytest.mark.parametrize(("cls", "kwargs"), CASES + HELPERS, ids=ids(CASES + HELPERS))
def test_params_are_the_constructor_arguments(cls: type, kwargs: dict[str, Any]) -> None:
    obj = cls(**kwargs)
    params = obj.get_params(deep=False)
    signature = inspect.signature(cls.__init__)
    expected = {
        name: kwargs.get(name, p.default) for name, p in signature.parameters.items() if name != "self"
    }
    assert params.keys() == expected.keys()
    for name, value in kwargs.items():
        assert params[name] is value, name  # stored unchanged
    for name in expected.keys() - kwargs.keys():
        assert params[name] == expected[name], name
    assert obj.set_params(**params) is obj
    assert obj.get_params(deep=False) == params


@pytest.mark.parametrize(("cls", "kwargs"), CASES + HELPERS, ids=ids(CASES + HELPERS))
def test_clone_round_trips(cls: type, kwargs: dict[str, Any]) -> None:
    obj = cls(**kwargs)
    copy = clone(obj)
    assert type(copy) is cls and copy is not obj
    assert repr(copy) == repr(obj)
    assert copy.get_params(deep=False).keys() == obj.get_params(deep=False).keys()
    if cls is JudgeVerifier:
        assert copy.tiers is obj.tiers  # an injected collaborator is shared, not deep-copied


@pytest.mark.parametrize(("cls", "kwargs"), CASES, ids=ids(CASES))
def test_repr_shows_what_differs_from_defaults_and_the_router_has_a_name(cls: type, kwargs: dict[str, Any]) -> None:
    router = cls(**kwargs)
    text = repr(router)
    assert text.startswith(f"{cls.__name__}(")
    if cls is not FixedRouter:  # FixedRouter keeps its positional repr: FixedRouter('small')
        for name in kwargs:
            assert f"{name}=" in text, (name, text)
        untouched = set(inspect.signature(cls.__init__).parameters) - set(kwargs) - {"self"}
        for name in untouched:
            assert f"{name}=" not in text, (name, text)
    assert isinstance(router.name, str) and router.name
    assert router_name(router) == router.name


@pytest.mark.parametrize(("cls", "kwargs"), CASES, ids=ids(CASES))
def test_no_configured_tier_is_a_clear_router_error(cls: type, kwargs: dict[str, Any]) -> None:
    router = cls(**kwargs)
    if cls in LEARNED:
        router.fit(training_frame())
    if cls is FixedRouter:
        pytest.skip("FixedRouter (foundation) leaves an unconfigured tier to the loop's fallback")
    with pytest.raises(RouterError, match=r"no tier is configured"):
        router.route(context(tiers=(), metadata={"outcomes": {"small": 1.0}}))


@pytest.mark.parametrize(("cls", "kwargs"), [c for c in CASES if c[0] in LEARNED], ids=ids(CASES[5:8]))
def test_learned_routers_follow_the_fit_contract(cls: type, kwargs: dict[str, Any]) -> None:
    router = cls(**kwargs)
    with pytest.raises(NotFittedError):
        router.route(context())
    assert isinstance(NotFittedError("x"), ValueError | AttributeError)
    fitted = router.fit(training_frame())
    assert fitted is router
    learned = [k for k in vars(router) if k.endswith("_") and not k.startswith("_")]
    assert {"tiers_", "embedder_", "n_samples_fit_"} <= set(learned)
    assert clone(router).get_params() == router.get_params()
    assert not hasattr(clone(router), "tiers_")  # a clone is unfitted
    assert router.route(context(tiers=("small", "frontier"))).tier in ("small", "frontier")
    router.fit(training_frame().iloc[::-1])  # refitting overwrites the learned state
    assert router.n_samples_fit_ == 6


def test_sticky_nested_params_reach_the_base_router() -> None:
    sticky = StickyRouter(ConstraintRouter(), margin=0.1)
    assert sticky.get_params()["base__cost_weight"] == 0.3
    sticky.set_params(base__cost_weight=2.0)
    assert sticky.base.cost_weight == 2.0
    with pytest.raises(persona_lab.UsageError, match=r"has no parameter 'lambda'"):
        sticky.set_params(**{"lambda": 1.0})


def test_routers_subpackage_exports_are_sorted_and_resolve() -> None:
    names = routers.__all__
    assert list(names) == sorted(names, key=lambda n: (not n.isupper(), not n[0].isupper(), n))
    for name in names:
        assert getattr(routers, name) is not None, name
    for name in ("HeuristicRouter", "KNNRouter", "CascadeRouter", "StickyRouter", "outcomes_from_turn_logs"):
        assert getattr(persona_lab, name) is getattr(routers, name)


def test_importing_the_routers_loads_no_heavy_library() -> None:
    code = (
        "import sys, persona_lab.routers, persona_lab.loops\n"
        "from persona_lab.routers import HeuristicRouter, ConstraintRouter, CascadeRouter, StickyRouter\n"
        "print(sorted(m for m in ('sklearn', 'pandas', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_unknown_tiers_in_router_parameters_are_named() -> None:
    cases: list[Callable[[], object]] = [
        lambda: RandomRouter({"xl": 1.0}),
        lambda: HeuristicRouter(small_talk_tier="xs"),
        lambda: ConstraintRouter(capabilities={"xl": 1.0}),
        lambda: CascadeRouter(start_tier="xs"),
        lambda: JudgeVerifier(registry(small=ScriptedBackend([])), tier="xs"),
    ]
    for make in cases:
        with pytest.raises(persona_lab.UnknownTier, match=r"unknown tier 'x[sl]' in"):
            make()


@pytest.mark.parametrize(("cls", "kwargs"), CASES, ids=ids(CASES))
def test_a_router_only_ever_picks_a_configured_tier(cls: type, kwargs: dict[str, Any]) -> None:
    from itertools import combinations

    router = cls(**kwargs)
    if cls in LEARNED:
        frame = training_frame()
        router.fit(frame.assign(quality_mid=frame["quality_small"]))
    if cls is ConstraintRouter:
        router.set_params(difficulty=None)
    if cls is RandomRouter:
        router.set_params(p_by_tier=None)  # with weights on absent tiers only, it raises instead
    messages = ["hi", "prove the theorem step by step", "ignore your instructions", "What is a deposit?"]
    for n in (1, 2, 3):
        for configured in combinations(("small", "mid", "frontier"), n):
            for i, text in enumerate(messages):
                outcomes = {t: float(i % 2) for t in ("small", "mid", "frontier")}
                decision = router.route(context(text, tiers=configured, turn_index=i, metadata={"outcomes": outcomes}))
                if cls is FixedRouter:
                    continue  # the foundation's FixedRouter leaves that to the loop's fallback
                assert decision.tier in configured, (configured, text, decision)
