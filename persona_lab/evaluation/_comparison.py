"""Variant comparison tables from the evaluation frames (numbers stay numbers).

``compare_variants``: one row per variant: mean score with a bootstrap interval over
scenarios, pass rates (per turn and per grader), costs, latency and tier mix.
``scenario_differences``: per scenario and pair of variants, the score difference and the
grader that moved most, largest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import TYPE_CHECKING, Any

from persona_lab.core import TIER_NAMES, UnknownName
from persona_lab.metrics import bootstrap_mean_ci, latency_summary, tier_shares

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["compare_variants", "scenario_differences"]


def _rate(values: pd.Series) -> float:
    known = values.dropna()
    return float(known.astype(float).mean()) if len(known) else float("nan")


def compare_variants(turns: pd.DataFrame, grades: pd.DataFrame, variants: Sequence[str], *, n_boot: int = 1000,
                     seed: int = 0, level: float = 0.95) -> pd.DataFrame:
    """One row per variant (columns documented in ``docs/evaluation.md``)."""
    import pandas as pd

    graders = sorted(grades["grader"].unique()) if len(grades) else []
    rows: list[dict[str, Any]] = []
    for variant in variants:
        mine = turns[turns["variant"] == variant]
        theirs = grades[grades["variant"] == variant]
        ok = theirs[theirs["status"] == "ok"]
        scores = mine["score"].astype("float64")
        if scores.notna().any() and n_boot > 0:
            mean, lo, hi = bootstrap_mean_ci(scores.to_numpy(), groups=mine["scenario"].astype(str).to_numpy(),
                                             n_boot=n_boot, seed=seed, level=level)
        else:
            mean = float(scores.mean()) if scores.notna().any() else float("nan")
            lo = hi = float("nan")
        shares = tier_shares(mine) if len(mine) else pd.Series(dtype="float64")
        latency = latency_summary(mine) if len(mine) else {"mean": float("nan"), "p50": float("nan"),
                                                           "p95": float("nan")}
        answer_cost = float(mine["total_cost_usd"].fillna(0.0).sum())
        grading = float(mine["grading_cost_usd"].sum())
        simulator = float(mine["simulator_cost_usd"].sum())
        row: dict[str, Any] = {
            "variant": variant,
            "router": mine["router"].iloc[0] if len(mine) else None,
            "n_scenarios": int(mine["scenario"].nunique()),
            "n_turns": len(mine),
            "n_failed_turns": int(mine["error"].notna().sum()),
            "n_graded_turns": int(scores.notna().sum()),
            "mean_score": mean,
            "score_lo": lo,
            "score_hi": hi,
            "pass_rate": _rate(mine["passed"]),
            "n_ungraded_turns": int(mine["ungraded"].sum()),
            "n_grader_errors": int((theirs["status"] == "error").sum()),
            "n_unparseable": int((theirs["status"] == "unparseable").sum()),
            "answer_cost_usd": answer_cost,
            "grading_cost_usd": grading,
            "simulator_cost_usd": simulator,
            "evaluation_cost_usd": answer_cost + grading + simulator,
            "cost_per_turn_usd": answer_cost / len(mine) if len(mine) else float("nan"),
            "latency_mean_s": latency["mean"],
            "latency_p50_s": latency["p50"],
            "latency_p95_s": latency["p95"],
        }
        for tier in TIER_NAMES:
            row[f"share_{tier}"] = float(shares.get(tier, 0.0)) if len(shares) else float("nan")
        for grader in graders:
            row[f"pass_rate.{grader}"] = _rate(ok[ok["grader"] == grader]["passed"])
        rows.append(row)
    return pd.DataFrame(rows)


def scenario_differences(turns: pd.DataFrame, grades: pd.DataFrame, variants: Sequence[str],
                         a: str | None = None, b: str | None = None) -> pd.DataFrame:
    """Per scenario and variant pair (``a`` vs ``b``, else every pair): ``diff = score_b − score_a``.

    Columns: suite, scenario, variant_a, variant_b, score_a, score_b, diff, abs_diff,
    pass_rate_a, pass_rate_b, grader (the grader whose mean moved most), grader_a, grader_b,
    grader_diff. Sorted by ``abs_diff`` (then ``|grader_diff|``), largest first; NaN last.
    """
    import pandas as pd

    for name in (a, b):
        if name is not None and name not in variants:
            raise UnknownName("variant", name, variants)
    pairs: list[tuple[str, str]]
    if a is not None and b is not None:
        pairs = [(a, b)]
    elif a is not None:
        pairs = [(a, v) for v in variants if v != a]
    elif b is not None:
        pairs = [(v, b) for v in variants if v != b]
    else:
        pairs = list(combinations(variants, 2))
    columns = ["suite", "scenario", "variant_a", "variant_b", "score_a", "score_b", "diff", "abs_diff",
               "pass_rate_a", "pass_rate_b", "grader", "grader_a", "grader_b", "grader_diff"]
    if not len(turns) or not pairs:
        return pd.DataFrame(columns=columns)
    keys = ["suite", "scenario"]
    passed = turns["passed"].astype("float64")
    per = turns.assign(_passed=passed).groupby([*keys, "variant"], sort=False).agg(
        score=("score", "mean"), pass_rate=("_passed", "mean"))
    score = per["score"].unstack("variant")
    rate = per["pass_rate"].unstack("variant")
    ok = grades[grades["status"] == "ok"]
    by_grader = ok.groupby([*keys, "grader", "variant"], sort=False)["normalized"].mean().unstack("variant")
    seen = {key: set(names) for key, names in turns.groupby(keys, sort=False)["variant"]}
    pieces = []
    for va, vb in pairs:
        if va not in score.columns or vb not in score.columns:
            continue
        ran = [key for key, names in seen.items() if va in names and vb in names]
        index = pd.MultiIndex.from_tuples(ran, names=keys)
        rows = pd.DataFrame({"variant_a": va, "variant_b": vb, "score_a": score.loc[index, va],
                             "score_b": score.loc[index, vb], "pass_rate_a": rate.loc[index, va],
                             "pass_rate_b": rate.loc[index, vb]}, index=index)
        rows["diff"] = rows["score_b"] - rows["score_a"]
        rows["abs_diff"] = rows["diff"].abs()
        if va in by_grader.columns and vb in by_grader.columns:
            moved = (by_grader[vb] - by_grader[va]).dropna()
            moved = moved[moved != 0]
        else:
            moved = pd.Series(dtype="float64")
        if len(moved):
            top = moved.abs().groupby(level=[0, 1], sort=False).idxmax()
            graders = pd.DataFrame({
                "grader": [t[2] for t in top],
                "grader_a": [float(by_grader.loc[t, va]) for t in top],
                "grader_b": [float(by_grader.loc[t, vb]) for t in top],
                "grader_diff": [float(moved.loc[t]) for t in top]}, index=top.index)
            rows = rows.join(graders)
        pieces.append(rows.reset_index())
    if not pieces:
        return pd.DataFrame(columns=columns)
    frame = pd.concat(pieces, ignore_index=True).reindex(columns=columns)
    frame["grader"] = frame["grader"].astype(object).where(frame["grader"].notna(), None)
    for column in ("grader_a", "grader_b", "grader_diff"):
        frame[column] = frame[column].astype("float64")
    frame["_g"] = frame["grader_diff"].abs()
    frame = frame.sort_values(["abs_diff", "_g"], ascending=False, na_position="last", kind="stable")
    return frame.drop(columns="_g").reset_index(drop=True)
