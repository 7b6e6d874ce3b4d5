"""Turn-log analyses that run out of core: DuckDB in process by default, Dask on a cluster.

Each function takes a *source* — a Parquet dataset folder (see :class:`ParquetTurnLogWriter`),
Parquet or JSONL turn-log files, a pandas frame from :func:`persona_lab.logs.turn_logs_to_frame`,
or a ``dask.dataframe.DataFrame`` with those columns — and returns a small pandas frame. Only
the result is ever loaded into memory. Group keys are columns of the turn log, plus ``day``
(the UTC day, ``YYYY-MM-DD``). Every result is sorted by its keys; a missing key value (the
``tier`` of a failed turn) forms its own group.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from persona_lab.core import TIER_NAMES, ConfigError, UnknownTier
from persona_lab.scale._duckdb_source import connect, register_turns

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

__all__ = ["GROUP_KEYS", "cost_summary", "latency_summary", "outcomes_frame", "reliability_summary"]

GROUP_KEYS = ("tier", "requested_tier", "day", "persona_id", "router_name", "turn_index", "kind",
              "gen_ai_request_model", "gen_ai_provider_name", "conversation_id", "run_id")
"""The columns an analysis may group by."""


def _is_dask(source: Any) -> bool:
    return type(source).__module__.startswith("dask")


def _keys(by: str | Sequence[str]) -> list[str]:
    keys = [by] if isinstance(by, str) else list(by)
    unknown = [k for k in keys if k not in GROUP_KEYS]
    if unknown:
        raise ConfigError(f"cannot group turn logs by {unknown[0]!r}; choose from {', '.join(GROUP_KEYS)}")
    return keys


def _duck(source: Any, connection: duckdb.DuckDBPyConnection | None) -> duckdb.DuckDBPyConnection:
    con = connection or connect()
    register_turns(con, source)
    return con


def _sorted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.sort_values(keys, na_position="last", kind="stable").reset_index(drop=True) if keys else frame


def _dask_frame(source: Any) -> Any:
    if "day" not in source.columns:
        source = source.assign(day=source["timestamp"].dt.strftime("%Y-%m-%d"))
    return source


def cost_summary(source: Any, *, by: str | Sequence[str] = ("tier", "day"),
                 connection: duckdb.DuckDBPyConnection | None = None) -> pd.DataFrame:
    """Cost and tokens per group.

    Columns: the keys, ``turns``, ``cost_usd`` (sum of ``total_cost_usd``, unknown prices as 0),
    ``mean_cost_usd`` (per priced turn), ``input_tokens``, ``output_tokens``, ``unpriced_turns``.
    """
    keys = _keys(by)
    if _is_dask(source):
        frame = _dask_frame(source)
        work = frame[keys].assign(
            turns=1,
            cost_usd=frame["total_cost_usd"].fillna(0.0),
            priced=(~frame["total_cost_usd"].isna()).astype("int64"),
            input_tokens=frame["gen_ai_usage_input_tokens"].fillna(0).astype("int64"),
            output_tokens=frame["gen_ai_usage_output_tokens"].fillna(0).astype("int64"),
        )
        sums = work.groupby(keys, dropna=False).sum().compute().reset_index()
        sums["mean_cost_usd"] = sums["cost_usd"] / sums["priced"].where(sums["priced"] > 0)
        sums["unpriced_turns"] = sums["turns"] - sums["priced"]
        result = sums[[*keys, "turns", "cost_usd", "mean_cost_usd", "input_tokens", "output_tokens",
                       "unpriced_turns"]]
        return _sorted(_typed(result), keys)
    con = _duck(source, connection)
    group = ", ".join(keys)
    sql = f"""
        SELECT {group}, count(*) AS turns,
               coalesce(sum(total_cost_usd), 0.0) AS cost_usd,
               avg(total_cost_usd) AS mean_cost_usd,
               coalesce(sum(gen_ai_usage_input_tokens), 0) AS input_tokens,
               coalesce(sum(gen_ai_usage_output_tokens), 0) AS output_tokens,
               count(*) - count(total_cost_usd) AS unpriced_turns
        FROM turns GROUP BY {group}"""
    return _sorted(_typed(con.execute(sql).df()), keys)


def latency_summary(source: Any, *, by: str | Sequence[str] = ("tier",), quantiles: Sequence[float] = (0.5, 0.95),
                    connection: duckdb.DuckDBPyConnection | None = None) -> pd.DataFrame:
    """Latency and time-to-first-token percentiles per group (linear interpolation, as pandas).

    Columns: the keys, ``turns``, then ``latency_p<q>_s`` and ``ttft_p<q>_s`` for each quantile
    (``p50``, ``p95``...).
    """
    keys = _keys(by)
    for q in quantiles:
        if not 0.0 <= q <= 1.0:
            raise ConfigError(f"a quantile must be between 0 and 1, got {q}")
    names = [f"p{round(q * 100, 3):g}" for q in quantiles]
    if _is_dask(source):
        import pandas as pd

        frame = _dask_frame(source)[[*keys, "latency_s", "ttft_s"]]

        def per_group(group: pd.DataFrame) -> pd.DataFrame:
            row: dict[str, float] = {"turns": float(len(group))}
            for name, q in zip(names, quantiles, strict=True):
                row[f"latency_{name}_s"] = float(group["latency_s"].quantile(q))
                row[f"ttft_{name}_s"] = float(group["ttft_s"].quantile(q))
            return pd.DataFrame([row])

        meta = {"turns": "float64", **{f"{m}_{n}_s": "float64" for n in names for m in ("latency", "ttft")}}
        result = frame.groupby(keys, dropna=False).apply(per_group, meta=meta).compute()
        result = result.reset_index(level=-1, drop=True).reset_index()
        result["turns"] = result["turns"].astype("int64")
        columns = [*keys, "turns", *(f"{m}_{n}_s" for n in names for m in ("latency", "ttft"))]
        return _sorted(_typed(result[columns]), keys)
    con = _duck(source, connection)
    group = ", ".join(keys)
    parts = []
    for name, q in zip(names, quantiles, strict=True):
        parts.append(f"quantile_cont(latency_s, {q}) AS latency_{name}_s")
        parts.append(f"quantile_cont(ttft_s, {q}) AS ttft_{name}_s")
    sql = f"SELECT {group}, count(*) AS turns, {', '.join(parts)} FROM turns GROUP BY {group}"
    return _sorted(_typed(con.execute(sql).df()), keys)


def reliability_summary(source: Any, *, by: str | Sequence[str] = ("requested_tier",),
                        connection: duckdb.DuckDBPyConnection | None = None) -> pd.DataFrame:
    """Failure and fallback rates per group (grouped by the router's choice by default).

    Columns: the keys, ``turns``, ``failed`` (turns with an error), ``failure_rate``,
    ``fell_back`` (served by another tier than requested), ``fallback_rate``.
    """
    keys = _keys(by)
    if _is_dask(source):
        frame = _dask_frame(source)
        work = frame[keys].assign(turns=1, failed=(~frame["error"].isna()).astype("int64"),
                                  fell_back=frame["fell_back"].fillna(False).astype("int64"))
        sums = work.groupby(keys, dropna=False).sum().compute().reset_index()
    else:
        con = _duck(source, connection)
        group = ", ".join(keys)
        sums = con.execute(
            f"SELECT {group}, count(*) AS turns, count(error) AS failed, "
            f"count(*) FILTER (WHERE fell_back) AS fell_back FROM turns GROUP BY {group}"
        ).df()
    sums["failure_rate"] = sums["failed"] / sums["turns"]
    sums["fallback_rate"] = sums["fell_back"] / sums["turns"]
    result = sums[[*keys, "turns", "failed", "failure_rate", "fell_back", "fallback_rate"]]
    return _sorted(_typed(result), keys)


def outcomes_frame(source: Any, *, score: str = "score",
                   connection: duckdb.DuckDBPyConnection | None = None) -> pd.DataFrame:
    """The router training frame of :func:`persona_lab.routers.outcomes_from_turn_logs`, computed out of core.

    The same rows and values (one per prompt, or per item and prompt when every scored turn has
    an ``item_id``; ``quality_<tier>`` and ``cost_<tier>`` means), sorted by prompt.
    """
    import pandas as pd

    if _is_dask(source):
        frame = source[~source["tier"].isna() & ~source[score].isna() & ~source["user_text"].isna()]
        with_item = bool(frame["item_id"].isna().sum().compute() == 0)
        keys = ["item_id", "user_text"] if with_item else ["user_text"]
        tidy = frame[[*keys, "tier", score, "total_cost_usd"]]
        means = tidy.groupby([*keys, "tier"], dropna=False).mean().compute().reset_index()
    else:
        con = _duck(source, connection)
        kept = f"FROM turns WHERE tier IS NOT NULL AND {score} IS NOT NULL AND user_text IS NOT NULL"
        missing_items = con.execute(f"SELECT count(*) - count(item_id) {kept}").fetchone()
        with_item = missing_items is not None and missing_items[0] == 0
        keys = ["item_id", "user_text"] if with_item else ["user_text"]
        group = ", ".join([*keys, "tier"])
        means = con.execute(
            f"SELECT {group}, avg(CAST({score} AS DOUBLE)) AS {score}, avg(total_cost_usd) AS total_cost_usd "
            f"{kept} GROUP BY {group}"
        ).df()
    bad = means["tier"][~means["tier"].isin(TIER_NAMES)]
    if len(bad):
        raise UnknownTier(str(bad.iloc[0]), where="outcomes_frame column 'tier'")
    means = means.rename(columns={"user_text": "prompt", score: "quality", "total_cost_usd": "cost"})
    index = ["item_id", "prompt"] if with_item else ["prompt"]
    wide = means.set_index([*index, "tier"])[["quality", "cost"]].unstack("tier")
    out = wide.index.to_frame(index=False)
    for tier in (t for t in TIER_NAMES if t in wide["quality"].columns):
        out[f"quality_{tier}"] = wide["quality"][tier].to_numpy(dtype="float64")
        out[f"cost_{tier}"] = wide["cost"][tier].to_numpy(dtype="float64")
    out["prompt"] = out["prompt"].astype(str)
    return pd.DataFrame(out).sort_values(index, kind="stable").reset_index(drop=True)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Counts as int64, rates and money as float64, keys as they came (strings stay strings)."""
    for column in frame.columns:
        if column in ("turns", "failed", "fell_back", "input_tokens", "output_tokens", "unpriced_turns"):
            frame[column] = frame[column].astype("int64")
        elif column.endswith(("_usd", "_s", "_rate")):
            frame[column] = frame[column].astype("float64")
    return frame
