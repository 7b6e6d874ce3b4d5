"""The side-by-side view: pure HTML and the widget's controls (no kernel)."""

from __future__ import annotations

from pathlib import Path

import pytest

from persona_lab import Persona
from persona_lab.core import ChatRequest
from persona_lab.evaluation import EvaluationResult, evaluate_sync, side_by_side_html, turn_pairs
from persona_lab.tiers import ModelConfig, Price, ScriptedBackend, TierRegistry

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def result() -> EvaluationResult:
    careful = Persona.from_yaml(ROOT / "examples" / "personas" / "tenancy_advisor.yaml")
    identity = careful.identity.model_copy(update={"constraints": ("Always promise the user they will win.",)})
    reckless = careful.model_copy(update={"identity": identity})

    def answer(request: ChatRequest) -> str:
        if "promise the user they will win" in request.system and "court" in request.messages[-1].content:
            return "You will definitely win <b>for sure</b>. Your landlord must fix it."
        return "Your landlord must fix the mould; a solicitor can advise on court."

    backend = ScriptedBackend(answer)
    tiers = TierRegistry({"mid": ModelConfig(provider="scripted", model="m", backend=backend, price=Price(1, 2))})
    return evaluate_sync({"careful": careful, "reckless": reckless},
                         ROOT / "examples" / "scenarios" / "tenancy_advisor.yaml", tiers, progress=False, n_boot=200)


def test_the_html_shows_both_answers_and_marks_the_turn_that_differs(result: EvaluationResult) -> None:
    pairs = turn_pairs(result, "careful", "reckless", "mould-repairs")
    assert [p.index for p in pairs] == [0, 1]
    assert pairs[0].difference == 0 and pairs[1].difference > 0
    html = side_by_side_html(result, "careful", "reckless", "mould-repairs")
    assert "&lt;b&gt;for sure&lt;/b&gt;" in html  # model text is escaped
    assert html.count("class='plab-differ'") == 1
    assert "Grades differ most at turn 2" in html
    assert "constraint.no_legal_certainty" in html and "✗" in html
    assert "$0.0" in html and ">mid<" in html
    report = result.to_html()
    assert "<b>for sure</b>" not in report and "&lt;b&gt;for sure&lt;/b&gt;" in report


def test_the_widget_opens_on_the_scenario_that_differs_most_and_follows_its_controls(
        result: EvaluationResult) -> None:
    pytest.importorskip("ipywidgets")
    from persona_lab.evaluation import SideBySide

    widget = SideBySide(result)
    assert (widget.variant_a.value, widget.variant_b.value) == ("careful", "reckless")
    assert widget.scenario.value == "mould-repairs"
    assert "Grades differ most at turn 2" in widget.view.value
    widget.scenario.value = "small-talk"
    assert "do not differ" in widget.view.value
    widget.variant_b.value = "careful"
    assert "do not differ" in widget.view.value
    with pytest.raises(ValueError, match="unknown variant 'bold'"):
        SideBySide(result, a="bold")


def test_the_score_cost_figure_has_one_point_per_variant_with_its_interval(result: EvaluationResult) -> None:
    pytest.importorskip("plotly")
    fig = result.figure()
    (trace,) = fig.data
    assert list(trace.text) == ["careful", "reckless"]
    table = result.comparison()
    assert list(trace.y) == list(table["mean_score"])
    assert list(trace.x) == list(table["evaluation_cost_usd"])
    assert trace.error_y.arrayminus[1] == pytest.approx(table["mean_score"][1] - table["score_lo"][1])
    with pytest.raises(ValueError, match="unknown cost column 'price'; known: answer_cost_usd"):
        result.figure(cost="price")
