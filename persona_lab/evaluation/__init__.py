"""Persona evaluation: scenario suites, graders, ``evaluate`` and the variant comparison.

- scenario suites (``load_scenarios``, ``ScenarioSuite``; the format: ``docs/evaluation.md``);
- graders: plain callables ``(GradingInput) -> Grade`` (sync or async): the rule graders
  (``mentions``, ``matches``, ``answer_length``, ``tool_called``, ``keeps_constraints``…) and
  ``LLMJudge``;
- ``evaluate`` / ``evaluate_sync``: every scenario × persona variant through the real loops,
  graded, resumable, → :class:`EvaluationResult` (frames, comparison, differences, report);
- ``SideBySide``: a notebook widget comparing two variants turn by turn (``[widgets]`` extra).
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING

from persona_lab.evaluation._comparison import compare_variants, scenario_differences
from persona_lab.evaluation._errors import ScenarioError
from persona_lab.evaluation._evaluate import TURN_LOG_FILE, check_scenarios, evaluate, evaluate_sync, finished_pairs
from persona_lab.evaluation._expect import graders_for
from persona_lab.evaluation._figure import score_cost_figure
from persona_lab.evaluation._frames import EVALUATION_COLUMNS, GRADE_COLUMNS, grades_frame, turns_frame
from persona_lab.evaluation._grade import SCALES, Grade, Grader, GradingInput, apply_grader, grader_name
from persona_lab.evaluation._judge import LLMJudge, parse_pass_fail, parse_rating
from persona_lab.evaluation._records import EvaluatedTurn, read_evaluated_turns, write_evaluated_turns
from persona_lab.evaluation._result import EvaluationResult, PairFailure
from persona_lab.evaluation._rules import (
    CONSTRAINT_CHECKS,
    ConstraintCheck,
    answer_length,
    keeps_constraints,
    matches,
    mentions,
    not_matches,
    not_mentions,
    tool_called,
    tool_not_called,
)
from persona_lab.evaluation._scenario import (
    SCENARIO_FORMAT,
    SCENARIO_FORMAT_VERSION,
    Expectations,
    JudgeSpec,
    Scenario,
    ScenarioSuite,
    SimulatedUser,
    UserTurn,
    load_scenarios,
)
from persona_lab.evaluation._side_by_side import TurnPair, side_by_side_html, turn_pairs
from persona_lab.evaluation._simulated import UserSimulator
from persona_lab.evaluation._tier_call import TierReply, call_tier
from persona_lab.evaluation._variants import Variant, build_variants, tier_routers

if _TYPE_CHECKING:
    from persona_lab.evaluation._widget import SideBySide

__all__ = [
    "CONSTRAINT_CHECKS",
    "EVALUATION_COLUMNS",
    "GRADE_COLUMNS",
    "SCALES",
    "SCENARIO_FORMAT",
    "SCENARIO_FORMAT_VERSION",
    "TURN_LOG_FILE",
    "ConstraintCheck",
    "EvaluatedTurn",
    "EvaluationResult",
    "Expectations",
    "Grade",
    "Grader",
    "GradingInput",
    "JudgeSpec",
    "LLMJudge",
    "PairFailure",
    "Scenario",
    "ScenarioError",
    "ScenarioSuite",
    "SideBySide",
    "SimulatedUser",
    "TierReply",
    "TurnPair",
    "UserSimulator",
    "UserTurn",
    "Variant",
    "answer_length",
    "apply_grader",
    "build_variants",
    "call_tier",
    "check_scenarios",
    "compare_variants",
    "evaluate",
    "evaluate_sync",
    "finished_pairs",
    "grader_name",
    "graders_for",
    "grades_frame",
    "keeps_constraints",
    "load_scenarios",
    "matches",
    "mentions",
    "not_matches",
    "not_mentions",
    "parse_pass_fail",
    "parse_rating",
    "read_evaluated_turns",
    "scenario_differences",
    "score_cost_figure",
    "side_by_side_html",
    "tier_routers",
    "tool_called",
    "tool_not_called",
    "turn_pairs",
    "turns_frame",
    "write_evaluated_turns",
]


def __getattr__(name: str) -> object:
    """The widget loads ipywidgets only when asked for (``pip install 'persona-lab[widgets]'``)."""
    if name == "SideBySide":
        from persona_lab.evaluation import _widget

        return _widget.SideBySide
    raise AttributeError(f"module 'persona_lab.evaluation' has no attribute {name!r}")
