"""Verifier cascades on recorded answers: every attempt paid, the loop agrees with the arithmetic, bad input counted."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest

from persona_lab.bench import (
    AnswerTable,
    BenchmarkItem,
    BenchmarkSet,
    CascadeStage,
    ModelSpec,
    ReplayCascadeRouter,
    TurnOutcome,
    VerifierCascade,
    choose_threshold,
    compare,
    cross_val_scores,
    tier_points,
    with_cascade_sweep,
)
from persona_lab.core import BenchmarkFormatError, RouterError
from persona_lab.routers import (
    AgreementVerifier,
    AnswerScore,
    AnswerVerifier,
    ArithmeticVerifier,
    ClassifierRouter,
    CombinedVerifier,
    LearnedVerifier,
)
from persona_lab.tiers import Price

MODELS = {"s": ("small", Price(0.1, 0.1)), "m": ("mid", Price(1.0, 1.0)), "f": ("frontier", Price(10.0, 10.0))}


def _set(n: int = 60, seed: int = 0) -> BenchmarkSet:
    """Maths items: the small model is right on 60%, the mid on 80%, the frontier always."""
    rng = np.random.default_rng(seed)
    items = []
    for i in range(n):
        a, b = int(rng.integers(2, 40)), int(rng.integers(2, 40))
        truth = a * b
        outcomes = {}
        for model, p in (("s", 0.6), ("m", 0.8), ("f", 1.0)):
            right = rng.random() < p
            value = truth if right else truth + int(rng.integers(1, 9))
            worked = right or rng.random() < 0.5
            text = f"{a} * {b} = {value}.\n#### {value}" if worked else f"So about {value}.\n#### {value}"
            outcomes[model] = (TurnOutcome(score=float(right), response=text),)
        prompt = f"{'Hard: ' if i % 3 == 0 else ''}A box holds {a} rows of {b} pens. How many pens?"
        items.append(BenchmarkItem(id=f"q{i}", suite="toy", category="math", turns=(prompt,), outcomes=outcomes))
    models = {m: ModelSpec(name=m, tier=t, price=p, context_window=8192) for m, (t, p) in MODELS.items()}
    return BenchmarkSet(suite="toy", scale="binary", models=models, items=tuple(items))


@pytest.fixture(scope="module")
def toy() -> tuple[BenchmarkSet, AnswerTable]:
    benchmark = _set()
    return benchmark, AnswerTable.from_set(benchmark)


def test_answer_table_prices_each_tier_through_the_loop(toy: tuple[BenchmarkSet, AnswerTable]) -> None:
    _, table = toy
    assert table.tiers == ("small", "mid", "frontier") and len(table) == 60
    assert (table.costs["small"] > 0).all()
    ratio = table.costs["frontier"] / table.costs["small"]
    assert 50 < float(np.median(ratio)) < 110  # same tokens in, similar out, 100x the price
    quality, cost = table.oracle()
    assert quality == 1.0  # the frontier is always right
    assert cost < table.costs["frontier"].sum() * 0.5  # the oracle pays the frontier only where needed


def test_answer_table_needs_answer_texts() -> None:
    benchmark = _set(5)
    item = benchmark.items[0]
    bare = {m: (TurnOutcome(score=o[0].score),) for m, o in item.outcomes.items()}
    only = BenchmarkItem(id="q0", suite="toy", category="math", turns=item.turns, outcomes=bare)
    broken = BenchmarkSet(suite="toy", scale="binary", models=benchmark.models, items=(only,))
    with pytest.raises(BenchmarkFormatError, match="records no answer text"):
        AnswerTable.from_set(broken, costs={t: np.zeros(1) for t in ("small", "mid", "frontier")})


def test_every_attempt_and_probe_is_paid(toy: tuple[BenchmarkSet, AnswerTable]) -> None:
    _, table = toy
    cascade = VerifierCascade(stages=[CascadeStage(tier="small", verifier=AgreementVerifier(), probes=("mid",)),
                                      CascadeStage(tier="frontier")])
    scores = cascade.scores(table)
    out = scores.outcome(1.0)
    agree = (scores.status[:, 0] == "ok") & (scores.score[:, 0] >= 1.0)
    c = table.costs
    expected = np.where(agree, c["small"] + c["mid"], c["small"] + c["mid"] + c["frontier"])
    np.testing.assert_allclose(out.cost, expected)
    np.testing.assert_array_equal(out.quality, np.where(agree, table.scores["small"], table.scores["frontier"]))
    np.testing.assert_array_equal(out.calls, np.where(agree, 2, 3))
    # accept-all and escalate-all are the ends of the sweep
    sweep = scores.sweep()
    assert sweep["quality"].iloc[0] == pytest.approx(table.scores["small"].mean())
    assert sweep["strong_share"].iloc[-1] == 1.0
    assert sweep["cost_usd"].iloc[-1] == pytest.approx((c["small"] + c["mid"] + c["frontier"]).sum())


class _Picky(AnswerVerifier):
    """Raises on one answer, cannot read another, accepts the rest with their length as score."""

    def __init__(self, *, threshold: float = 0.0):
        self.threshold = threshold

    def score(self, prompt: str, answer: str, peers: Sequence[str] = ()) -> AnswerScore:
        if "rows of 2 " in prompt:
            raise ValueError("picky")
        if "about" in answer:
            return AnswerScore(score=0.0, reason="vague", status="no_answer")
        return AnswerScore(score=1.0, reason="fine")


def test_failures_and_unreadable_answers_are_counted_and_escalate(toy: tuple[BenchmarkSet, AnswerTable]) -> None:
    _, table = toy
    cascade = VerifierCascade(stages=[CascadeStage(tier="small", verifier=_Picky()), CascadeStage(tier="frontier")])
    scores = cascade.scores(table)
    counts = scores.counts()
    vague = sum("about" in a for a in table.answers["small"])
    raising = sum("rows of 2 " in p for p in table.prompts)
    assert counts.get("no_answer", 0) + counts.get("error", 0) == vague + raising - sum(
        "about" in a and "rows of 2 " in p for a, p in zip(table.answers["small"], table.prompts, strict=True))
    assert counts.get("error", 0) >= 1 or raising == 0
    out = scores.outcome(0.0)
    failed = scores.status[:, 0] != "ok"
    assert (out.stage[failed] == 1).all() and (out.stage[~failed] == 0).all()


def test_the_loop_pays_and_decides_exactly_as_the_arithmetic(toy: tuple[BenchmarkSet, AnswerTable]) -> None:
    benchmark, table = toy
    cascade = VerifierCascade(stages=[
        CascadeStage(tier="small", verifier=ArithmeticVerifier()),
        CascadeStage(tier="mid", verifier=AgreementVerifier(), probes=("small",)),
        CascadeStage(tier="frontier"),
    ])
    scores = cascade.scores(table)
    out = scores.outcome(1.0)
    router = ReplayCascadeRouter(scores, 1.0, name="toy-cascade")
    result = compare(benchmark, {"toy-cascade": router}, cv=False, n_boot=0)
    row = result.summary[(result.summary["router"] == "toy-cascade") & (result.summary["point"] == "loop")].iloc[0]
    assert row["quality"] == pytest.approx(out.quality.mean())
    assert row["cost_usd"] == pytest.approx(out.cost.sum())
    turns = result.turns[result.turns["router_name"] == "toy-cascade"]
    tiers = turns.set_index("item_id")["tier"]
    expected = dict(zip([k[0] for k in table.unit_keys()], np.array(cascade.tiers)[out.stage], strict=True))
    assert tiers.to_dict() == expected
    assert int(turns["n_attempts"].sum()) == int((out.stage + 1).sum())  # rejected answers are logged
    # the sweep joins the same curves, summary and figures as the other routers
    full = with_cascade_sweep(result, "toy-cascade", scores)
    sweep = full.curves[(full.curves["router"] == "toy-cascade") & (full.curves["kind"] == "sweep")]
    assert len(sweep) == len(scores.sweep()) and sweep["strong_share"].iloc[-1] == 1.0
    loop_row = full.summary[(full.summary["router"] == "toy-cascade") & (full.summary["point"] == "loop")].iloc[0]
    assert 0.0 <= loop_row["apgr"] <= 1.5 and not np.isnan(loop_row["apgr"])
    assert (full.summary["point"] == "sweep").sum() >= len(sweep)
    assert "toy-cascade" in full.to_markdown()
    figure = full.figures()["cost_quality"]
    assert any(trace.name == "toy-cascade" and trace.mode == "lines+markers" for trace in figure.data)


def test_a_cascade_naming_an_unconfigured_tier_is_an_error(toy: tuple[BenchmarkSet, AnswerTable]) -> None:
    _, table = toy
    cascade = VerifierCascade(stages=[CascadeStage(tier="small", verifier=ArithmeticVerifier()),
                                      CascadeStage(tier="frontier")])
    two = table.__class__(**{**table.__dict__, "tiers": ("small", "mid")})
    with pytest.raises(RouterError, match=r"names tier 'frontier'.*configured: small, mid"):
        cascade.scores(two)
    with pytest.raises(RouterError, match="at least two stages"):
        VerifierCascade(stages=[CascadeStage(tier="small", verifier=ArithmeticVerifier())])
    with pytest.raises(RouterError, match="has no verifier"):
        VerifierCascade(stages=[CascadeStage(tier="small"), CascadeStage(tier="frontier")])


def test_learned_cascade_fits_verifiers_and_the_start_router(toy: tuple[BenchmarkSet, AnswerTable]) -> None:
    _, table = toy
    cascade = VerifierCascade(
        stages=[CascadeStage(tier="small", verifier=CombinedVerifier(parts=[AgreementVerifier(), LearnedVerifier()]),
                             probes=("mid",)),
                CascadeStage(tier="frontier")],
        start_router=ClassifierRouter(), skip_share=0.3)
    with pytest.raises(RouterError, match="fit it before scoring"):
        cascade.scores(table)
    fitted = cascade.fit(table.rows(np.arange(40)))
    assert fitted is not cascade and fitted.skip_threshold_ is not None
    test = table.rows(np.arange(40, 60))
    scores = fitted.scores(test)
    assert scores.skip.sum() == 6  # exactly the top 30% of this traffic
    by_train = VerifierCascade(stages=cascade.stages, start_router=ClassifierRouter(), skip_share=0.3,
                               calibrate="train").fit(table.rows(np.arange(40)))
    assert by_train.skip_threshold_ == fitted.skip_threshold_
    with pytest.raises(RouterError, match="calibrate must be"):
        VerifierCascade(stages=cascade.stages, calibrate="test")
    out = scores.outcome(0.5)
    np.testing.assert_allclose(out.cost[scores.skip], test.costs["frontier"][scores.skip])  # skipped: frontier only
    oof = cross_val_scores(cascade, table.rows(np.arange(40)), folds=4)
    threshold = choose_threshold(oof)
    assert np.isfinite(threshold) or threshold == -np.inf
    assert set(tier_points(test)) == {"small", "mid", "frontier"}


def test_combined_verifier_weighs_parts_and_propagates_bad_status() -> None:
    combined = CombinedVerifier(parts=[AgreementVerifier(), ArithmeticVerifier()], weights=[3, 1])
    prompt = "A box holds 3 rows of 4 pens. How many pens?"
    assert combined.score(prompt, "3 * 4 = 12\n#### 12", ["#### 12"]).score == 1.0
    assert combined.score(prompt, "3 * 4 = 12\n#### 12", ["#### 13"]).score == pytest.approx(0.25)
    assert combined.score(prompt, "no idea", ["#### 12"]).status == "no_answer"
    assert combined.score_many([prompt], ["#### 12"], [[]])[0].status == "error"  # agreement without peers
    with pytest.raises(RouterError, match="weights"):
        CombinedVerifier(parts=[AgreementVerifier()], weights=[1, 2])
    frame = pd.DataFrame({"prompt": [prompt] * 4, "answer": ["#### 12", "#### 13", "#### 12", "#### 11"],
                          "good": [1, 0, 1, 0], "peers": [["#### 12"]] * 4})
    fitted = CombinedVerifier(parts=[AgreementVerifier(), LearnedVerifier(max_features=0)]).fit(frame)
    assert hasattr(fitted.parts[1], "model_") and not hasattr(combined.parts[0], "model_")


def test_missing_answer_texts_can_be_counted_and_escalate() -> None:
    benchmark = _set(4)
    items = [BenchmarkItem(id=i.id, suite="toy", category="math", turns=i.turns,
                           outcomes={**i.outcomes, "s": (TurnOutcome(score=1.0),)}) for i in benchmark.items]
    bare = BenchmarkSet(suite="toy", scale="binary", models=benchmark.models, items=tuple(items))
    table = AnswerTable.from_set(bare, costs={t: np.ones(4) for t in ("small", "mid", "frontier")}, missing="empty")
    assert table.missing_answers == {"small": 4, "mid": 0, "frontier": 0}
    cascade = VerifierCascade(stages=[CascadeStage(tier="small", verifier=ArithmeticVerifier()),
                                      CascadeStage(tier="frontier")])
    scores = cascade.scores(table)
    assert scores.counts() == {"ok": 4}  # arithmetic finds nothing wrong in an empty text...
    combined = VerifierCascade(stages=[CascadeStage(tier="small", verifier=LearnedVerifier().fit(_frame_for(table))),
                                       CascadeStage(tier="frontier")])
    assert combined.scores(table).counts() == {"no_answer": 4}  # ...a verifier that needs an answer escalates
    assert (combined.scores(table).outcome(0.0).stage == 1).all()


def _frame_for(table: AnswerTable) -> pd.DataFrame:
    return pd.DataFrame({"prompt": list(table.prompts) * 2, "answer": ["#### 1", "#### 2"] * len(table),
                         "good": [1, 0] * len(table)})
