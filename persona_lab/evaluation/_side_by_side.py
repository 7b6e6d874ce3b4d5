"""The side-by-side view as pure HTML: two variants' answers to one scenario, turn by turn.

No ipywidgets here (the widget in ``_widget`` assigns this string to ``HTML.value``), so the
markup is testable as a plain string. Every piece of user or model text is escaped.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from persona_lab.core import TIER_COLOURS, format_usd
from persona_lab.evaluation._records import EvaluatedTurn

if TYPE_CHECKING:
    from persona_lab.evaluation._result import EvaluationResult

__all__ = ["SIDE_BY_SIDE_CSS", "TurnPair", "side_by_side_html", "turn_pairs"]

SIDE_BY_SIDE_CSS = """<style>
.plab-sbs table{border-collapse:collapse;width:100%;font-size:13px}
.plab-sbs td,.plab-sbs th{vertical-align:top;padding:4px 8px;border-bottom:1px solid var(--jp-border-color2,#ddd);
  text-align:left}
.plab-sbs tr.plab-differ td{background:#fff8e1}
.plab-sbs .plab-answer{white-space:pre-wrap;overflow-wrap:anywhere}
.plab-sbs .plab-gr{font-size:11px;color:var(--jp-ui-font-color2,#555)}
.plab-sbs .plab-fail{color:#b71c1c;font-weight:600}.plab-sbs .plab-pass{color:#2e7d32}
.plab-sbs .plab-tier{color:#fff;border-radius:8px;padding:0 6px;font-size:11px}
</style>"""

@dataclass(frozen=True, slots=True)
class TurnPair:
    """Turn ``index`` of variants A and B (either may be missing) and how far their grades differ."""

    index: int
    a: EvaluatedTurn | None
    b: EvaluatedTurn | None

    @property
    def difference(self) -> float:
        """|score_b − score_a| plus, per grader both have, |pass_b − pass_a|; NaN when nothing compares."""
        if self.a is None or self.b is None:
            return float("nan")
        total, known = 0.0, False
        sa, sb = self.a.score, self.b.score
        if sa is not None and sb is not None:
            total += abs(sb - sa)
            known = True
        ga = {g.grader: g for g in self.a.grades if g.status == "ok"}
        for g in self.b.grades:
            other = ga.get(g.grader)
            if g.status == "ok" and other is not None and g.passed is not None and other.passed is not None:
                total += abs(float(g.passed) - float(other.passed))
                known = True
        return total if known else float("nan")


def turn_pairs(result: EvaluationResult, a: str, b: str, scenario: str) -> list[TurnPair]:
    """The two conversations aligned by turn (agent steps by step)."""
    ra = {r.turn_log.turn_index if r.kind == "chat" else (r.turn_log.step_index or 0): r
          for r in result.turn_records(scenario, a)}
    rb = {r.turn_log.turn_index if r.kind == "chat" else (r.turn_log.step_index or 0): r
          for r in result.turn_records(scenario, b)}
    return [TurnPair(i, ra.get(i), rb.get(i)) for i in sorted(set(ra) | set(rb))]


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _cell(record: EvaluatedTurn | None) -> str:
    if record is None:
        return "<td><i>no such turn</i></td>"
    log = record.turn_log
    tier = log.tier or "failed"
    colour = TIER_COLOURS.get(tier, "#757575")
    grades = []
    for g in record.grades:
        if g.status != "ok":
            mark = f"<span class='plab-fail'>{_e(g.status)}</span>"
        elif g.passed:
            mark = "<span class='plab-pass'>✓</span>"
        else:
            mark = "<span class='plab-fail'>✗</span>"
        score = "" if g.score is None else f" {g.score:g}" + ("/10" if g.scale == "1-10" else "")
        grades.append(f"<span title='{_e(g.reason)}'>{mark} {_e(g.grader)}{score}</span>")
    score = "–" if record.score is None else f"{record.score:.2f}"
    meta = (f"<span class='plab-tier' style='background:{colour}'>{_e(tier)}</span> "
            f"{_e(format_usd(log.total_cost_usd))} · {log.latency_s:.2f} s · score {score}")
    error = f"<div class='plab-fail'>{_e(log.error)}</div>" if log.error else ""
    return (f"<td><div class='plab-answer'>{_e(record.answer)}</div>{error}<div class='plab-gr'>{meta}<br>"
            f"{' · '.join(grades) or 'no grades'}</div></td>")


def side_by_side_html(result: EvaluationResult, a: str, b: str, scenario: str, *, highlight: int = 2) -> str:
    """A table: one row per turn, A's and B's answers with grades, tier and cost.

    The ``highlight`` turns whose grades differ most (and differ at all) are shaded and listed.
    """
    pairs = turn_pairs(result, a, b, scenario)
    if not pairs:
        return (f"<div class='plab-sbs'>{SIDE_BY_SIDE_CSS}<p>No turns for {_e(scenario)} with {_e(a)} or {_e(b)}."
                "</p></div>")
    ranked = sorted((p for p in pairs if not math.isnan(p.difference) and p.difference > 0),
                    key=lambda p: -p.difference)[:highlight]
    marked = {p.index for p in ranked}
    rows = []
    for pair in pairs:
        users = {r.turn_log.user_text for r in (pair.a, pair.b) if r is not None}
        user = "<br>".join(_e(u) for u in sorted(users))
        diff = "–" if math.isnan(pair.difference) else f"{pair.difference:.2f}"
        css = " class='plab-differ'" if pair.index in marked else ""
        rows.append(f"<tr{css}><td>{pair.index + 1}</td><td>{user}</td>{_cell(pair.a)}{_cell(pair.b)}"
                    f"<td>{diff}</td></tr>")
    summary = ("Grades differ most at turn " + ", ".join(f"{p.index + 1} (Δ {p.difference:.2f})" for p in ranked)
               if ranked else "The grades do not differ on any turn.")
    return (f"<div class='plab-sbs'>{SIDE_BY_SIDE_CSS}<p><b>{_e(scenario)}</b>: {_e(summary)}</p>"
            f"<table><tr><th>turn</th><th>user</th><th>A: {_e(a)}</th><th>B: {_e(b)}</th><th>Δ grades</th></tr>"
            + "".join(rows) + "</table></div>")
