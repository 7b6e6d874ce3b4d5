"""Per-run figures from a turn-log frame: quality, cost, share of calls per tier, latency.

The frame is :func:`persona_lab.logs.turn_logs_to_frame` output (one row per turn); benchmark
runs fill its ``score`` column. Failed turns (``error`` set) count in ``n_failed`` and are
left out of quality and tier shares.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from persona_lab.core import TIER_NAMES

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "latency_summary",
    "quality",
    "strong_share",
    "summarize_turns",
    "tier_shares",
    "total_cost",
]


def _ok(frame: pd.DataFrame) -> pd.DataFrame:
    if "error" not in frame.columns:
        return frame
    return frame[frame["error"].isna()]


def quality(frame: pd.DataFrame, column: str = "score") -> float:
    """Mean score over the turns that have one (NaN when none has)."""
    values = frame[column].astype("float64")
    return float(values.mean()) if values.notna().any() else float("nan")


def total_cost(frame: pd.DataFrame, column: str = "total_cost_usd") -> float:
    """Total USD of the turns; turns with an unknown price count as 0 (see ``price_source``)."""
    return float(frame[column].astype("float64").fillna(0.0).sum())


def tier_shares(frame: pd.DataFrame, column: str = "tier") -> pd.Series:
    """Share of answered turns per tier, every configured tier name present (0 when unused)."""
    import pandas as pd

    tiers = _ok(frame)[column].dropna()
    counts = tiers.value_counts()
    names = [t for t in TIER_NAMES if t in counts.index or t in ("small", "frontier")]
    names += [t for t in counts.index if t not in names]
    total = float(counts.sum())
    return pd.Series({t: (float(counts.get(t, 0)) / total if total else float("nan")) for t in names},
                     name="share", dtype="float64")


def strong_share(frame: pd.DataFrame, strong: str = "frontier", column: str = "tier") -> float:
    """Share of answered turns on the ``strong`` tier."""
    return float(tier_shares(frame, column).get(strong, 0.0))


def latency_summary(frame: pd.DataFrame, column: str = "latency_s") -> dict[str, float]:
    """Mean, median and 95th percentile of a latency column (seconds)."""
    values = frame[column].astype("float64").dropna().to_numpy()
    if values.size == 0:
        return {"mean": float("nan"), "p50": float("nan"), "p95": float("nan")}
    return {"mean": float(values.mean()), "p50": float(np.percentile(values, 50)),
            "p95": float(np.percentile(values, 95))}


def summarize_turns(frame: pd.DataFrame, by: Sequence[str] = ("suite", "router_name"),
                    strong: str = "frontier") -> pd.DataFrame:
    """One row per group: turns, failures, quality, cost (total and per turn), tier shares, latency.

    Columns: ``n_turns``, ``n_failed``, ``quality``, ``cost_usd``, ``cost_per_turn_usd``,
    ``strong_share``, ``share_<tier>`` per tier seen, ``latency_p50_s``, ``latency_p95_s``.
    """
    import pandas as pd

    rows = []
    for key, group in frame.groupby(list(by), sort=False, dropna=False):
        keys = key if isinstance(key, tuple) else (key,)
        shares = tier_shares(group)
        latency = latency_summary(group)
        failed = int(group["error"].notna().sum()) if "error" in group.columns else 0
        row: dict[str, object] = dict(zip(by, keys, strict=True))
        row.update(
            n_turns=len(group),
            n_failed=failed,
            quality=quality(_ok(group)),
            cost_usd=total_cost(group),
            cost_per_turn_usd=total_cost(group) / len(group) if len(group) else float("nan"),
            strong_share=float(shares.get(strong, 0.0)),
            **{f"share_{tier}": float(v) for tier, v in shares.items()},
            latency_p50_s=latency["p50"],
            latency_p95_s=latency["p95"],
        )
        rows.append(row)
    return pd.DataFrame(rows)
