"""What :func:`evaluate` returns: the records, their frames, the comparison and the run directory."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from persona_lab.core import FileLinks
from persona_lab.evaluation._comparison import compare_variants, scenario_differences
from persona_lab.evaluation._frames import grades_frame, turns_frame
from persona_lab.evaluation._records import EvaluatedTurn, write_evaluated_turns

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["EvaluationResult"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PairFailure:
    """A scenario × variant that produced no record: its run raised (the run went on without it)."""

    suite: str
    scenario: str
    variant: str
    error_type: str
    error: str


@dataclass(repr=False)
class EvaluationResult:
    """An evaluation's graded turns and what is derived from them.

    ``turns`` (one row per turn, turn-log columns plus grades) and ``grades`` (one row per
    grade) are tidy frames; :meth:`comparison` and :meth:`differences` are computed from them.
    """

    records: list[EvaluatedTurn]
    variants: list[str]
    suites: dict[str, str]
    turns: pd.DataFrame
    grades: pd.DataFrame
    seconds: float = 0.0
    resumed_pairs: int = 0
    n_boot: int = 1000
    seed: int = 0
    pair_failures: list[PairFailure] = field(default_factory=list)
    """Pairs that raised before recording any turn (conversations that broke off are in the records)."""
    _comparison: pd.DataFrame | None = field(default=None, repr=False)

    @classmethod
    def from_records(cls, records: Sequence[EvaluatedTurn], *, variants: Sequence[str], suites: Mapping[str, str],
                     seconds: float = 0.0, resumed_pairs: int = 0, n_boot: int = 1000,
                     seed: int = 0, failures: Sequence[PairFailure] = ()) -> EvaluationResult:
        order = {v: n for n, v in enumerate(variants)}
        ordered = sorted(records, key=lambda r: (r.suite, r.scenario, order.get(r.variant, len(order)),
                                                 r.turn_log.turn_index, r.turn_log.step_index or 0))
        return cls(records=ordered, variants=list(variants), suites=dict(suites), turns=turns_frame(ordered),
                   grades=grades_frame(ordered), seconds=seconds, resumed_pairs=resumed_pairs, n_boot=n_boot,
                   seed=seed, pair_failures=list(failures))

    def __repr__(self) -> str:
        pairs = len({r.pair for r in self.records})
        return (f"EvaluationResult(variants={self.variants}, suites={list(self.suites)}, pairs={pairs}, "
                f"turns={len(self.turns)}, ungraded_turns={int(self.turns['ungraded'].sum()) if len(self.turns) else 0}"
                f", unparseable={self.n_unparseable}, failed_conversations={self.n_failed_conversations})")

    # -- counts -----------------------------------------------------------------------------

    @property
    def n_unparseable(self) -> int:
        """Judge replies with no score (reported, never scored 0)."""
        return int((self.grades["status"] == "unparseable").sum()) if len(self.grades) else 0

    @property
    def n_grader_errors(self) -> int:
        return int((self.grades["status"] == "error").sum()) if len(self.grades) else 0

    @property
    def n_failed_conversations(self) -> int:
        """Conversations that broke off with an error, plus pairs that raised before any turn."""
        return sum(1 for r in self.records if r.last and r.failed) + len(self.pair_failures)

    @property
    def scenarios(self) -> list[str]:
        return list(dict.fromkeys(r.scenario for r in self.records))

    # -- tables -----------------------------------------------------------------------------

    def comparison(self) -> pd.DataFrame:
        """One row per variant: mean score [CI], pass rates per grader, cost, latency, tier mix."""
        if self._comparison is None:
            self._comparison = compare_variants(self.turns, self.grades, self.variants, n_boot=self.n_boot,
                                                seed=self.seed)
        return self._comparison

    def differences(self, a: str | None = None, b: str | None = None) -> pd.DataFrame:
        """Per scenario and pair of variants, the score difference; largest first."""
        return scenario_differences(self.turns, self.grades, self.variants, a, b)

    def figure(self, *, cost: str = "evaluation_cost_usd") -> Any:
        """Mean score [CI] against ``cost`` (a comparison column), one point per variant (plotly)."""
        from persona_lab.evaluation._figure import score_cost_figure

        return score_cost_figure(self.comparison(), cost=cost)

    def conversation(self, scenario: str, variant: str) -> pd.DataFrame:
        """The turns of one scenario × variant: user text, answer, score, tier, cost and each grade."""
        rows = self.turns[(self.turns["scenario"] == scenario) & (self.turns["variant"] == variant)]
        columns = ["turn", "user_text", "answer", "score", "passed", "tier", "total_cost_usd", "latency_s",
                   "grade_problems", *[c for c in self.turns.columns if c.startswith("score_grade.")]]
        return rows[columns].reset_index(drop=True)

    def turn_records(self, scenario: str, variant: str) -> list[EvaluatedTurn]:
        return [r for r in self.records if r.scenario == scenario and r.variant == variant]

    def training_frame(self) -> pd.DataFrame:
        """The graded turns as router training data (``outcomes_from_turn_logs`` of :attr:`turns`)."""
        from persona_lab.routers import outcomes_from_turn_logs

        return outcomes_from_turn_logs(self.turns)

    # -- reports and files ------------------------------------------------------------------

    def to_markdown(self) -> str:
        from persona_lab.evaluation._report import result_markdown

        return result_markdown(self)

    def to_html(self, *, title: str = "persona-lab evaluation") -> str:
        from persona_lab.evaluation._report import result_html

        return result_html(self, title=title)

    def save(self, directory: str | Path, *, html_report: bool = True, turn_logs: bool = True) -> FileLinks:
        """Write the run directory; returns the paths written.

        ``turn_logs.jsonl`` (turn logs with an ``evaluation`` object per line; skipped with
        ``turn_logs=False`` when the run already appended it), ``turns.csv``, ``grades.csv``,
        ``summary.csv`` (the comparison), ``differences.csv``, ``summary.md``, ``report.html``, ``run.json``.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        paths: dict[str, Path] = {}
        paths["turn_logs_jsonl"] = directory / "turn_logs.jsonl"
        if turn_logs:
            write_evaluated_turns(paths["turn_logs_jsonl"], self.records, append=False)
        for name, frame in (("turns", self.turns), ("grades", self.grades), ("summary", self.comparison()),
                            ("differences", self.differences())):
            paths[f"{name}_csv"] = directory / f"{name}.csv"
            frame.to_csv(paths[f"{name}_csv"], index=False)
        paths["summary_md"] = directory / "summary.md"
        paths["summary_md"].write_text(self.to_markdown(), encoding="utf-8")
        paths["run_json"] = directory / "run.json"
        info: dict[str, Any] = {"variants": self.variants, "suites": self.suites, "seconds": self.seconds,
                                "resumed_pairs": self.resumed_pairs, "n_boot": self.n_boot, "seed": self.seed,
                                "turns": len(self.turns), "unparseable": self.n_unparseable,
                                "grader_errors": self.n_grader_errors,
                                "failed_conversations": self.n_failed_conversations,
                                "pair_failures": [dict(suite=f.suite, scenario=f.scenario, variant=f.variant,
                                                       error_type=f.error_type, error=f.error)
                                                  for f in self.pair_failures]}
        paths["run_json"].write_text(json.dumps(info, indent=2), encoding="utf-8")
        if html_report:
            paths["report_html"] = directory / "report.html"
            paths["report_html"].write_text(self.to_html(), encoding="utf-8")
        return FileLinks.of(paths)
