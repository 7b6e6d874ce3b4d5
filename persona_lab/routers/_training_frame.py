"""Training data for learned routers: wide or long outcome frames, and turn logs turned into one.

*Wide*: a text column ``prompt`` and one numeric column ``quality_<tier>`` per tier (any
scale, higher is better), optional ``cost_<tier>`` in USD. *Long*: columns ``prompt``, ``tier``,
``score`` (one row per prompt and tier), optional ``cost_usd``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from persona_lab.core import TIER_NAMES, RouterError, UnknownTier

__all__ = ["TrainingSet", "outcomes_from_turn_logs", "training_set"]

_LONG_COLUMNS = ("prompt", "tier", "score")


@dataclass(frozen=True, slots=True)
class TrainingSet:
    """Prompts, a quality matrix (rows: prompts, columns: ``tiers`` cheapest first), mean costs."""

    prompts: list[str]
    tiers: tuple[str, ...]
    quality: np.ndarray[Any, np.dtype[np.float64]]
    costs: Mapping[str, float] | None
    dropped_rows: int


def _need_frame(frame: object, who: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise RouterError(f"{who}.fit expects a pandas DataFrame, got {type(frame).__name__}")
    if "prompt" not in frame.columns:
        hint = " (a turn-log frame? use outcomes_from_turn_logs(frame))" if "user_text" in frame.columns else ""
        raise RouterError(f"{who}.fit: the frame has no 'prompt' column{hint}; columns: {_columns(frame)}")
    return frame


def _columns(frame: pd.DataFrame) -> str:
    return ", ".join(map(str, frame.columns)) or "none"


def _long_to_wide(frame: pd.DataFrame, who: str) -> pd.DataFrame:
    missing = [c for c in _LONG_COLUMNS if c not in frame.columns]
    if missing:
        raise RouterError(
            f"{who}.fit: a long frame needs columns prompt, tier, score; missing {', '.join(missing)} "
            f"(columns: {_columns(frame)})"
        )
    tiers = frame["tier"]
    bad = tiers[tiers.notna() & ~tiers.isin(TIER_NAMES)]
    if len(bad):
        row = bad.index[0]
        raise UnknownTier(str(bad.iloc[0]), where=f"{who}.fit frame column 'tier', row {row}")
    data = frame[frame["prompt"].notna() & frame["tier"].notna() & frame["score"].notna()]
    score = pd.to_numeric(data["score"], errors="coerce")
    if score.isna().any():
        row = score[score.isna()].index[0]
        raise RouterError(f"{who}.fit: column 'score' row {row} is not a number: {data.loc[row, 'score']!r}")
    pieces = {"score": score}
    cost_col = next((c for c in ("cost_usd", "cost") if c in data.columns), None)
    if cost_col is not None:
        pieces["cost"] = pd.to_numeric(data[cost_col], errors="coerce")
    tidy = pd.DataFrame({"prompt": data["prompt"].astype(str), "tier": data["tier"].astype(str), **pieces})
    wide = tidy.groupby(["prompt", "tier"], sort=False)[list(pieces)].mean().unstack("tier")
    out = pd.DataFrame({"prompt": wide.index.astype(str)})
    for tier in wide["score"].columns:
        out[f"quality_{tier}"] = wide["score"][tier].to_numpy()
        if "cost" in pieces:
            out[f"cost_{tier}"] = wide["cost"][tier].to_numpy()
    return out


def training_set(frame: pd.DataFrame, who: str) -> TrainingSet:
    """Check and read a wide or long outcome frame (clear errors name the column or row)."""
    frame = _need_frame(frame, who)
    quality_cols = [c for c in frame.columns if isinstance(c, str) and c.startswith("quality_")]
    if not quality_cols and "tier" in frame.columns:
        frame = _long_to_wide(frame, who)
        quality_cols = [c for c in frame.columns if c.startswith("quality_")]
    if not quality_cols:
        raise RouterError(
            f"{who}.fit: the frame needs quality_<tier> columns (wide form) or tier and score columns "
            f"(long form); columns: {_columns(frame)}"
        )
    for col in quality_cols:
        tier = col.removeprefix("quality_")
        if tier not in TIER_NAMES:
            raise UnknownTier(tier, where=f"{who}.fit frame column {col!r}")
    for col in frame.columns:
        if isinstance(col, str) and col.startswith("cost_") and col != "cost_usd":
            tier = col.removeprefix("cost_")
            if tier not in TIER_NAMES:
                raise UnknownTier(tier, where=f"{who}.fit frame column {col!r}")
    tiers = tuple(t for t in TIER_NAMES if f"quality_{t}" in frame.columns)
    if len(tiers) < 2:
        raise RouterError(
            f"{who}.fit: a router needs outcomes for at least two tiers to learn a choice; "
            f"the frame only has quality_{tiers[0]}"
        )
    quality = frame[[f"quality_{t}" for t in tiers]].apply(pd.to_numeric, errors="coerce")
    prompts = frame["prompt"]
    complete = quality.notna().all(axis=1) & prompts.notna()
    if not complete.any():
        raise RouterError(
            f"{who}.fit: no row has a numeric quality for every tier ({', '.join(tiers)}) and a prompt"
        )
    costs: dict[str, float] | None = None
    cost_cols = [f"cost_{t}" for t in tiers]
    if all(c in frame.columns for c in cost_cols):
        means = frame.loc[complete, cost_cols].apply(pd.to_numeric, errors="coerce").mean()
        if means.notna().all():
            costs = {t: float(means[f"cost_{t}"]) for t in tiers}
    return TrainingSet(
        prompts=[str(p) for p in prompts[complete]],
        tiers=tiers,
        quality=quality[complete].to_numpy(dtype=np.float64),
        costs=costs,
        dropped_rows=int((~complete).sum()),
    )


def outcomes_from_turn_logs(frame: pd.DataFrame) -> pd.DataFrame:
    """A turn-log frame (``turn_logs_to_frame``) as a wide training frame for learned routers.

    Each turn contributes its ``user_text`` as the prompt and its ``score`` for the tier that
    answered; turns with no score or no tier (failed turns) are left out. Several turns with the
    same prompt (and ``item_id``, when present) on one tier are averaged. ``total_cost_usd`` (or
    ``cost_usd``) becomes ``cost_<tier>``. Tiers a prompt never ran on stay NaN.
    """
    if not isinstance(frame, pd.DataFrame):
        raise RouterError(f"outcomes_from_turn_logs expects a pandas DataFrame, got {type(frame).__name__}")
    text_col = "user_text" if "user_text" in frame.columns else "prompt" if "prompt" in frame.columns else None
    missing = [c for c in ("tier", "score") if c not in frame.columns]
    if text_col is None:
        missing.insert(0, "user_text")
    if missing:
        raise RouterError(
            f"outcomes_from_turn_logs: the frame is missing column(s) {', '.join(missing)} "
            f"(columns: {_columns(frame)})"
        )
    cost_col = next((c for c in ("total_cost_usd", "cost_usd") if c in frame.columns), None)
    keep = frame[frame["tier"].notna() & frame["score"].notna() & frame[text_col].notna()]
    bad = keep["tier"][~keep["tier"].isin(TIER_NAMES)]
    if len(bad):
        raise UnknownTier(str(bad.iloc[0]), where=f"outcomes_from_turn_logs column 'tier', row {bad.index[0]}")
    keys = ["item_id", "prompt"] if "item_id" in keep.columns and keep["item_id"].notna().all() else ["prompt"]
    tidy = pd.DataFrame({"prompt": keep[text_col].astype(str), "tier": keep["tier"].astype(str)})
    if keys[0] == "item_id":
        tidy.insert(0, "item_id", keep["item_id"].astype(str))
    tidy["quality"] = pd.to_numeric(keep["score"], errors="coerce").astype("float64")
    if cost_col is not None:
        tidy["cost"] = pd.to_numeric(keep[cost_col], errors="coerce").astype("float64")
    values = ["quality", "cost"] if cost_col is not None else ["quality"]
    wide = tidy.groupby([*keys, "tier"], sort=False)[values].mean().unstack("tier")
    out = wide.index.to_frame(index=False)
    for tier in (t for t in TIER_NAMES if t in wide["quality"].columns):
        out[f"quality_{tier}"] = wide["quality"][tier].to_numpy()
        if cost_col is not None:
            out[f"cost_{tier}"] = wide["cost"][tier].to_numpy()
    return out
