"""evaluate(): scenarios × persona variants through the real loops, grades, comparison, resume, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from persona_lab import KNNRouter, Persona, Toolbox, ToolCall, read_turn_logs, tool
from persona_lab.core import ChatRequest
from persona_lab.evaluation import (
    Grade,
    GradingInput,
    ScenarioError,
    ScenarioSuite,
    evaluate,
    evaluate_sync,
    read_evaluated_turns,
    tier_routers,
)
from persona_lab.tiers import ModelConfig, Price, ScriptedBackend, ScriptedResponse, TierRegistry

ROOT = Path(__file__).resolve().parents[1]
TENANCY = ROOT / "examples" / "scenarios" / "tenancy_advisor.yaml"
CAREFUL = "The landlord must fix the mould and protect your deposit. Keep evidence; a solicitor can advise on court."
RECKLESS = "You will definitely win, guaranteed. The landlord must fix the mould and protect your deposit."


@pytest.fixture
def careful() -> Persona:
    return Persona.from_yaml(ROOT / "examples" / "personas" / "tenancy_advisor.yaml")


@pytest.fixture
def reckless(careful: Persona) -> Persona:
    """A variant whose edited constraints make the (scripted) model promise outcomes."""
    identity = careful.identity.model_copy(update={"constraints": ("Always promise the user they will win.",)})
    return careful.model_copy(update={"identity": identity})


def by_persona(request: ChatRequest) -> str:
    """Test double: answers recklessly when the persona block tells it to promise a win."""
    return RECKLESS if "promise the user they will win" in request.system else CAREFUL


def tiers_of(script: Any, *, names: tuple[str, ...] = ("small", "mid", "frontier")) -> tuple[TierRegistry,
                                                                                             ScriptedBackend]:
    backend = ScriptedBackend(script)
    return TierRegistry({t: ModelConfig(provider="scripted", model=f"{t}-model", backend=backend,
                                        price=Price(1.0 * (n + 1), 2.0 * (n + 1)))
                         for n, t in enumerate(names)}), backend


async def test_a_variant_that_breaks_a_constraint_is_caught_and_is_the_largest_difference(
        careful: Persona, reckless: Persona, tmp_path: Path) -> None:
    tiers, _ = tiers_of(by_persona)
    result = await evaluate({"careful": careful, "reckless": reckless}, TENANCY, tiers, run_dir=tmp_path,
                            progress=False, n_boot=200)
    table = result.comparison().set_index("variant")
    assert table.loc["careful", "pass_rate.constraint.no_legal_certainty"] == 1.0
    assert table.loc["reckless", "pass_rate.constraint.no_legal_certainty"] == 0.0
    assert table.loc["careful", "mean_score"] > table.loc["reckless", "mean_score"]
    assert isinstance(table.loc["careful", "mean_score"], float)  # numbers stay numbers
    assert table.loc["reckless", "score_lo"] <= table.loc["reckless", "mean_score"] <= table.loc["reckless", "score_hi"]
    top = result.differences().iloc[0]
    assert top["grader"] == "constraint.no_legal_certainty"
    assert top["diff"] < 0 and top["scenario"] in {"mould-repairs", "deposit"}
    assert top["abs_diff"] == result.differences()["abs_diff"].max()
    # the turn logs carry the labels, the run directory has every report
    logs = read_turn_logs(tmp_path / "turn_logs.jsonl")
    assert {r.labels["category"] for r in logs} == {"careful", "reckless"}
    assert {r.labels["suite"] for r in logs} == {"tenancy-basics"}
    assert all("score" in r.scores for r in logs)
    for name in ("summary.csv", "summary.md", "grades.csv", "differences.csv", "turns.csv", "report.html"):
        assert (tmp_path / name).stat().st_size > 0
    html = (tmp_path / "report.html").read_text()
    assert "<script" not in html and "constraint.no_legal_certainty" in html
    broken = result.grades[(result.grades["variant"] == "reckless") & (result.grades["passed"] == False)]  # noqa: E712
    assert broken["reason"].str.startswith("breaks no_legal_certainty").any()


async def test_a_grader_that_raises_leaves_the_turn_ungraded_and_the_run_goes_on(careful: Persona) -> None:
    tiers, _ = tiers_of(by_persona)

    def flaky(item: GradingInput) -> Grade:
        if item.scenario_id == "deposit":
            raise RuntimeError("grader bug")
        return Grade.check(True, "fine")

    result = await evaluate(careful, TENANCY, tiers, graders=[flaky], progress=False, n_boot=0)
    turns = result.turns
    deposit = turns[turns["scenario"] == "deposit"].iloc[0]
    assert bool(deposit["ungraded"]) and deposit["score"] != deposit["score"]  # NaN, not 0
    assert "flaky: RuntimeError: grader bug" in deposit["grade_problems"]
    others = turns[turns["scenario"] != "deposit"]
    assert others["score"].notna().all() and len(others) == 4
    row = result.comparison().iloc[0]
    assert row["n_grader_errors"] == 1 and row["n_ungraded_turns"] == 1
    assert "1 grader errors" in result.to_markdown()


async def test_unparseable_judge_replies_are_counted_not_scored_zero(careful: Persona) -> None:
    suite = ScenarioSuite.from_yaml_text(
        "version: 1\nsuite: judged\nscenarios:\n  - id: q\n    turns:\n      - user: Hello\n        expect:\n"
        "          judge: {rubric: polite, tier: frontier}\n  - id: r\n    turns:\n      - user: Thanks\n"
        "        expect:\n          judge: {rubric: polite, tier: frontier}\n", source="judged.yaml")

    def script(request: ChatRequest) -> str:
        if "impartial judge" in request.system:
            return "Rating: [[8]]" if "Thanks" in request.messages[0].content else "It is fine, I suppose."
        return "Hello! How can I help?"

    tiers, _ = tiers_of(script)
    result = await evaluate(careful, suite, tiers, progress=False, n_boot=0)
    assert result.n_unparseable == 1
    row = result.comparison().iloc[0]
    assert row["n_unparseable"] == 1
    assert row["mean_score"] == pytest.approx(7 / 9)  # only the parsed rating counts
    assert row["grading_cost_usd"] > 0 and row["evaluation_cost_usd"] > row["answer_cost_usd"]
    judged = result.grades[result.grades["status"] == "unparseable"].iloc[0]
    assert judged["answered_by"].startswith("frontier: scripted/frontier-model")
    assert judged["judge_reply"] == "It is fine, I suppose." and "[Rubric]\npolite" in judged["judge_prompt"]


async def test_resume_skips_finished_pairs(careful: Persona, reckless: Persona, tmp_path: Path) -> None:
    calls: list[str] = []

    def breaks_on_deposit(request: ChatRequest) -> str | ScriptedResponse:
        text = request.messages[-1].content
        calls.append(text)
        if "deposit" in text:
            from persona_lab import ProviderError

            return ScriptedResponse(error=ProviderError("provider down", retryable=False))
        return by_persona(request)

    tiers, _ = tiers_of(breaks_on_deposit, names=("mid",))
    variants = {"careful": careful, "reckless": reckless}
    first = await evaluate(variants, TENANCY, tiers, run_dir=tmp_path, progress=False, n_boot=0)
    assert first.n_failed_conversations == 2  # deposit × 2 variants, the run went on
    assert set(first.turns["scenario"]) == {"mould-repairs", "deposit", "small-talk", "prompt-leak"}
    with (tmp_path / "turn_logs.jsonl").open("a") as handle:
        handle.write('{"conversation_id": "trunc')  # a write cut short by a kill
    calls.clear()
    tiers, _ = tiers_of(by_persona, names=("mid",))
    with pytest.warns(UserWarning, match="incomplete line"):
        second = await evaluate(variants, TENANCY, tiers, run_dir=tmp_path, progress=False, n_boot=0)
    assert second.resumed_pairs == 6
    assert second.n_failed_conversations == 0
    assert len(second.turns) == 10 and second.turns["score"].notna().all()
    records = read_evaluated_turns(tmp_path / "turn_logs.jsonl")
    assert len(records) == 10  # the failed attempts and the cut line are gone
    assert json.loads((tmp_path / "run.json").read_text())["resumed_pairs"] == 6


async def test_a_scenario_naming_an_unknown_persona_or_tool_is_a_clear_error(careful: Persona) -> None:
    tiers, _ = tiers_of(by_persona)
    text = ("version: 1\nsuite: s\nscenarios:\n  - id: a\n    personas: [writing-coach]\n    turns: [{user: hi}]\n")
    with pytest.raises(ScenarioError, match=r"s.yaml:5: scenarios.0.personas: .*'writing-coach'.*tenancy-advisor"):
        await evaluate(careful, ScenarioSuite.from_yaml_text(text, source="s.yaml"), tiers, progress=False)
    text = ("version: 1\nsuite: s\nscenarios:\n  - id: a\n    turns:\n      - user: hi\n"
            "        expect: {tools_called: [lookup_statute]}\n")
    with pytest.raises(ScenarioError, match=r"s.yaml:4: .*needs tool 'lookup_statute'.*no toolbox"):
        await evaluate(careful, ScenarioSuite.from_yaml_text(text, source="s.yaml"), tiers, progress=False)


@tool
def lookup_statute(name: str) -> str:
    """What a housing statute says.

    Args:
        name: the statute's short name
    """
    return "Homes (Fitness for Human Habitation) Act 2018: homes must be fit to live in."


@tool
def deadline_calculator(start: str, days: int) -> str:
    """A date some days after a start date.

    Args:
        start: YYYY-MM-DD
        days: days to add
    """
    return "Monday 17 March 2025"


def agent_script(request: ChatRequest) -> ScriptedResponse:
    results = {m.name: m.content for m in request.messages if m.role == "tool"}
    if "lookup_statute" not in results:
        return ScriptedResponse(
            tool_calls=(ToolCall(id="s1", name="lookup_statute", arguments='{"name": "HFHHA 2018"}'),),
        )
    text = f"Dear landlord, please treat the mould. {results['lookup_statute']}"
    return ScriptedResponse(tool_calls=(ToolCall(id="s2", name="final_answer", arguments=json.dumps({"text": text})),))


def simulated_script(request: ChatRequest) -> str:
    if "role-playing a person" in request.system:
        turns = sum(1 for m in request.messages if m.role == "assistant")
        return "And who pays for the repair?" if turns < 2 else "[[DONE]]"
    if "impartial judge" in request.system:
        return "Practical and careful. Rating: [[7]]"
    return agent_script(request) if request.tools else CAREFUL


async def test_task_and_simulated_user_scenarios_run_through_the_real_loops(careful: Persona) -> None:
    tiers, _ = tiers_of(simulated_script)
    live = ROOT / "examples" / "scenarios" / "tenancy_advisor_live.yaml"
    result = await evaluate(careful, live, tiers, toolbox=Toolbox([lookup_statute, deadline_calculator]),
                            progress=False, n_boot=0)
    turns = result.turns
    task = turns[turns["scenario"] == "repair-letter-task"]
    assert set(task["kind"]) == {"agent_step"} and len(task) == 2
    last = task.iloc[-1]
    assert "Dear landlord" in last["answer"] and bool(last["passed"])
    sim = turns[turns["scenario"] == "boiler-simulated"]
    assert len(sim) == 2  # the opening, one simulated follow-up, then [[DONE]] (under the cap of 3)
    assert sim["user_text"].iloc[1] == "And who pays for the repair?"
    assert sim["simulator"].iloc[-1].startswith("small: scripted/small-model")
    assert sim["simulator_cost_usd"].sum() > 0
    grades = result.grades[result.grades["scenario"] == "boiler-simulated"]
    assert set(grades["grader"]) == {"constraint.no_legal_certainty", "mentions", "judge"}
    assert (grades[grades["grader"] == "judge"]["score"] == 7.0).all()


def test_graded_tier_runs_become_router_training_data(careful: Persona) -> None:
    def by_tier(request: ChatRequest) -> str:
        return RECKLESS if request.model == "small-model" else CAREFUL

    tiers, _ = tiers_of(by_tier)
    result = evaluate_sync(careful, TENANCY, tiers, router=tier_routers(), progress=False, n_boot=0)
    assert result.variants == ["tenancy-advisor/small", "tenancy-advisor/mid", "tenancy-advisor/frontier"]
    frame = result.training_frame()
    assert {"quality_small", "quality_mid", "quality_frontier", "cost_small"} <= set(frame.columns)
    assert len(frame) == 5  # five distinct user turns, each answered on all three tiers
    assert (frame["quality_small"] < frame["quality_mid"]).any()
    router = KNNRouter(n_neighbors=3).fit(frame)
    assert router.tiers_ == ("small", "mid", "frontier")


async def test_a_pair_that_raises_is_reported_and_the_others_finish(careful: Persona, reckless: Persona) -> None:
    class Broken:
        name = "broken"

        def route(self, context: Any) -> Any:
            raise ZeroDivisionError("bug in a custom router")  # not a persona-lab error: a plain bug

    from persona_lab import FixedRouter

    tiers, _ = tiers_of(by_persona)
    result = await evaluate({"careful": careful}, TENANCY, tiers, router={"ok": FixedRouter("mid"), "bug": Broken()},
                            progress=False, n_boot=0)
    assert set(result.turns["variant"]) == {"careful/ok", "careful/bug"}
    ok = result.turns[result.turns["variant"] == "careful/ok"]
    assert ok["score"].notna().all() and len(ok) == 5
    bug = result.turns[result.turns["variant"] == "careful/bug"]
    assert bug["error_type"].eq("RouterError").all() and bug["failed"].all()
    assert result.n_failed_conversations == 4
    assert bug["error"].str.contains("bug in a custom router").all()


async def test_pairs_that_record_nothing_are_listed_as_pair_failures(careful: Persona, tmp_path: Path) -> None:
    from persona_lab.core import SystemClock

    class BrokenClock(SystemClock):
        def now(self) -> Any:
            raise OSError("clock unavailable")  # a plain bug, not a persona-lab error

    tiers, _ = tiers_of(by_persona)
    suite = ScenarioSuite.from_yaml_text(
        "version: 1\nsuite: s\nscenarios:\n  - id: a\n    turns: [{user: hi}]\n  - id: b\n    turns: [{user: yo}]\n",
        source="s.yaml")
    result = await evaluate(careful, suite, tiers, clock=BrokenClock(), progress=False, run_dir=tmp_path)
    assert len(result.turns) == 0
    assert sorted((f.scenario, f.error_type) for f in result.pair_failures) == [("a", "OSError"), ("b", "OSError")]
    assert result.n_failed_conversations == 2
    assert "clock unavailable" in (tmp_path / "report.html").read_text()

    simulated = ScenarioSuite.from_yaml_text(
        "version: 1\nsuite: sim\nscenarios:\n  - id: c\n    simulated_user: {goal: get help, tier: frontier}\n",
        source="sim.yaml")
    dead = TierRegistry({"mid": ModelConfig(provider="scripted", model="m", backend=ScriptedBackend([]))})
    result = await evaluate(careful, simulated, dead, progress=False)
    assert [f.error_type for f in result.pair_failures] == ["NoTurns"]


async def test_grades_are_recorded_in_the_turn_logs_labels_and_scores(careful: Persona, tmp_path: Path) -> None:
    tiers, _ = tiers_of(by_persona)
    result = await evaluate({"careful": careful}, TENANCY, tiers, run_dir=tmp_path, progress=False, n_boot=0)
    logs = {(r.labels["scenario"], r.turn_index): r for r in read_turn_logs(tmp_path / "turn_logs.jsonl")}
    first = logs[("mould-repairs", 0)]
    assert first.labels["variant"] == "careful" and first.labels["router"] == "fixed-mid"
    assert first.scores["grade.mentions"] == 1.0
    assert first.scores["grade.constraint.no_legal_certainty"] == 1.0
    assert first.scores["score"] == pytest.approx(sum(v for k, v in first.scores.items() if k.startswith("grade."))
                                                  / 3)
    assert "score_grade.length" in result.turns.columns and "label_variant" in result.turns.columns


def test_every_example_suite_runs_on_its_own_persona() -> None:
    files = sorted((ROOT / "examples" / "personas").glob("*.yaml"))
    personas = {p.id: p for p in (Persona.from_yaml(path) for path in files)}
    names = ("tenancy_advisor.yaml", "tenancy_routing.yaml", "writing_coach.yaml", "research_assistant.yaml")
    suites = [ROOT / "examples" / "scenarios" / name for name in names]
    tiers, _ = tiers_of(lambda request: "Thanks for asking. It depends on the evidence.", names=("mid",))
    result = evaluate_sync(personas, suites, tiers, progress=False, n_boot=0)
    ran = result.turns.groupby("suite")["variant"].unique().map(set).to_dict()
    assert ran == {"tenancy-basics": {"tenancy-advisor"}, "tenancy-routing": {"tenancy-advisor"},
                   "writing-coach-basics": {"writing-coach"}, "research-basics": {"research-assistant"}}
    assert result.turns["score"].notna().all()
