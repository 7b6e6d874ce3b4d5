"""Production-scale turn logs: a partitioned Parquet dataset and out-of-core analyses.

Needs the ``scale`` extra (DuckDB, PyArrow): ``pip install 'persona-lab[scale]'``; the Dask
functions also need the ``dask`` extra.
"""

from persona_lab.scale._analysis import (
    GROUP_KEYS,
    cost_summary,
    latency_summary,
    outcomes_frame,
    reliability_summary,
)
from persona_lab.scale._cluster_rate import ClusterRateLimiter
from persona_lab.scale._distributed import DistributedLiveResult, connect_cluster, merge_run_parts, run_live_distributed
from persona_lab.scale._duckdb_source import connect, register_turns
from persona_lab.scale._parquet_writer import ParquetTurnLogWriter
from persona_lab.scale._rollup import RollupResult, rollup_jsonl
from persona_lab.scale._schema import PARTITION_COLUMNS, arrow_schema, check_columns

__all__ = [
    "GROUP_KEYS",
    "PARTITION_COLUMNS",
    "ClusterRateLimiter",
    "DistributedLiveResult",
    "ParquetTurnLogWriter",
    "RollupResult",
    "arrow_schema",
    "check_columns",
    "connect",
    "connect_cluster",
    "cost_summary",
    "latency_summary",
    "merge_run_parts",
    "outcomes_frame",
    "register_turns",
    "reliability_summary",
    "rollup_jsonl",
    "run_live_distributed",
]
