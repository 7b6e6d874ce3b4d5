"""Evaluated turns: a turn log plus the answer, its grades and where it belongs.

On disk each is one JSONL line: the turn log's fields (so ``read_turn_logs`` reads the file as
plain turn logs) plus an ``evaluation`` object with the scenario, variant, answer and grades.
The turn log carries them too, in its general mappings:

- ``labels``: ``scenario``, ``variant``, ``router``, and for the tools that read benchmark labels
  ``suite`` (the scenario suite), ``item_id`` (the scenario) and ``category`` (the variant);
- ``scores``: ``grade.<grader>`` (each grade on 0–1) and ``score`` (the turn's grade: the mean of
  its normalised grades, absent when a grade is missing), so ``outcomes_from_turn_logs`` turns
  graded runs into router training data.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from persona_lab.core import TurnLog
from persona_lab.evaluation._grade import Grade

__all__ = ["EvaluatedTurn", "read_evaluated_turns", "write_evaluated_turns"]


@dataclass(frozen=True, slots=True, kw_only=True)
class EvaluatedTurn:
    """One graded turn (or agent step) of one scenario × variant conversation.

    ``last`` marks the conversation's final record, which also holds the conversation-level
    grades and, with ``failed``, whether the conversation broke off. ``attempt`` identifies the
    run of the pair this record came from (resume keeps only finished attempts).
    """

    suite: str
    scenario: str
    variant: str
    router: str
    attempt: str
    answer: str
    turn_log: TurnLog
    grades: tuple[Grade, ...] = ()
    last: bool = False
    failed: bool = False
    kind: str = "chat"
    simulator_cost_usd: float = 0.0
    simulator: str | None = None
    run_status: str | None = None

    @property
    def pair(self) -> tuple[str, str, str]:
        return (self.suite, self.scenario, self.variant)

    @property
    def ungraded(self) -> bool:
        """True when a grader raised or a judge's reply could not be parsed."""
        return any(g.status != "ok" for g in self.grades)

    @property
    def score(self) -> float | None:
        """Mean normalised (0–1) grade; None when ungraded, failed, or without grades."""
        if not self.grades or self.ungraded or self.turn_log.error is not None:
            return None
        values = [g.normalized for g in self.grades]
        return sum(v for v in values if v is not None) / len(values)

    @property
    def passed(self) -> bool | None:
        if not self.grades or self.ungraded:
            return None
        return all(bool(g.passed) for g in self.grades)

    @property
    def grading_cost_usd(self) -> float:
        return sum(g.cost_usd for g in self.grades)

    @property
    def evaluation_cost_usd(self) -> float:
        """The answer (and its compaction/review calls), grading and the simulated user."""
        return (self.turn_log.total_cost_usd or 0.0) + self.grading_cost_usd + self.simulator_cost_usd

    def labelled_turn_log(self) -> TurnLog:
        """The turn log with the evaluation's labels and scores (see the module docstring)."""
        labels = {**self.turn_log.labels, "suite": self.suite, "item_id": self.scenario, "category": self.variant,
                  "scenario": self.scenario, "variant": self.variant, "router": self.router}
        scores = {k: v for k, v in self.turn_log.scores.items() if k != "score" and not k.startswith("grade.")}
        score = self.score
        if score is not None and not math.isnan(score):
            scores["score"] = float(score)
        for grade in self.grades:
            value = grade.normalized
            if value is not None:
                scores[f"grade.{grade.grader}"] = value
        return dataclasses.replace(self.turn_log, labels=labels, scores=scores)

    def to_dict(self) -> dict[str, Any]:
        data = self.labelled_turn_log().to_dict()
        data["evaluation"] = {
            "suite": self.suite, "scenario": self.scenario, "variant": self.variant, "router": self.router,
            "attempt": self.attempt, "answer": self.answer, "grades": [g.to_dict() for g in self.grades],
            "last": self.last, "failed": self.failed, "kind": self.kind,
            "simulator_cost_usd": self.simulator_cost_usd, "simulator": self.simulator,
            "run_status": self.run_status,
        }
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvaluatedTurn:
        ev = data["evaluation"]
        return cls(
            suite=ev["suite"], scenario=ev["scenario"], variant=ev["variant"], router=ev.get("router", ""),
            attempt=ev["attempt"], answer=ev.get("answer", ""), turn_log=TurnLog.from_dict(data),
            grades=tuple(Grade.from_dict(g) for g in ev.get("grades", ())), last=bool(ev.get("last")),
            failed=bool(ev.get("failed")), kind=ev.get("kind", "chat"),
            simulator_cost_usd=float(ev.get("simulator_cost_usd") or 0.0), simulator=ev.get("simulator"),
            run_status=ev.get("run_status"),
        )


def write_evaluated_turns(path: Path, records: Iterable[EvaluatedTurn], *, append: bool = True) -> None:
    """Append (or write) records as JSONL, flushed and synced: a killed run loses at most the pair in flight."""
    lines = [json.dumps(r.to_dict(), ensure_ascii=False, separators=(",", ":")) for r in records]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a" if append else "w", encoding="utf-8") as handle:
        for line in lines:
            handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def read_evaluated_turns(path: str | Path) -> list[EvaluatedTurn]:
    """Every complete evaluated record of a run's ``turn_logs.jsonl`` (a truncated line is skipped, with a warning)."""
    path = Path(path)
    records: list[EvaluatedTurn] = []
    if not path.exists():
        return records
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                warnings.warn(f"{path}:{number}: incomplete line skipped (an interrupted write)", stacklevel=2)
                continue
            if isinstance(data, dict) and "evaluation" in data:
                records.append(EvaluatedTurn.from_dict(data))
    return records
