"""Out-of-core analyses: DuckDB (dataset, JSONL, frame) and Dask give the numbers pandas gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("duckdb")

from persona_lab import ConfigError, outcomes_from_turn_logs
from persona_lab.logs import JsonlTurnLogWriter, turn_logs_to_frame
from persona_lab.scale import (
    ParquetTurnLogWriter,
    cost_summary,
    latency_summary,
    outcomes_frame,
    reliability_summary,
)
from tests.scale_records import synthetic_turns

RECORDS = synthetic_turns(1500, seed=3)


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("scale")
    with ParquetTurnLogWriter(root / "dataset", batch_size=400) as writer:
        writer.write_many(RECORDS)
    with JsonlTurnLogWriter(root / "turns.jsonl") as jsonl:
        for record in RECORDS:
            jsonl.write(record)
    found: dict[str, object] = {"dataset": root / "dataset", "jsonl": root / "turns.jsonl",
                                "frame": turn_logs_to_frame(RECORDS)}
    try:
        import dask.dataframe as dd
    except ImportError:
        return found
    found["dask"] = dd.read_parquet(str(root / "dataset"))
    return found


def _reference() -> pd.DataFrame:
    frame = turn_logs_to_frame(RECORDS)
    frame["day"] = frame["timestamp"].dt.strftime("%Y-%m-%d")
    return frame


def _same(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    actual = actual.reset_index(drop=True)
    expected = expected[list(actual.columns)].reset_index(drop=True)
    for column in actual.columns:
        left, right = actual[column], expected[column]
        if pd.api.types.is_float_dtype(right):
            np.testing.assert_allclose(left.to_numpy(float), right.to_numpy(float), rtol=1e-9, err_msg=column)
        else:
            assert [None if pd.isna(v) else v for v in left] == [None if pd.isna(v) else v for v in right], column


@pytest.mark.parametrize("kind", ["dataset", "jsonl", "frame", "dask"])
def test_cost_per_tier_per_day(sources: dict[str, object], kind: str) -> None:
    if kind not in sources:
        pytest.skip("dask is not installed")
    ref = _reference()
    grouped = ref.groupby(["tier", "day"], dropna=False)
    expected = pd.DataFrame({
        "turns": grouped.size(),
        "cost_usd": grouped["total_cost_usd"].sum(),
        "mean_cost_usd": grouped["total_cost_usd"].mean(),
        "input_tokens": grouped["gen_ai_usage_input_tokens"].sum().astype("int64"),
        "output_tokens": grouped["gen_ai_usage_output_tokens"].sum().astype("int64"),
        "unpriced_turns": grouped["total_cost_usd"].apply(lambda s: int(s.isna().sum())),
    }).reset_index().sort_values(["tier", "day"], na_position="last", kind="stable")
    result = cost_summary(sources[kind], by=("tier", "day"))
    assert result["tier"].isna().any()  # failed turns form their own group
    _same(result, expected)


@pytest.mark.parametrize("kind", ["dataset", "jsonl", "frame", "dask"])
def test_latency_percentiles_per_tier(sources: dict[str, object], kind: str) -> None:
    if kind not in sources:
        pytest.skip("dask is not installed")
    ref = _reference()
    grouped = ref.groupby("tier", dropna=False)
    expected = pd.DataFrame({
        "turns": grouped.size(),
        "latency_p50_s": grouped["latency_s"].quantile(0.5),
        "ttft_p50_s": grouped["ttft_s"].quantile(0.5),
        "latency_p95_s": grouped["latency_s"].quantile(0.95),
        "ttft_p95_s": grouped["ttft_s"].quantile(0.95),
    }).reset_index().sort_values("tier", na_position="last")
    result = latency_summary(sources[kind], by="tier")
    assert list(result.columns) == ["tier", "turns", "latency_p50_s", "ttft_p50_s", "latency_p95_s", "ttft_p95_s"]
    _same(result, expected)


@pytest.mark.parametrize("kind", ["dataset", "jsonl", "frame", "dask"])
def test_failure_and_fallback_rates(sources: dict[str, object], kind: str) -> None:
    if kind not in sources:
        pytest.skip("dask is not installed")
    ref = _reference()
    grouped = ref.groupby("requested_tier")
    expected = pd.DataFrame({
        "turns": grouped.size(),
        "failed": grouped["error"].count(),
        "fell_back": grouped["fell_back"].sum().astype("int64"),
    }).reset_index()
    expected["failure_rate"] = expected["failed"] / expected["turns"]
    expected["fallback_rate"] = expected["fell_back"] / expected["turns"]
    result = reliability_summary(sources[kind])
    assert result["failed"].sum() > 0 and result["fell_back"].sum() > 0
    _same(result, expected)


@pytest.mark.parametrize("kind", ["dataset", "jsonl", "frame", "dask"])
def test_router_training_frame_equals_outcomes_from_turn_logs(sources: dict[str, object], kind: str) -> None:
    if kind not in sources:
        pytest.skip("dask is not installed")
    expected = outcomes_from_turn_logs(turn_logs_to_frame(RECORDS)).sort_values(["item_id", "prompt"])
    result = outcomes_frame(sources[kind])
    assert list(result.columns) == list(expected.columns)
    _same(result, expected)


def test_unknown_group_key_lists_the_known_ones(sources: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match=r"cannot group turn logs by 'colour'; choose from tier, requested_tier"):
        cost_summary(sources["frame"], by="colour")


def test_a_missing_source_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        cost_summary(tmp_path / "nowhere")
