"""Plotly figures of any turn-log frame: cost per turn, tier mix, tokens per turn.

Every function takes a :func:`turn_logs_to_frame` frame (a chat, an agent run, a benchmark
replay, several runs concatenated), or anything that function reads (a loop, a conversation),
and returns a plotly ``Figure``. ``by`` names the column
that splits the frame into series (``"run"``, ``"router_name"``…); without it the frame is
one series. Turns are numbered from 1 (the frame's ``turn`` column), money is shown in
dollars without SI prefixes. The chat and run widgets draw their cost chart with
:func:`cost_per_turn_figure` too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from persona_lab.core import TIER_COLOURS, TIER_NAMES, USD_HOVER, USD_TICKFORMAT, UnknownName

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["NO_TIER", "cost_per_turn_figure", "tier_mix_figure", "tokens_figure"]

NO_TIER = "no tier"
_SERIES_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


def _go() -> Any:
    try:
        import plotly.graph_objects as go
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "turn-log figures need plotly: pip install 'persona-lab[widgets]' (or '[bench]')"
        ) from exc
    return go


def _prepared(frame: pd.DataFrame | Any) -> pd.DataFrame:
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):  # records, a loop, a conversation, a path: what turn_logs_to_frame reads
        from persona_lab.logs._frame import turn_logs_to_frame

        frame = turn_logs_to_frame(frame)
    turn = frame["turn"] if "turn" in frame else frame["turn_index"].astype("Int64") + 1
    cost = frame["total_cost_usd"].astype("float64").fillna(0.0)
    tier = frame["tier"].astype("object").where(frame["tier"].notna(), NO_TIER)
    return frame.assign(turn=turn.astype("int64"), cost=cost, tier_shown=tier)


def _series(frame: pd.DataFrame, by: str | None) -> list[tuple[str, pd.DataFrame]]:
    if by is None:
        return [("", frame)]
    if by not in frame:
        raise UnknownName("column", by, frame.columns, hint=" (the by= argument names a column of the frame)")
    return [(str(name), part) for name, part in frame.groupby(by, sort=False)]


def _layout(fig: Any, title: str, y_title: str, height: int, *, money: bool = True) -> Any:
    fig.update_layout(
        title={"text": title, "font": {"size": 14}},
        height=height,
        template="plotly_white",
        margin={"l": 60, "r": 60, "t": 40, "b": 40},
        legend={"orientation": "h", "y": -0.2},
        xaxis={"title": {"text": "turn"}, "dtick": 1, "rangemode": "tozero"},
        yaxis={"title": {"text": y_title}, "rangemode": "tozero", **({"tickformat": USD_TICKFORMAT} if money else {})},
    )
    return fig


def cost_per_turn_figure(
    frame: pd.DataFrame, *, by: str | None = None, title: str = "Cost per turn", height: int = 340
) -> Any:
    """Cost of every turn (``total_cost_usd``; unknown prices count as $0).

    One series: bars coloured by tier, the running total as a line on the right axis (turns
    that several conversations share a number with are averaged). With ``by``: one line per
    series, the mean cost of each turn number.
    """
    go = _go()
    data = _prepared(frame)
    fig = go.Figure()
    if by is None:
        per_turn = data.groupby(["turn", "tier_shown"], sort=True)["cost"].mean().reset_index()
        labels = (data.assign(label=data["gen_ai_response_model"].astype("object").fillna(
            data["gen_ai_request_model"].astype("object")).fillna("no model"))
            .groupby(["turn", "tier_shown"])["label"].first())
        for tier in (*TIER_NAMES, NO_TIER):
            rows = per_turn[per_turn["tier_shown"] == tier]
            text = [f"turn {t} · {labels.get((t, tier), '')}" for t in rows["turn"]]
            fig.add_bar(name=tier, x=list(rows["turn"]), y=list(rows["cost"]), hovertext=text,
                        marker_color=TIER_COLOURS.get(tier, "#9e9e9e"),
                        hovertemplate=f"%{{hovertext}}<br>%{{y:{USD_HOVER}}}<extra>%{{fullData.name}}</extra>")
        totals = per_turn.groupby("turn", sort=True)["cost"].sum().cumsum()
        fig.add_scatter(name="cumulative", x=list(totals.index), y=list(totals), mode="lines+markers", yaxis="y2",
                        line={"color": "#ef6c00"},
                        hovertemplate=f"turn %{{x}}: %{{y:{USD_HOVER}}} so far<extra></extra>")
        fig.update_layout(barmode="relative", yaxis2={"title": {"text": "cumulative USD"}, "overlaying": "y",
                                                      "side": "right", "rangemode": "tozero",
                                                      "tickformat": USD_TICKFORMAT, "showgrid": False})
    else:
        for n, (name, part) in enumerate(_series(data, by)):
            mean = part.groupby("turn", sort=True)["cost"].mean()
            fig.add_scatter(name=name, x=list(mean.index), y=list(mean), mode="lines+markers",
                            line={"color": _SERIES_COLOURS[n % len(_SERIES_COLOURS)]},
                            hovertemplate=f"{name}<br>turn %{{x}}: %{{y:{USD_HOVER}}}<extra></extra>")
    return _layout(fig, title, "USD per turn", height)


def tier_mix_figure(frame: pd.DataFrame, *, by: str | None = None, title: str = "Share of turns per tier",
                    height: int | None = None) -> Any:
    """Share of each series' turns answered by each tier (horizontal stacked bars, in %)."""
    go = _go()
    data = _prepared(frame)
    series = _series(data, by)
    names = [name or "all turns" for name, _ in series]
    fig = go.Figure()
    for tier in (*TIER_NAMES, NO_TIER):
        shares = [float((part["tier_shown"] == tier).mean() * 100) if len(part) else 0.0 for _, part in series]
        if not any(shares):
            continue
        fig.add_bar(name=tier, y=names, x=shares, orientation="h", marker_color=TIER_COLOURS.get(tier, "#9e9e9e"),
                    hovertemplate="%{y}: %{x:.0f}% on " + tier + "<extra></extra>")
    fig.update_layout(barmode="stack", title={"text": title, "font": {"size": 14}}, template="plotly_white",
                      height=height or max(220, 40 * len(names) + 140),
                      xaxis={"title": {"text": "share of turns (%)"}, "range": [0, 100]},
                      yaxis={"automargin": True, "autorange": "reversed"},
                      legend={"orientation": "h", "y": -0.3}, margin={"l": 60, "r": 30, "t": 40, "b": 40})
    return fig


def tokens_figure(frame: pd.DataFrame, *, by: str | None = None, title: str = "Tokens per turn",
                  height: int = 340) -> Any:
    """Input and output tokens of every turn (mean per turn number); dashed lines are output tokens."""
    go = _go()
    data = _prepared(frame)
    fig = go.Figure()
    for n, (name, part) in enumerate(_series(data, by)):
        colour = _SERIES_COLOURS[n % len(_SERIES_COLOURS)]
        for column, kind, dash in (("gen_ai_usage_input_tokens", "input", "solid"),
                                   ("gen_ai_usage_output_tokens", "output", "dash")):
            mean = part.groupby("turn", sort=True)[column].mean()
            label = f"{name} · {kind}" if name else kind
            fig.add_scatter(name=label, x=list(mean.index), y=[float(v) for v in mean], mode="lines+markers",
                            line={"color": colour, "dash": dash},
                            hovertemplate=f"{label}<br>turn %{{x}}: %{{y:,.0f}} tokens<extra></extra>")
    return _layout(fig, title, "tokens", height, money=False)
