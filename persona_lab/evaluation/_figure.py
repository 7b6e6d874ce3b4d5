"""Score against cost per variant: one point each, the bootstrap interval as an error bar (plotly)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from persona_lab.core import USD_HOVER, USD_TICKFORMAT, UnknownName

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["score_cost_figure"]


def score_cost_figure(comparison: pd.DataFrame, *, cost: str = "evaluation_cost_usd",
                      title: str = "Persona variants: score against cost", height: int = 380) -> Any:
    """A plotly figure of ``comparison`` (``EvaluationResult.comparison()``): mean score [CI] vs ``cost``."""
    try:
        import plotly.graph_objects as go
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("the evaluation figure needs plotly: pip install 'persona-lab[widgets]'") from exc
    if cost not in comparison.columns:
        raise UnknownName("cost column", cost, [c for c in comparison.columns if c.endswith("_usd")])
    mean = comparison["mean_score"].astype(float)
    fig = go.Figure()
    fig.add_scatter(
        x=list(comparison[cost].astype(float)), y=list(mean), mode="markers+text",
        text=list(comparison["variant"]), textposition="top center", marker={"size": 11},
        error_y={"type": "data", "symmetric": False,
                 "array": list((comparison["score_hi"].astype(float) - mean).fillna(0.0)),
                 "arrayminus": list((mean - comparison["score_lo"].astype(float)).fillna(0.0))},
        hovertemplate=f"%{{text}}<br>score %{{y:.3f}}<br>cost %{{x:{USD_HOVER}}}<extra></extra>",
    )
    fig.update_layout(title=title, height=height, showlegend=False,
                      xaxis={"title": {"text": cost.replace("_usd", " (USD)").replace("_", " ")},
                             "tickformat": USD_TICKFORMAT, "rangemode": "tozero"},
                      yaxis={"title": {"text": "mean score (0–1), 95% CI"}, "range": [-0.05, 1.1]})
    return fig
