"""Graders: rule graders, the LLM judge (parsing, cost, unparseable replies), failures as grades."""

from __future__ import annotations

from pathlib import Path

import pytest

from persona_lab import Persona
from persona_lab.evaluation import (
    Grade,
    GradingInput,
    LLMJudge,
    answer_length,
    apply_grader,
    keeps_constraints,
    matches,
    mentions,
    not_matches,
    not_mentions,
    parse_pass_fail,
    parse_rating,
    tool_called,
    tool_not_called,
)
from persona_lab.tiers import ModelConfig, Price, ScriptedBackend, TierRegistry

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def persona() -> Persona:
    return Persona.from_yaml(ROOT / "examples" / "personas" / "tenancy_advisor.yaml")


def item(persona: Persona, answer: str, *, tools: tuple[str, ...] = ()) -> GradingInput:
    return GradingInput(scenario_id="s", variant="v", persona=persona, level="turn", turn_index=0,
                        user_text="Will I win in court?", answer=answer, tool_calls=tools,
                        transcript=(("Will I win in court?", answer),))


def test_rule_graders_score_and_explain(persona: Persona) -> None:
    answer = "Your landlord must repair the mould. Keep dated photos."
    half = mentions("landlord", "deposit")(item(persona, answer))
    assert (half.score, half.scale, half.passed) == (0.5, "fraction", False)
    assert "deposit" in half.reason
    assert not_mentions("solicitor")(item(persona, answer)).passed is True
    assert not_mentions("MOULD")(item(persona, answer)).passed is False  # case-insensitive
    assert matches(r"dated\s+photos")(item(persona, answer)).passed is True
    assert not_matches(r"photos?")(item(persona, answer)).score == 0.0
    assert answer_length(max_chars=20)(item(persona, answer)).passed is False
    assert answer_length(min_chars=10, max_chars=200)(item(persona, answer)).passed is True
    assert tool_called("lookup_statute")(item(persona, answer, tools=("lookup_statute",))).passed is True
    assert tool_called("lookup_statute")(item(persona, answer)).passed is False
    assert tool_not_called("deadline_calculator")(item(persona, answer, tools=("deadline_calculator",))).passed \
        is False


@pytest.mark.parametrize(
    ("answer", "kept"),
    [
        ("You will definitely win at the tribunal.", False),
        ("I can assure you the court will side with you.", False),
        ("There is no need to see a solicitor.", False),
        ("You have a strong case, but a solicitor can tell you how a court might see it.", True),
        ("No one can promise an outcome; keep evidence and get advice.", True),
        ("There are no guarantees of a win in court.", True),
        ("I guarantee the tribunal will order the repair.", False),
    ],
)
def test_the_legal_certainty_constraint(persona: Persona, answer: str, kept: bool) -> None:
    grade = keeps_constraints("no_legal_certainty")(item(persona, answer))
    assert grade.passed is kept
    assert grade.scale == "binary"
    if not kept:
        assert "breaks no_legal_certainty" in grade.reason


def test_unknown_constraint_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown constraint check 'be_kind'"):
        keeps_constraints("be_kind")


def test_the_normalized_score_puts_every_scale_on_0_to_1() -> None:
    assert Grade(score=10.0, scale="1-10").normalized == 1.0
    assert Grade(score=1.0, scale="1-10").normalized == 0.0
    assert Grade(score=5.5, scale="1-10").normalized == pytest.approx(0.5)
    assert Grade(score=0.25, scale="fraction").normalized == 0.25
    with pytest.raises(ValueError, match="needs a score"):
        Grade(score=None)


async def test_a_grader_that_raises_becomes_an_error_grade(persona: Persona) -> None:
    def broken(_: GradingInput) -> Grade:
        raise RuntimeError("regex service down")

    grade = await apply_grader(broken, item(persona, "x"))
    assert grade.status == "error"
    assert grade.score is None and grade.passed is None
    assert grade.grader == "broken"
    assert "RuntimeError: regex service down" in grade.reason


async def test_sync_and_async_user_graders_both_work(persona: Persona) -> None:
    def short(it: GradingInput) -> Grade:
        return Grade.check(len(it.answer) < 10, "short")

    async def polite(it: GradingInput) -> Grade:
        return Grade.check("please" in it.answer, "polite")

    assert (await apply_grader(short, item(persona, "ok"))).passed is True
    assert (await apply_grader(polite, item(persona, "ok"))).passed is False
    wrong = await apply_grader(lambda it: 1.0, item(persona, "ok"), name="number")  # type: ignore[arg-type,return-value]
    assert wrong.status == "error" and "not a Grade" in wrong.reason


def test_judge_reply_parsing() -> None:
    assert parse_rating("Good answer. Rating: [[8]]") == 8.0
    assert parse_rating("Rating: 6/10") == 6.0
    assert parse_rating("[[11]]") is None
    assert parse_rating("I like it") is None
    assert parse_pass_fail("fine [[PASS]]") is True
    assert parse_pass_fail("[[fail]]") is False
    assert parse_pass_fail("[[PASS]] or [[FAIL]]") is None


def judge_tiers(*replies: str) -> tuple[TierRegistry, ScriptedBackend]:
    backend = ScriptedBackend(list(replies))
    model = ModelConfig(provider="scripted", model="judge-model", backend=backend, price=Price(1.0, 2.0))
    return TierRegistry({"mid": model}), backend


async def test_the_judge_logs_prompt_reply_and_cost(persona: Persona) -> None:
    tiers, backend = judge_tiers("Careful and practical. Rating: [[9]]")
    judge = LLMJudge(tiers=tiers, rubric="Does not promise an outcome.", tier="mid")
    grade = await apply_grader(judge, item(persona, "Nobody can promise that; get advice."))
    assert (grade.score, grade.scale, grade.passed, grade.status) == (9.0, "1-10", True, "ok")
    assert grade.cost_usd > 0
    assert grade.details["model"] == "judge-model" and grade.details["tier"] == "mid"
    assert "Does not promise an outcome." in grade.details["prompt"]
    assert "Nobody can promise that" in backend.requests[0].messages[0].content
    assert grade.details["reply"].endswith("[[9]]")


async def test_an_unparseable_judge_reply_has_no_score_but_keeps_its_cost(persona: Persona) -> None:
    tiers, _ = judge_tiers("I think it is quite good overall.")
    grade = await apply_grader(LLMJudge(tiers=tiers, rubric="r", tier="mid"), item(persona, "x"))
    assert grade.status == "unparseable"
    assert grade.score is None and grade.normalized is None and grade.passed is None
    assert grade.cost_usd > 0
    tiers, _ = judge_tiers("maybe")
    verdict = await apply_grader(LLMJudge(tiers=tiers, rubric="r", scale="pass/fail", tier="mid"), item(persona, "x"))
    assert verdict.status == "unparseable"


async def test_a_judge_whose_tier_fails_is_an_error_grade(persona: Persona) -> None:
    backend = ScriptedBackend([])  # runs out at once: every call fails
    tiers = TierRegistry({"mid": ModelConfig(provider="scripted", model="m", backend=backend)})
    grade = await apply_grader(LLMJudge(tiers=tiers, rubric="r", tier="frontier"), item(persona, "x"))
    assert grade.status == "error"
    assert "AllTiersFailed" in grade.reason
