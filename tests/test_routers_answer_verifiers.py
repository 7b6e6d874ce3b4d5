"""Scored answer verifiers: final answers, arithmetic, parsing, refusals, agreement, the learned verifier."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from persona_lab import ConversationLoop, Persona
from persona_lab.core import NotFittedError, Retrying, RouterError
from persona_lab.routers import (
    AgreementVerifier,
    AnswerScore,
    AnswerVerifier,
    ArithmeticVerifier,
    CascadeRouter,
    FinalAnswerVerifier,
    LearnedVerifier,
    ParseVerifier,
    RefusalVerifier,
    arithmetic_statements,
    final_answer,
    requested_form,
)
from persona_lab.tiers import Price, ScriptedBackend, TierRegistry
from tests.helpers import scripted_tier
from tests.router_helpers import context

GSM_PROMPT = "Tom has 3 boxes of 12 eggs. How many eggs does he have?"


@pytest.mark.parametrize(("text", "kind", "expected"), [
    ('{"reasoning": "3*12", "answer": "36"}', "auto", "36"),
    ('Reasoning... {"reasoning": "x", "answer": 1234.0}', "json", "1234"),
    ("He has 3 x 12 = 36 eggs.\n#### 36", "number", "36"),
    ("so the total is \\boxed{42}", "auto", "42"),
    ("The answer is (C).", "letter", "C"),
    ("Let's think. ... the answer is B", "letter", "B"),
    ("She makes $1,800 every day.", "number", "1800"),
    ("The final answer is 18 dollars per day.", "auto", "18"),
    ("No idea at all.", "number", None),
    ("The answer is (C).", "json", None),
    ("", "auto", None),
])
def test_final_answer_reads_the_explicit_forms(text: str, kind: str, expected: str | None) -> None:
    assert final_answer(text, kind) == expected


def test_final_answer_rejects_an_unknown_kind() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        final_answer("42", "roman")


def test_arithmetic_statements_are_re_evaluated() -> None:
    text = "3 x 12 = <<3*12=36>>36 eggs. 36 - 4 = 33 left. 10 / 3 = 3.33 each. $1,200 * 2 = $2,400."
    found = {(s.expression, s.consistent) for s in arithmetic_statements(text)}
    assert found == {("3*12", True), ("36 - 4", False), ("10 / 3", True), ("$1,200 * 2", True)}
    assert arithmetic_statements("In 2019-2020 we met; call 555-1234.") == []
    assert arithmetic_statements("__import__('os') = 1") == []


def test_arithmetic_verifier_scores_the_consistent_share() -> None:
    verifier = ArithmeticVerifier()
    good = verifier.score(GSM_PROMPT, "3 * 12 = 36. So 36.")
    bad = verifier.score(GSM_PROMPT, "3 * 12 = 36, 36 + 2 = 39. So 39.")
    none = verifier.score(GSM_PROMPT, "He has thirty-six eggs.")
    assert (good.score, bad.score, none.score) == (1.0, 0.5, 1.0)
    assert verifier.accepts(good) and not verifier.accepts(bad)
    assert "36 + 2 = 39, not 38" in bad.reason


def test_final_answer_verifier_follows_the_requested_form() -> None:
    verifier = FinalAnswerVerifier()
    assert requested_form(GSM_PROMPT) == "number"
    assert requested_form("Reply in JSON with an answer field") == "json"
    assert requested_form("Pick one.\nA. red\nB. blue\nAnswer:") == "letter"
    assert requested_form("Write a poem about autumn.") is None
    missing = verifier.score(GSM_PROMPT, "He has many eggs.")
    assert missing.status == "no_answer" and not verifier.accepts(missing)
    assert verifier.accepts(verifier.score(GSM_PROMPT, "He has 36 eggs."))
    assert verifier.accepts(verifier.score("Write a poem about autumn.", "Leaves fall."))
    letter = verifier.score("Pick one.\nA. red\nB. blue\nAnswer:", "I like 3 colours")
    assert letter.status == "no_answer"


def test_parse_verifier_checks_json_and_python_blocks() -> None:
    verifier = ParseVerifier()
    assert verifier.score("Say hi", "hi").reason == "nothing to parse"
    ok = verifier.score("Give JSON", '{"answer": 3}')
    broken = verifier.score("Give JSON", '{"answer": 3,,}')
    code = verifier.score("Write code", "```python\ndef f(:\n    pass\n```")
    assert ok.score == 1.0 and broken.score == 0.0 and code.score == 0.0
    assert "Python" in code.reason and not verifier.accepts(broken)


def test_refusal_verifier_fails_refusals_and_hedges() -> None:
    verifier = RefusalVerifier()
    assert verifier.score("q", "I can't help with that request.").score == 0.0
    hedge = verifier.score("q", "It is 36, but I'm not sure about that.")
    assert hedge.score == 0.5 and not verifier.accepts(hedge)
    assert verifier.accepts(verifier.score("q", "It is 36."))
    assert verifier.score("q", "   ").status == "no_answer"


def test_agreement_compares_final_answers() -> None:
    verifier = AgreementVerifier()
    agree = verifier.score(GSM_PROMPT, "3*12 = 36\n#### 36", ['{"answer": "36"}'])
    split = verifier.score(GSM_PROMPT, "#### 36", ["#### 36", "#### 35"])
    unparsed = verifier.score(GSM_PROMPT, "many eggs", ["#### 36"])
    assert agree.score == 1.0 and verifier.accepts(agree)
    assert split.score == 0.5 and not verifier.accepts(split)
    assert AgreementVerifier(threshold=0.5).accepts(split)
    assert unparsed.status == "no_answer"
    with pytest.raises(RouterError, match="needs peer answers"):
        verifier.score(GSM_PROMPT, "#### 36", [])


class _Flaky(AnswerVerifier):
    def __init__(self, *, threshold: float = 0.5):
        self.threshold = threshold

    def score(self, prompt: str, answer: str, peers: Sequence[str] = ()) -> AnswerScore:
        if "boom" in answer:
            raise ValueError("cannot read this answer")
        return AnswerScore(score=1.0, reason="fine")


def test_a_verifier_that_raises_on_one_answer_is_counted_not_fatal() -> None:
    results = _Flaky().score_many(["q"] * 3, ["ok", "boom", "ok"])
    assert [r.status for r in results] == ["ok", "error", "ok"]
    assert "ValueError: cannot read this answer" in results[1].reason
    with pytest.raises(RouterError, match="differ in length"):
        _Flaky().score_many(["q"], ["a", "b"])


async def test_live_check_escalates_when_the_verifier_raises(persona: Persona) -> None:
    small, frontier = ScriptedBackend(["boom: here it is"]), ScriptedBackend(["All good here."])
    tiers = TierRegistry({"small": scripted_tier(small, model="s"), "frontier": scripted_tier(frontier, model="f")})
    loop = ConversationLoop(persona, tiers, CascadeRouter(verifiers=(_Flaky(),)))
    events = [e async for e in loop.turn(loop.new_conversation(), "When must my deposit be protected?")]
    log = events[-1].turn_log
    assert [(a.tier, a.outcome) for a in log.attempts] == [("small", "escalated"), ("frontier", "accepted")]
    retry = next(e for e in events if isinstance(e, Retrying))
    assert "flaky verifier failed (ValueError: cannot read this answer)" in retry.reason


async def test_live_agreement_samples_the_same_tier_again_and_pays(persona: Persona) -> None:
    small = ScriptedBackend(["#### 36", "#### 36", "#### 35", "#### 34"])
    frontier = ScriptedBackend(["#### 36"])
    prices = {"small": Price(0.1, 0.4), "frontier": Price(5.0, 15.0)}
    tiers = TierRegistry({t: scripted_tier(b, model=f"{t}-m", price=prices[t])
                          for t, b in {"small": small, "frontier": frontier}.items()})
    router = CascadeRouter(verifiers=(AgreementVerifier(tiers=tiers),))
    loop = ConversationLoop(persona, tiers, router)
    conv = loop.new_conversation()
    agreed = await loop.achat(conv, GSM_PROMPT)
    assert agreed.turn_log.tier == "small" and len(small.requests) == 2
    assert small.requests[1].temperature == 0.7
    assert agreed.turn_log.total_cost_usd is not None and agreed.turn_log.cost_usd is not None
    assert agreed.turn_log.total_cost_usd > agreed.turn_log.cost_usd  # the second sample is paid
    disagreed = await loop.achat(conv, GSM_PROMPT + " Again?")
    assert disagreed.turn_log.tier == "frontier"


async def test_agreement_without_tiers_or_peers_escalates_live() -> None:
    check = await AgreementVerifier().check(context(GSM_PROMPT), "small", "#### 36")
    assert not check.passed and "no tiers" in check.reason


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    """Synthetic outcomes: answers with wrong arithmetic or the word 'guess' are bad."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        a, b = int(rng.integers(2, 50)), int(rng.integers(2, 50))
        bad = bool(rng.random() < 0.4)
        result = a * b + (int(rng.integers(1, 9)) if bad else 0)
        filler = "I guess roughly" if bad and rng.random() < 0.7 else "Working it out carefully"
        answer = f"{filler}: {a} * {b} = {result}.\n#### {result}"
        peer = f"#### {a * b}"
        rows.append({"prompt": f"A crate holds {a} rows of {b} apples. How many apples?", "answer": answer,
                     "good": not bad, "peers": [peer] if i % 2 == 0 else []})
    return pd.DataFrame(rows)


def test_learned_verifier_is_not_usable_before_fit() -> None:
    verifier = LearnedVerifier()
    with pytest.raises(NotFittedError, match="not fitted"):
        verifier.score("q", "a")
    with pytest.raises(NotFittedError):
        verifier.score_many(["q"], ["a"])
    with pytest.raises(RouterError, match="lacks column"):
        verifier.fit(pd.DataFrame({"prompt": ["q"], "answer": ["a"]}))


def test_learned_verifier_separates_good_from_bad_answers_out_of_sample() -> None:
    train, test = _frame(400, seed=1), _frame(200, seed=2)
    verifier = LearnedVerifier().fit(train)
    assert verifier.n_peers_ == 1 and 0.4 < verifier.positive_rate_ < 0.8
    p = verifier.predict_proba(list(test["prompt"]), list(test["answer"]), list(test["peers"]))
    good = test["good"].to_numpy(bool)
    assert p[good].mean() - p[~good].mean() > 0.4
    accuracy = ((p >= 0.5) == good).mean()
    assert accuracy > 0.85
    # one answer scores the same alone and in a batch
    alone = verifier.score(test["prompt"][3], test["answer"][3], test["peers"][3])
    assert alone.score == pytest.approx(p[3])
    # clones are unfitted copies with the same parameters
    copy = clone(LearnedVerifier(C=0.3))
    assert copy.C == 0.3 and not hasattr(copy, "model_")


def test_learned_verifier_without_a_requested_final_answer_escalates() -> None:
    verifier = LearnedVerifier().fit(_frame(200))
    result = verifier.score("A crate holds 3 rows of 4 apples. How many apples?", "Lots of apples.")
    assert result.status == "no_answer" and not verifier.accepts(result)
    many = verifier.score_many(["A crate holds 3 rows of 4 apples. How many apples?"] * 2, ["12 apples", ""])
    assert [r.status for r in many] == ["ok", "no_answer"]


def test_learned_verifier_with_one_label_predicts_the_constant() -> None:
    frame = _frame(50)
    frame["good"] = True
    verifier = LearnedVerifier().fit(frame)
    assert verifier.predict_proba(["q"], ["#### 1"]).tolist() == [1.0]
