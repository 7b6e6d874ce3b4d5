"""Plotly figures of a comparison: cost–quality curves, PGR curves, cost per turn, tier mix per category.

Pure functions of the comparison's frames (``curves``, ``turns``); plotly is imported here
only, so the rest of the harness runs without it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from persona_lab.core import USD_HOVER, USD_TICKFORMAT

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["cost_per_turn_figure", "cost_quality_figure", "pgr_figure", "tier_mix_figure"]

_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
            "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173")
_BASELINE_STYLE = MappingProxyType({"random (expected)": ("#999999", "dash"), "oracle (recorded)": ("#000000", "dot"),
                                    "zero router (single tiers)": ("#555555", "dashdot")})


def _colors(routers: Sequence[str]) -> dict[str, str]:
    colors: dict[str, str] = {}
    for router in routers:
        if router not in _BASELINE_STYLE and router not in colors:
            colors[router] = _PALETTE[len(colors) % len(_PALETTE)]
    return colors


def _suites(frame: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(frame["suite"].astype(str)))


def _curve_figure(curves: pd.DataFrame, x: str, y: str, x_title: str, y_title: str, title: str) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    suites = _suites(curves)
    fig = make_subplots(rows=1, cols=max(1, len(suites)), subplot_titles=suites, horizontal_spacing=0.06)
    colors = _colors(list(dict.fromkeys(curves["router"])))
    x_hover = USD_HOVER if x == "cost_usd" else ".4g"
    shown: set[str] = set()
    for col, suite in enumerate(suites, start=1):
        part = curves[curves["suite"] == suite]
        for router, group in part.groupby("router", sort=False):
            name = str(router)
            legend = name not in shown
            shown.add(name)
            if name in _BASELINE_STYLE:
                color, dash = _BASELINE_STYLE[name]
                g = group.sort_values(x)
                fig.add_trace(go.Scatter(x=g[x], y=g[y], mode="lines", name=name, legendgroup=name,
                                         showlegend=legend, line={"color": color, "dash": dash}), row=1, col=col)
                continue
            color = colors[name]
            sweep = group[group["kind"] == "sweep"].sort_values(x)
            if len(sweep):
                fig.add_trace(go.Scatter(x=sweep[x], y=sweep[y], mode="lines+markers", name=name, legendgroup=name,
                                         showlegend=legend, line={"color": color}, marker={"size": 5},
                                         customdata=sweep["threshold"],
                                         hovertemplate=f"{name}<br>threshold %{{customdata:.3g}}<br>"
                                                       f"{x_title} %{{x:{x_hover}}}<br>"
                                                       f"{y_title} %{{y:.4g}}<extra></extra>"),
                              row=1, col=col)
                legend = False
            loop = group[group["kind"] == "loop"]
            fig.add_trace(go.Scatter(x=loop[x], y=loop[y], mode="markers", name=name, legendgroup=name,
                                     showlegend=legend, marker={"color": color, "size": 11, "symbol": "diamond",
                                                                "line": {"width": 1, "color": "white"}},
                                     hovertemplate=f"{name} (loop run)<br>{x_title} %{{x:{x_hover}}}<br>"
                                                   f"{y_title} %{{y:.4g}}<extra></extra>"), row=1, col=col)
        fig.update_xaxes(title_text=x_title, row=1, col=col, tickformat=USD_TICKFORMAT if x == "cost_usd" else None)
        fig.update_yaxes(title_text=y_title if col == 1 else None, row=1, col=col)
    fig.update_layout(title=title, height=480, template="plotly_white", legend={"groupclick": "togglegroup"})
    return fig


def cost_quality_figure(curves: pd.DataFrame) -> Any:
    """Quality against total cost per suite: sweeps (lines), loop runs (diamonds), random and oracle."""
    return _curve_figure(curves, "cost_usd", "quality", "total cost (USD)", "quality",
                         "Cost against quality (lines: threshold sweeps; diamonds: runs through the loop)")


def pgr_figure(curves: pd.DataFrame) -> Any:
    """RouteLLM's view: performance gap recovered against the share of strong-model calls."""
    return _curve_figure(curves, "strong_share", "pgr", "strong-model calls (share)", "PGR",
                         "Performance gap recovered against strong-model calls")


def cost_per_turn_figure(turns: pd.DataFrame) -> Any:
    """Mean cost per turn for each router (bars per turn of the conversation), one panel per suite."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    suites = _suites(turns)
    fig = make_subplots(rows=1, cols=max(1, len(suites)), subplot_titles=suites, horizontal_spacing=0.06)
    data = turns.assign(cost=turns["total_cost_usd"].astype("float64"),
                        turn=turns["turn_index"].astype("int64") + 1)
    turn_numbers = sorted(data["turn"].unique())
    shades = ("#4c78a8", "#f58518", "#54a24b", "#e45756")
    for col, suite in enumerate(suites, start=1):
        part = data[data["suite"] == suite]
        means = part.groupby(["router_name", "turn"], sort=False)["cost"].mean().reset_index()
        order = list(dict.fromkeys(part["router_name"]))
        for k, turn in enumerate(turn_numbers):
            rows = means[means["turn"] == turn].set_index("router_name").reindex(order)
            if rows["cost"].notna().any():
                fig.add_trace(go.Bar(x=order, y=rows["cost"], name=f"turn {turn}", legendgroup=f"turn {turn}",
                                     showlegend=col == 1, marker_color=shades[k % len(shades)],
                                     hovertemplate=f"%{{x}} · turn {turn}: %{{y:{USD_HOVER}}}<extra></extra>"),
                              row=1, col=col)
        fig.update_yaxes(title_text="mean cost per turn (USD)" if col == 1 else None, row=1, col=col,
                         tickformat=USD_TICKFORMAT)
    fig.update_layout(title="Cost per turn", barmode="group", height=460, template="plotly_white")
    return fig


def tier_mix_figure(turns: pd.DataFrame, suite: str, strong_tier: str = "frontier",
                    order: Sequence[str] | None = None) -> Any:
    """Share of turns each router sent to the strong tier, per category (a heatmap) for one suite."""
    import plotly.graph_objects as go

    part = turns[(turns["suite"] == suite) & turns["tier"].notna()]
    routers = list(order) if order is not None else list(dict.fromkeys(part["router_name"]))
    share = (part.assign(strong=(part["tier"] == strong_tier).astype(float))
             .pivot_table(index="category", columns="router_name", values="strong", aggfunc="mean")
             .reindex(columns=[r for r in routers if r in set(part["router_name"])]))
    share = share.sort_index()
    fig = go.Figure(go.Heatmap(z=share.to_numpy(), x=list(share.columns), y=list(share.index), zmin=0, zmax=1,
                               colorscale="Blues", colorbar={"title": f"share on {strong_tier}"},
                               hovertemplate="%{y} · %{x}<br>%{z:.0%} on " + strong_tier + "<extra></extra>"))
    fig.update_layout(title=f"Tier mix per category: {suite} (share of turns on {strong_tier})",
                      height=max(320, 22 * len(share.index) + 160), template="plotly_white",
                      yaxis={"automargin": True, "autorange": "reversed"})
    return fig


def all_figures(curves: pd.DataFrame, turns: pd.DataFrame, strong_tiers: Mapping[str, str]) -> dict[str, Any]:
    """Every figure of a comparison, by name."""
    figures = {
        "cost_quality": cost_quality_figure(curves),
        "pgr": pgr_figure(curves),
        "cost_per_turn": cost_per_turn_figure(turns),
    }
    for suite in _suites(turns):
        figures[f"tier_mix_{suite}"] = tier_mix_figure(turns, suite, strong_tiers.get(suite, "frontier"))
    return figures
