"""The evaluation's Markdown summary and self-contained HTML report (no scripts, no network)."""

from __future__ import annotations

import html
import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from persona_lab.core import format_usd

if TYPE_CHECKING:
    import pandas as pd

    from persona_lab.evaluation._result import EvaluationResult

__all__ = ["answered_by", "readable_comparison", "result_html", "result_markdown"]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _num(value: Any, digits: int = 3) -> str:
    return "–" if _missing(value) else f"{value:.{digits}f}"


def _pct(value: Any) -> str:
    return "–" if _missing(value) else f"{value * 100:.0f}%"


def _usd(value: Any) -> str:
    return format_usd(value, missing="–")


def readable_comparison(result: EvaluationResult) -> pd.DataFrame:
    """The comparison with numbers formatted for reading (the numeric one is ``result.comparison()``)."""
    import pandas as pd

    table = result.comparison()
    rows = []
    for _, r in table.iterrows():
        row = {
            "variant": r["variant"],
            "score [95% CI]": f"{_num(r['mean_score'])} [{_num(r['score_lo'])}, {_num(r['score_hi'])}]",
            "pass rate": _pct(r["pass_rate"]),
            "turns": int(r["n_turns"]),
            "ungraded": int(r["n_ungraded_turns"]),
            "unparseable": int(r["n_unparseable"]),
            "failed": int(r["n_failed_turns"]),
            "answer cost": _usd(r["answer_cost_usd"]),
            "eval cost": _usd(r["evaluation_cost_usd"]),
            "latency p50": f"{_num(r['latency_p50_s'], 2)} s",
            "tiers s/m/f": "/".join(_pct(r[f"share_{t}"]) for t in ("small", "mid", "frontier")),
        }
        for column in table.columns:
            if column.startswith("pass_rate."):
                row[column.removeprefix("pass_rate.")] = _pct(r[column])
        rows.append(row)
    return pd.DataFrame(rows)


def answered_by(result: EvaluationResult) -> list[str]:
    """Which models answered, judged and played users (local models marked)."""
    turns = result.turns
    lines = []
    if len(turns):
        models = turns.dropna(subset=["tier"]).groupby("tier")["gen_ai_request_model"].unique()
        for tier, names in models.items():
            providers = turns[turns["tier"] == tier]["gen_ai_provider_name"].dropna().unique()
            lines.append(f"answers on {tier}: {', '.join(map(str, names))} ({', '.join(map(str, providers))})")
        sims = turns["simulator"].dropna().unique()
        if len(sims):
            lines.append("simulated users: " + "; ".join(map(str, sims)))
    if len(result.grades):
        judges = result.grades["answered_by"].dropna().unique()
        if len(judges):
            lines.append("judges: " + "; ".join(map(str, judges)))
    return lines


def _markdown_table(frame: pd.DataFrame) -> str:
    if not len(frame):
        return "(none)"
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(str(v).replace("|", "\\|").replace("\n", " ") for v in row) + " |"
            for row in frame.to_numpy()]
    return "\n".join([header, rule, *body])


def _readable_differences(result: EvaluationResult, top: int = 10) -> pd.DataFrame:
    diffs = result.differences().head(top)
    if not len(diffs):
        return diffs
    out = diffs[["scenario", "variant_a", "variant_b"]].copy()
    out["score a → b"] = [f"{_num(a)} → {_num(b)}" for a, b in zip(diffs["score_a"], diffs["score_b"], strict=True)]
    out["diff"] = [_num(d) for d in diffs["diff"]]
    out["grader that moved most"] = [
        "–" if g is None or (isinstance(g, float) and math.isnan(g)) else f"{g} ({_num(x, 2)} → {_num(y, 2)})"
        for g, x, y in zip(diffs["grader"], diffs["grader_a"], diffs["grader_b"], strict=True)]
    return out


def _problems(result: EvaluationResult) -> pd.DataFrame:
    grades = result.grades
    bad = grades[grades["status"] != "ok"] if len(grades) else grades
    if not len(bad):
        return bad
    shown = bad.assign(turn=bad["turn_index"] + 1)  # turns numbered from 1, as every table shows them
    return shown[["scenario", "variant", "turn", "grader", "status", "reason"]].reset_index(drop=True)


def result_markdown(result: EvaluationResult) -> str:
    """The comparison, the largest per-scenario differences, grading problems and who answered."""
    parts = [
        f"## Evaluation: {', '.join(result.suites)}: {len(result.variants)} variants, "
        f"{len(result.scenarios)} scenarios, {len(result.turns)} turns ({result.seconds:.1f} s)",
        "",
        _markdown_table(readable_comparison(result)),
        "",
        "### Largest per-scenario differences",
        "",
        _markdown_table(_readable_differences(result)),
    ]
    problems = _problems(result)
    if len(problems):
        parts += ["", f"### Ungraded: {result.n_grader_errors} grader errors, {result.n_unparseable} unparseable "
                      "judge replies (no score, never counted as 0)", "", _markdown_table(problems)]
    if result.pair_failures:
        parts += ["", f"### {len(result.pair_failures)} scenario × variant pairs raised (left out; the run went on)",
                  ""] + [f"- {f.scenario} × {f.variant}: {f.error_type}: {f.error}" for f in result.pair_failures]
    lines = answered_by(result)
    if lines:
        parts += ["", "Who answered: " + "; ".join(lines) + "."]
    parts += ["", "Score: mean of each turn's grades on 0–1 (a 1–10 rating r counts as (r−1)/9), over graded turns; "
                  "95% bootstrap interval over scenarios. Pass rate: share of graded turns whose every grade passed."]
    return "\n".join(parts) + "\n"


def _table_html(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, escape=True, border=0) if len(frame) else "<p>(none)</p>"


def _transcripts_html(result: EvaluationResult) -> str:
    blocks = []
    for scenario in result.scenarios:
        inner = []
        for variant in result.variants:
            records = result.turn_records(scenario, variant)
            if not records:
                continue
            turns = []
            for r in records:
                grades = ", ".join(
                    f"{g.grader} {'✓' if g.passed else ('✗' if g.passed is False else '?')}" for g in r.grades)
                log = r.turn_log
                turns.append(
                    f"<div class='turn'><b>User:</b> {html.escape(log.user_text)}<br><b>{html.escape(variant)}"
                    f"</b> <small>[{html.escape(log.tier or 'failed')}, {_usd(log.total_cost_usd)}, "
                    f"{log.latency_s:.2f} s]</small>: {html.escape(r.answer)}<br><small>{html.escape(grades)}"
                    "</small></div>")
            inner.append(f"<h4>{html.escape(variant)}</h4>" + "".join(turns))
        blocks.append(f"<details><summary>{html.escape(scenario)}</summary>{''.join(inner)}</details>")
    return "".join(blocks)


def _failures_html(result: EvaluationResult) -> str:
    if not result.pair_failures:
        return ""
    items = "".join(f"<li>{html.escape(f.scenario)} × {html.escape(f.variant)}: {html.escape(f.error_type)}: "
                    f"{html.escape(f.error)}</li>" for f in result.pair_failures)
    return f"<h2>Pairs that raised (left out; the run went on)</h2><ul>{items}</ul>"


def result_html(result: EvaluationResult, *, title: str = "persona-lab evaluation") -> str:
    """One page: comparison, differences, grading problems, who answered, every transcript."""
    who = "".join(f"<li>{html.escape(line)}</li>" for line in answered_by(result))
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>"
        "body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px}"
        "table{border-collapse:collapse;font-size:13px;margin:1em 0}"
        "td,th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left}th{background:#f4f4f4}"
        ".turn{margin:.5em 0;padding:.4em;border-left:3px solid #ccc}small{color:#666}"
        "</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p><small>{datetime.now(UTC).isoformat(timespec='seconds')} · "
        f"suites {html.escape(', '.join(result.suites))} · {len(result.turns)} turns in {result.seconds:.1f} s"
        f"{f' · {result.resumed_pairs} pairs resumed' if result.resumed_pairs else ''}</small></p>"
        f"<h2>Variants</h2>{_table_html(readable_comparison(result))}"
        f"<h2>Largest per-scenario differences</h2>{_table_html(_readable_differences(result))}"
        f"<h2>Ungraded</h2><p>{result.n_grader_errors} grader errors, {result.n_unparseable} unparseable judge "
        f"replies (no score, never counted as 0).</p>{_table_html(_problems(result))}"
        + _failures_html(result)
        + f"<h2>Who answered</h2><ul>{who or '<li>nothing ran</li>'}</ul>"
        f"<h2>Transcripts</h2>{_transcripts_html(result)}"
        "</body></html>"
    )
