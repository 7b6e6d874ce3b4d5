"""Evaluated records as tidy frames: one row per turn, one row per grade.

``turns_frame`` has every ``turn_logs_to_frame`` column (``suite`` = scenario suite,
``item_id`` = scenario, ``category`` = variant, ``score`` = the turn's 0–1 grade, and from the
turn logs' labels and scores ``label_scenario``, ``label_variant``, ``label_router`` and one
``score_grade.<grader>`` column, 0–1, per grader) plus :data:`EVALUATION_COLUMNS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from persona_lab.evaluation._records import EvaluatedTurn
from persona_lab.logs import turn_logs_to_frame

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["EVALUATION_COLUMNS", "GRADE_COLUMNS", "grades_frame", "turns_frame"]

EVALUATION_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("scenario", "string", "scenario id (same as item_id)"),
    ("variant", "string", "persona variant label (same as category)"),
    ("router", "string", "router label of the variant"),
    ("attempt", "string", "id of the run of this scenario × variant"),
    ("answer", "string", "the answer (agent steps: the step's text; the last step: the run's output)"),
    ("passed", "boolean", "every grade of the turn passed (missing when ungraded or without grades)"),
    ("n_grades", "Int64", "grades recorded on the turn (conversation grades sit on the last turn)"),
    ("ungraded", "bool", "a grader raised or a judge reply could not be parsed: the turn has no score"),
    ("grade_problems", "string", "the errors / unparseable replies that left the turn ungraded"),
    ("last", "bool", "the conversation's last record"),
    ("failed", "bool", "the conversation broke off at this turn"),
    ("grading_cost_usd", "float64", "judges' cost on this turn"),
    ("simulator_cost_usd", "float64", "the simulated user's cost (on the last record of its conversation)"),
    ("evaluation_cost_usd", "float64", "total_cost_usd + grading + simulated user"),
    ("simulator", "string", "tier and model that played the simulated user"),
)
"""Columns :func:`turns_frame` adds to the turn-log columns: (name, dtype, meaning)."""

GRADE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("suite", "string", "scenario suite"),
    ("scenario", "string", "scenario id"),
    ("variant", "string", "persona variant label"),
    ("conversation_id", "string", "the conversation (agent run) graded"),
    ("turn_index", "Int64", "turn graded (conversation grades: the last turn)"),
    ("level", "string", "turn or conversation"),
    ("grader", "string", "grader name (mentions, regex, constraint.<check>, judge…)"),
    ("status", "string", "ok, error (the grader raised) or unparseable (a judge reply without a score)"),
    ("score", "float64", "score on its scale"),
    ("scale", "string", "binary, fraction or 1-10"),
    ("normalized", "float64", "score on 0–1"),
    ("passed", "boolean", "whether the expectation was met"),
    ("reason", "string", "why"),
    ("cost_usd", "float64", "what grading cost (judges)"),
    ("answered_by", "string", "judges: the tier and model that answered"),
    ("judge_prompt", "string", "judges: the prompt sent"),
    ("judge_reply", "string", "judges: the reply, as written"),
)
"""Columns of :func:`grades_frame`: (name, dtype, meaning)."""


def turns_frame(records: Sequence[EvaluatedTurn]) -> pd.DataFrame:
    """One row per evaluated turn: turn-log columns (``score_grade.<grader>`` among them), evaluation columns."""
    import pandas as pd

    frame = turn_logs_to_frame([r.labelled_turn_log() for r in records])
    extra = {
        "scenario": [r.scenario for r in records],
        "variant": [r.variant for r in records],
        "router": [r.router for r in records],
        "attempt": [r.attempt for r in records],
        "answer": [r.answer for r in records],
        "passed": [r.passed for r in records],
        "n_grades": [len(r.grades) for r in records],
        "ungraded": [r.ungraded for r in records],
        "grade_problems": ["; ".join(f"{g.grader}: {g.reason}" for g in r.grades if g.status != "ok") or None
                           for r in records],
        "last": [r.last for r in records],
        "failed": [r.failed for r in records],
        "grading_cost_usd": [r.grading_cost_usd for r in records],
        "simulator_cost_usd": [r.simulator_cost_usd for r in records],
        "evaluation_cost_usd": [r.evaluation_cost_usd for r in records],
        "simulator": [r.simulator for r in records],
    }
    for name, dtype, _ in EVALUATION_COLUMNS:
        frame[name] = pd.Series(extra[name], dtype=dtype, index=frame.index)  # type: ignore[call-overload]
    return frame


def grades_frame(records: Sequence[EvaluatedTurn]) -> pd.DataFrame:
    """One row per grade (:data:`GRADE_COLUMNS`)."""
    import pandas as pd

    rows = [
        {
            "suite": r.suite, "scenario": r.scenario, "variant": r.variant,
            "conversation_id": r.turn_log.conversation_id, "turn_index": r.turn_log.turn_index,
            "level": g.level, "grader": g.grader, "status": g.status, "score": g.score, "scale": g.scale,
            "normalized": g.normalized, "passed": g.passed, "reason": g.reason, "cost_usd": g.cost_usd,
            "answered_by": g.details.get("answered_by"), "judge_prompt": g.details.get("prompt"),
            "judge_reply": g.details.get("reply"),
        }
        for r in records
        for g in r.grades
    ]
    frame = pd.DataFrame(rows, columns=[c for c, _, _ in GRADE_COLUMNS])
    for name, dtype, _ in GRADE_COLUMNS:
        frame[name] = frame[name].astype(dtype)  # type: ignore[call-overload]
    return frame
