"""Routing metrics: pure functions over turn-log and outcome frames (numpy / pandas).

Quality, cost, tier shares and latency of a run; RouteLLM's PGR, APGR and CPT(x) (first
crossing); RouterBench's AIQ; Pareto frontiers; random and oracle baselines; bootstrap CIs; N-tier metrics
(single-tier points, the zero router, the exact oracle frontier, a hull's cost to reach a quality).
"""

from persona_lab.metrics._baselines import (
    oracle_curve,
    oracle_decisions,
    oracle_quality,
    oracle_quality_at_cost,
    random_curve,
    random_quality,
)
from persona_lab.metrics._bootstrap import (
    bootstrap,
    bootstrap_mean_ci,
    bootstrap_weights,
    percentile_interval,
)
from persona_lab.metrics._curves import (
    apgr,
    cpt,
    operating_points,
    pgr,
    quantile_thresholds,
    routing_curve,
    threshold_decisions,
)
from persona_lab.metrics._frontier import aiq, nondecreasing_hull, pareto_frontier
from persona_lab.metrics._ntier import (
    OracleSteps,
    gap_closed,
    hull_cost_for_quality,
    hull_quality_at_cost,
    oracle_choice,
    oracle_frontier,
    oracle_steps,
    single_tier_points,
    tier_matrices,
    zero_router_aiq,
)
from persona_lab.metrics._summary import (
    latency_summary,
    quality,
    strong_share,
    summarize_turns,
    tier_shares,
    total_cost,
)

__all__ = [
    "OracleSteps",
    "aiq",
    "apgr",
    "bootstrap",
    "bootstrap_mean_ci",
    "bootstrap_weights",
    "cpt",
    "gap_closed",
    "hull_cost_for_quality",
    "hull_quality_at_cost",
    "latency_summary",
    "nondecreasing_hull",
    "operating_points",
    "oracle_choice",
    "oracle_curve",
    "oracle_decisions",
    "oracle_frontier",
    "oracle_quality",
    "oracle_quality_at_cost",
    "oracle_steps",
    "pareto_frontier",
    "percentile_interval",
    "pgr",
    "quality",
    "quantile_thresholds",
    "random_curve",
    "random_quality",
    "routing_curve",
    "single_tier_points",
    "strong_share",
    "summarize_turns",
    "threshold_decisions",
    "tier_matrices",
    "tier_shares",
    "total_cost",
    "zero_router_aiq",
]
