"""Expectations (from a scenario file) turned into named graders."""

from __future__ import annotations

from collections.abc import Sequence

from persona_lab.evaluation._grade import Grader, grader_name
from persona_lab.evaluation._judge import LLMJudge
from persona_lab.evaluation._rules import (
    answer_length,
    keeps_constraints,
    matches,
    mentions,
    not_matches,
    not_mentions,
    tool_called,
    tool_not_called,
)
from persona_lab.evaluation._scenario import Expectations
from persona_lab.tiers import TierRegistry

__all__ = ["graders_for", "named_graders"]


def graders_for(expect: Expectations, judge_tiers: TierRegistry | None) -> list[Grader]:
    """One grader per expectation key present; one per constraint check."""
    graders: list[Grader] = []
    if expect.mentions:
        graders.append(mentions(*expect.mentions))
    if expect.not_mentions:
        graders.append(not_mentions(*expect.not_mentions))
    if expect.regex is not None:
        graders.append(matches(expect.regex))
    if expect.not_regex is not None:
        graders.append(not_matches(expect.not_regex))
    if expect.min_chars is not None or expect.max_chars is not None:
        graders.append(answer_length(expect.min_chars, expect.max_chars))
    if expect.tools_called:
        graders.append(tool_called(*expect.tools_called))
    if expect.tools_not_called:
        graders.append(tool_not_called(*expect.tools_not_called))
    graders.extend(keeps_constraints(name) for name in expect.constraints)
    if expect.judge is not None:
        if judge_tiers is None:  # pragma: no cover - evaluate always passes tiers
            raise ValueError("a judge expectation needs tiers")
        spec = expect.judge
        graders.append(LLMJudge(tiers=judge_tiers, rubric=spec.rubric, scale=spec.scale, tier=spec.tier,
                                pass_at=spec.pass_at))
    return graders


def named_graders(graders: Sequence[Grader]) -> list[tuple[str, Grader]]:
    """``(name, grader)`` pairs with unique names (a repeated name gets ``#2``, ``#3``…)."""
    out: list[tuple[str, Grader]] = []
    seen: set[str] = set()
    for grader in graders:
        base = grader_name(grader)
        name, n = base, 2
        while name in seen:
            name, n = f"{base}#{n}", n + 1
        seen.add(name)
        out.append((name, grader))
    return out
