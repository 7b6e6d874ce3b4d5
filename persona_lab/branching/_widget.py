"""The side-by-side widget of two branches (needs the ``widgets`` extra)."""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

from persona_lab.widgets import format_usd, render_markdown, tier_badge_html

if TYPE_CHECKING:
    from persona_lab.branching._view import BranchComparison

__all__ = ["branch_widget", "render_branches_html"]


def _cell(row: Any) -> str:
    cost = None if row.cost_usd is None or math.isnan(row.cost_usd) else float(row.cost_usd)
    latency = "" if row.latency_s is None or math.isnan(row.latency_s) else f" · {row.latency_s:.2f}s"
    body = (
        f'<div style="color:#b71c1c">{html.escape(str(row.error))}</div>'
        if isinstance(row.error, str) and row.error
        else render_markdown(str(row.answer or ""))
    )
    return (
        f'<td style="vertical-align:top;padding:6px;border-top:1px solid #eee">'
        f"{tier_badge_html(row.tier if isinstance(row.tier, str) else None)} "
        f'<small>{format_usd(cost)}{latency}</small><div style="margin-top:4px">{body}</div></td>'
    )


def _by_turn(part: Any) -> dict[int, Any]:
    return {int(row.turn_index): row for row in part.itertuples()}


def render_branches_html(comparison: BranchComparison) -> str:
    """HTML table: one row per turn, the user message across, then each branch's answer."""
    frame = comparison.frame()
    first, second = comparison.names
    left = _by_turn(frame[frame["branch"] == first])
    right = _by_turn(frame[frame["branch"] == second])
    totals = frame.groupby("branch", sort=False)["cost_usd"].sum()
    head = (
        f'<tr><th style="text-align:left">{html.escape(first)} · {format_usd(float(totals.get(first, 0.0)))}</th>'
        f'<th style="text-align:left">{html.escape(second)} · {format_usd(float(totals.get(second, 0.0)))}</th></tr>'
    )
    rows = [head]
    at = comparison.run.branch.origin.at_turn
    for index in sorted(left.keys() | right.keys()):
        any_row = left.get(index) or right[index]
        marker = " (shared)" if index < at else ""
        rows.append(
            f'<tr><td colspan="2" style="padding:6px 6px 0;color:#555"><b>turn {index}{marker}</b> · user: '
            f"{html.escape(str(any_row.user_text))}</td></tr>"
        )
        cells = [_cell(side[index]) if index in side else "<td></td>" for side in (left, right)]
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f'<table style="width:100%;table-layout:fixed;border-collapse:collapse">{"".join(rows)}</table>'


def branch_widget(comparison: BranchComparison) -> Any:
    import ipywidgets as w

    return w.VBox([w.HTML(render_branches_html(comparison))])
