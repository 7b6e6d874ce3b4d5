"""Scenario suites: the YAML format, its validation, and errors that name file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from persona_lab.evaluation import ScenarioError, ScenarioSuite, load_scenarios

ROOT = Path(__file__).resolve().parents[1]

GOOD = """\
format: persona-lab/scenarios
version: 1
suite: demo
scenarios:
  - id: one
    turns:
      - user: Hello
        expect:
          mentions: [hi]
  - id: two
    simulated_user:
      goal: get help
      max_turns: 2
"""


def test_a_valid_suite_loads_with_its_defaults() -> None:
    suite = ScenarioSuite.from_yaml_text(GOOD, source="demo.yaml")
    assert [s.id for s in suite.scenarios] == ["one", "two"]
    assert suite.scenarios[0].turns[0].expect.mentions == ("hi",)
    assert suite.scenarios[1].simulated_user is not None
    assert suite.scenarios[1].simulated_user.tier == "small"
    assert suite.where("scenarios", 1) == "demo.yaml:10"


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        (GOOD.replace("version: 1", "version: 2"), 2, "version", "unsupported version 2"),
        (GOOD.replace("mentions: [hi]", "mention: [hi]"), 9, "scenarios.0.turns.0.expect.mention",
         "Extra inputs"),
        (GOOD.replace("          mentions: [hi]", "          regex: '(unclosed'"), 9,
         "scenarios.0.turns.0.expect.regex", "not a valid regular expression"),
        (GOOD.replace("      max_turns: 2", "      max_turns: 2\n      tier: huge"), 14,
         "scenarios.1.simulated_user.tier", "unknown tier 'huge'"),
        (GOOD.replace("id: two", "id: one"), 10, "scenarios.1.id", "duplicate scenario id 'one'"),
        (GOOD.replace("          mentions: [hi]", "          constraints: [be_nice]"), 9,
         "scenarios.0.turns.0.expect.constraints", "unknown constraint check 'be_nice'"),
    ],
)
def test_errors_name_the_file_the_line_and_the_field(text: str, line: int, field: str, words: str) -> None:
    with pytest.raises(ScenarioError) as info:
        ScenarioSuite.from_yaml_text(text, source="demo.yaml")
    error = info.value
    assert error.source == "demo.yaml"
    assert error.field == field
    assert error.line == line, str(error)
    assert str(error).startswith(f"demo.yaml:{line}: {field}: ")
    assert words in str(error)


def test_a_chat_scenario_needs_exactly_one_source_of_user_turns() -> None:
    both = GOOD.replace("  - id: two\n", "  - id: two\n    turns: [{user: x}]\n")
    with pytest.raises(ScenarioError, match=r"demo.yaml:10: scenarios.1: .*exactly one of 'turns'"):
        ScenarioSuite.from_yaml_text(both, source="demo.yaml")


def test_a_task_scenario_is_graded_as_a_whole() -> None:
    text = GOOD + "  - id: task\n    kind: task\n    task: do it\n    each_turn: {mentions: [x]}\n"
    with pytest.raises(ScenarioError, match="graded as a whole"):
        ScenarioSuite.from_yaml_text(text, source="demo.yaml")


def test_bad_yaml_and_a_missing_version_are_reported_with_a_line() -> None:
    with pytest.raises(ScenarioError, match=r"demo.yaml:\d+: not valid YAML"):
        ScenarioSuite.from_yaml_text("suite: [unclosed\n", source="demo.yaml")
    with pytest.raises(ScenarioError, match=r"demo.yaml:1: version: missing"):
        ScenarioSuite.from_yaml_text(GOOD.replace("version: 1\n", ""), source="demo.yaml")


def test_the_example_suites_load_and_name_their_personas() -> None:
    suites = load_scenarios(ROOT / "examples" / "scenarios")
    by_name = {s.suite: s for s in suites}
    assert {"tenancy-basics", "tenancy-live", "writing-coach-basics", "research-basics"} <= set(by_name)
    live = by_name["tenancy-live"]
    assert live.personas == ("tenancy-advisor",)
    task = next(s for s in live.scenarios if s.kind == "task")
    assert task.tools_needed == ("lookup_statute", "deadline_calculator")


def test_select_keeps_order_and_rejects_unknown_ids() -> None:
    suite = ScenarioSuite.from_yaml_text(GOOD, source="demo.yaml")
    assert [s.id for s in suite.select(["two"]).scenarios] == ["two"]
    with pytest.raises(ScenarioError, match="no scenario 'three'"):
        suite.select(["three"])
