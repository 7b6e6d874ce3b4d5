"""Two branches side by side: a tidy frame, a plotly figure and a notebook widget."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from persona_lab.branching._replay import BranchRun
from persona_lab.core import Conversation, TurnLog

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["BRANCH_COLUMNS", "BranchComparison"]

BRANCH_COLUMNS: Mapping[str, str] = MappingProxyType({
    "branch": "the branch's name (``names``: original first)",
    "conversation_id": "that branch's conversation id",
    "turn_index": "0, 1, 2… (equal indexes are the same user turn in both branches)",
    "shared": "True for turns before the fork point (the branch copied them)",
    "user_text": "the user's message (the same in both branches)",
    "tier": "tier that answered (missing when the turn failed)",
    "requested_tier": "the router's choice (missing for turns known only from the conversation)",
    "router_name": "the router that chose",
    "cost_usd": "the turn's total cost: answer attempts, compaction and review (NaN when unknown)",
    "latency_s": "the turn's wall time (NaN for turns known only from the conversation)",
    "answer": "the final answer text",
    "error": "the error when the turn failed",
    "cumulative_cost_usd": "running total of cost_usd along the branch, shared turns included",
})


def _row(name: str, cid: str, index: int, shared: bool, user: str, log: TurnLog | None, answer: str) -> dict[str, Any]:
    return {
        "branch": name,
        "conversation_id": cid,
        "turn_index": index,
        "shared": shared,
        "user_text": user,
        "tier": log.tier if log else None,
        "requested_tier": log.requested_tier if log else None,
        "router_name": log.router_name if log else None,
        "cost_usd": log.total_cost_usd if log else None,
        "latency_s": log.latency_s if log else None,
        "answer": answer,
        "error": log.error if log else None,
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class BranchComparison:
    """The original conversation and a replayed branch, aligned turn by turn.

    ``original_logs`` are the original's turn logs (any iterable: a writer's records,
    ``read_turn_logs(path)``); without them the original's tier, cost and answer come from the
    conversation itself and its latency is missing.
    """

    original: Conversation
    run: BranchRun
    original_logs: Iterable[TurnLog] = ()
    names: tuple[str, str] = ("original", "branch")
    _logs: dict[int, TurnLog] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        logs: dict[int, TurnLog] = {}
        for log in self.original_logs:
            if log.conversation_id == self.original.id and log.kind == "chat" and log.ok:
                logs[log.turn_index] = log
        object.__setattr__(self, "_logs", logs)

    def frame(self) -> pd.DataFrame:
        """Tidy: one row per (branch, turn); columns in :data:`BRANCH_COLUMNS`."""
        import pandas as pd

        first, second = self.names
        at = self.run.branch.origin.at_turn
        rows: list[dict[str, Any]] = []
        for turn in self.original.turns:
            log = self._logs.get(turn.index)
            row = _row(first, self.original.id, turn.index, turn.index < at, turn.user_text, log, turn.answer)
            if log is None:
                row.update(tier=turn.tier or None, cost_usd=turn.cost_usd)
            rows.append(row)
        shared_rows = [dict(r, branch=second, conversation_id=self.run.branch.id) for r in rows[:at]]
        rows.extend(shared_rows)
        for log, answer in zip(self.run.turn_logs, self.run.answers, strict=True):
            rows.append(_row(second, self.run.branch.id, log.turn_index, False, log.user_text, log, answer))
        frame = pd.DataFrame(rows, columns=list(BRANCH_COLUMNS))
        frame = frame.astype(
            {
                "branch": "string",
                "conversation_id": "string",
                "turn_index": "Int64",
                "shared": "bool",
                "user_text": "string",
                "tier": "string",
                "requested_tier": "string",
                "router_name": "string",
                "cost_usd": "float64",
                "latency_s": "float64",
                "answer": "string",
                "error": "string",
            }
        )
        frame["cumulative_cost_usd"] = frame.groupby("branch", sort=False)["cost_usd"].cumsum()
        return frame

    def side_by_side(self) -> pd.DataFrame:
        """Wide: one row per turn, ``<name>_<column>`` for tier, cost, latency, answer and cumulative cost."""
        frame = self.frame()
        keep = ["tier", "cost_usd", "latency_s", "answer", "cumulative_cost_usd"]
        wide = frame.pivot(index="turn_index", columns="branch", values=keep)
        wide.columns = [f"{pair[1]}_{pair[0]}" for pair in wide.columns]
        users = frame.drop_duplicates("turn_index").set_index("turn_index")[["user_text", "shared"]]
        ordered = [f"{b}_{c}" for c in keep for b in self.names if f"{b}_{c}" in wide.columns]
        return users.join(wide[ordered]).reset_index()

    def figure(self) -> Any:
        """A plotly figure: cost per turn (bars labelled with the tier) and cumulative cost, per branch."""
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        frame = self.frame()
        fig = make_subplots(
            rows=2,
            cols=1,
            shared_xaxes=True,
            vertical_spacing=0.08,
            subplot_titles=("cost per turn", "cumulative cost"),
        )
        colours = dict(zip(self.names, ("#78909c", "#ef6c00"), strict=True))
        for name in self.names:
            part = frame[frame["branch"] == name]
            hover = [
                f"turn {i} · {tier or 'failed'}<br>${cost:.6f} · {lat:.2f}s<br>{html.escape(str(ans)[:80])}"
                for i, tier, cost, lat, ans in zip(
                    part["turn_index"],
                    part["tier"].fillna(""),
                    part["cost_usd"].fillna(0.0),
                    part["latency_s"].fillna(0.0),
                    part["answer"].fillna(""),
                    strict=True,
                )
            ]
            fig.add_trace(
                go.Bar(
                    x=part["turn_index"],
                    y=part["cost_usd"],
                    name=name,
                    marker_color=colours[name],
                    text=part["tier"].fillna("—"),
                    textposition="outside",
                    hovertext=hover,
                    hoverinfo="text",
                    legendgroup=name,
                ),
                row=1,
                col=1,
            )
            fig.add_trace(
                go.Scatter(
                    x=part["turn_index"],
                    y=part["cumulative_cost_usd"],
                    name=f"{name} (cumulative)",
                    mode="lines+markers",
                    line={"color": colours[name]},
                    legendgroup=name,
                    showlegend=False,
                ),
                row=2,
                col=1,
            )
        at = self.run.branch.origin.at_turn
        fig.add_vline(x=at - 0.5, line_dash="dot", line_color="#999", annotation_text=f"fork at turn {at}")
        fig.update_layout(barmode="group", height=520, margin={"t": 60, "b": 40}, template="plotly_white")
        fig.update_yaxes(title_text="USD", row=1, col=1)
        fig.update_yaxes(title_text="USD", row=2, col=1)
        fig.update_xaxes(title_text="turn", row=2, col=1, dtick=1)
        return fig

    def widget(self) -> Any:
        """An ipywidgets view: each turn's user message, then both answers side by side."""
        from persona_lab.branching._widget import branch_widget

        return branch_widget(self)
