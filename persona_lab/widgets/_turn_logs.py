"""Turn-log views: a table filterable by tier and a live cost-per-turn chart.

Chat and run widgets call :meth:`TurnLogPanel.add` after every turn or step, so both views
update live. The frame comes from :func:`persona_lab.logs.turn_logs_to_frame`; the chart is a
plotly ``FigureWidget`` (plotly 7 renders it through ``anywidget``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from persona_lab.core import TIER_NAMES, TurnLog, format_usd
from persona_lab.logs import cost_per_turn_figure, turn_logs_to_frame
from persona_lab.widgets._render import WIDGET_CSS, render_notice_html

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ALL_TIERS",
    "TABLE_COLUMNS",
    "CostChart",
    "CostSeries",
    "TurnLogPanel",
    "TurnLogTable",
    "cost_series",
    "render_turn_table_html",
]

ALL_TIERS = "all"
NO_TIER = "no tier"

TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("turn", "turn"),
    ("kind", "kind"),
    ("step_index", "step"),
    ("tier", "tier"),
    ("gen_ai_response_model", "model"),
    ("gen_ai_usage_input_tokens", "in"),
    ("gen_ai_usage_output_tokens", "out"),
    ("total_cost_usd", "cost"),
    ("cumulative_cost_usd", "cumulative"),
    ("latency_s", "latency"),
    ("ttft_s", "first text"),
    ("user_text", "user text"),
    ("error", "error"),
)
"""Turn-log frame columns the table shows, with their headers."""


def render_turn_table_html(frame: pd.DataFrame, tier: str = ALL_TIERS) -> str:
    """The turn-log frame as an escaped HTML table, rows filtered to ``tier`` unless ``"all"``."""
    if tier == NO_TIER:
        frame = frame[frame["tier"].isna()]
    elif tier != ALL_TIERS:
        frame = frame[frame["tier"].eq(tier).fillna(False).astype(bool)]
    if frame.empty:
        return (
            '<div class="plab-table plab-note">No turns yet.</div>'
            if tier == ALL_TIERS
            else (f'<div class="plab-table plab-note">No turns on tier {tier}.</div>')
        )
    shown = frame[[name for name, _ in TABLE_COLUMNS]].rename(columns=dict(TABLE_COLUMNS))
    shown["step"] = shown["step"] + 1  # numbered from 1, like turns
    shown["user text"] = shown["user text"].map(_clip_cell, na_action="ignore")
    for column in ("cost", "cumulative"):
        shown[column] = shown[column].map(lambda v: format_usd(v, missing=""), na_action="ignore")
    for column in ("latency", "first text"):
        shown[column] = shown[column].map(lambda v: f"{v:.2f} s", na_action="ignore")
    shown = shown.astype(object).where(shown.notna(), "")
    table = shown.to_html(index=False, escape=True, border=0)
    return f'<div class="plab-table">{table}</div>'


def _clip_cell(text: str) -> str:
    return text if len(text) <= 80 else text[:79] + "…"


@dataclass(frozen=True, slots=True)
class CostSeries:
    """What the cost chart plots: one point per turn, in order."""

    turn: tuple[int, ...]
    tier: tuple[str, ...]
    cost_usd: tuple[float, ...]
    cumulative_usd: tuple[float, ...]
    label: tuple[str, ...]

    def for_tier(self, tier: str) -> tuple[list[int], list[float], list[str]]:
        picked = [i for i, t in enumerate(self.tier) if t == tier]
        return [self.turn[i] for i in picked], [self.cost_usd[i] for i in picked], [self.label[i] for i in picked]


def _turn_cost(log: TurnLog) -> float:
    cost = log.total_cost_usd if log.total_cost_usd is not None else log.cost_usd
    return cost or 0.0


def cost_series(logs: Sequence[TurnLog]) -> CostSeries:
    """Cost per turn (unknown prices count as 0) and the running total, numbered from 1."""
    costs = [_turn_cost(log) for log in logs]
    cumulative: list[float] = []
    total = 0.0
    for cost in costs:
        total += cost
        cumulative.append(total)
    labels = []
    for log in logs:
        where = (f"run {log.run_id} step {(log.step_index or 0) + 1}" if log.kind == "agent_step"
                 else f"turn {log.turn_index + 1}")
        model = log.gen_ai_response_model or log.gen_ai_request_model or "no model"
        labels.append(f"{where} · {model}" + (f" · {log.error_type}" if log.error else ""))
    return CostSeries(
        turn=tuple(range(1, len(logs) + 1)),
        tier=tuple(log.tier or NO_TIER for log in logs),
        cost_usd=tuple(costs),
        cumulative_usd=tuple(cumulative),
        label=tuple(labels),
    )


class TurnLogTable(w.VBox):  # type: ignore[misc]
    """Turn logs as a table, with a tier filter."""

    def __init__(self, logs: Iterable[TurnLog] = ()):
        self.records: list[TurnLog] = list(logs)
        self.tier_filter = w.Dropdown(options=(ALL_TIERS, *TIER_NAMES, NO_TIER), value=ALL_TIERS, description="Tier")
        self.table = w.HTML()
        self.tier_filter.observe(self._refresh, names="value")
        super().__init__(children=(w.HTML(WIDGET_CSS), self.tier_filter, self.table))
        self.add_class("plab-turn-table")
        self._refresh()

    @property
    def frame(self) -> pd.DataFrame:
        """The shown records as a turn-log frame (all tiers)."""
        return turn_logs_to_frame(self.records)

    def add(self, log: TurnLog) -> None:
        self.records.append(log)
        self._refresh()

    def extend(self, logs: Iterable[TurnLog]) -> None:
        self.records.extend(logs)
        self._refresh()

    def _refresh(self, _change: object = None) -> None:
        self.table.value = render_turn_table_html(self.frame, self.tier_filter.value)


class CostChart(w.VBox):  # type: ignore[misc]
    """Cost per turn as bars coloured by tier, with the cumulative cost as a line."""

    def __init__(self, logs: Iterable[TurnLog] = (), *, height: int = 280):
        self.records: list[TurnLog] = list(logs)
        self.figure: Any = None
        self.message = w.HTML()
        try:
            import plotly.graph_objects as go

            self.figure = go.FigureWidget(cost_per_turn_figure(self._frame(), height=height))
        except ImportError as exc:
            self.message.value = render_notice_html(
                f"The cost chart needs plotly and anywidget ({exc}): pip install 'persona-lab[widgets]'",
                level="warn",
            )
            super().__init__(children=(self.message,))
            return
        super().__init__(children=(self.figure,))
        self.add_class("plab-cost-chart")

    def _frame(self) -> pd.DataFrame:
        """The records as a turn-log frame, numbered 1, 2, 3… in the order they arrived (steps too)."""
        frame = turn_logs_to_frame(self.records)
        frame["turn"] = range(1, len(frame) + 1)
        return frame

    @property
    def series(self) -> CostSeries:
        return cost_series(self.records)

    def add(self, log: TurnLog) -> None:
        self.records.append(log)
        self._refresh()

    def extend(self, logs: Iterable[TurnLog]) -> None:
        self.records.extend(logs)
        self._refresh()

    def _refresh(self) -> None:
        if self.figure is None:
            return
        fresh = cost_per_turn_figure(self._frame())
        with self.figure.batch_update():
            for trace, new in zip(self.figure.data, fresh.data, strict=True):
                trace.x, trace.y, trace.hovertext = new.x, new.y, new.hovertext


class TurnLogPanel(w.VBox):  # type: ignore[misc]
    """The cost chart above the turn-log table; one :meth:`add` updates both."""

    def __init__(self, logs: Iterable[TurnLog] = (), *, chart: bool = True, table: bool = True):
        records = list(logs)
        self.chart = CostChart(records) if chart else None
        self.table = TurnLogTable(records) if table else None
        parts: list[w.Widget] = []
        if self.chart is not None:
            parts.append(self.chart)
        if self.table is not None:
            accordion = w.Accordion(children=(self.table,), titles=("Turn log",))
            parts.append(accordion)
        super().__init__(children=tuple(parts))
        self.add_class("plab-turn-log-panel")

    @property
    def records(self) -> list[TurnLog]:
        if self.table is not None:
            return self.table.records
        return self.chart.records if self.chart is not None else []

    def add(self, log: TurnLog) -> None:
        for view in (self.chart, self.table):
            if view is not None:
                view.add(log)
