"""A DuckDB view named ``turns`` over any turn-log source: a Parquet dataset, Parquet or JSONL files, a frame.

The view has the documented turn-log columns (:data:`persona_lab.logs.TURN_LOG_COLUMNS`) and a
``day`` column (the UTC day of ``timestamp`` as ``YYYY-MM-DD``). DuckDB runs in process and
out of core: nothing is loaded into pandas but the (small) results. Extensions are never
downloaded: the connection refuses to auto-install any.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from persona_lab.core import ConfigError
from persona_lab.scale._schema import check_columns, column_types

if TYPE_CHECKING:
    import duckdb

__all__ = ["connect", "register_turns", "source_description"]

# JSONL fields read as they are; the other documented columns are derived from the nested lists.
_DERIVED_SQL = MappingProxyType({
    "n_tool_calls": "coalesce(len(tool_calls), 0)",
    "n_attempts": "coalesce(len(attempts), 0)",
    "n_compactions": "coalesce(len(compactions), 0)",
    "compaction_cost_usd": "list_sum(list_transform(compactions, lambda c: c.cost_usd))",
    "fell_back": "fallback_to IS NOT NULL",
})
_DUCK_TYPES = MappingProxyType({"string": "VARCHAR", "int64": "BIGINT", "double": "DOUBLE", "bool": "BOOLEAN"})


def connect(*, memory_limit: str | None = None, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection in UTC that never downloads an extension."""
    try:
        import duckdb
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ConfigError("turn-log analysis needs DuckDB: pip install 'persona-lab[scale]'") from exc
    config: dict[str, Any] = {"autoinstall_known_extensions": False}
    if memory_limit is not None:
        config["memory_limit"] = memory_limit
    if threads is not None:
        config["threads"] = threads
    connection = duckdb.connect(":memory:", config=config)
    connection.execute("SET TimeZone = 'UTC'")
    return connection


def _paths(source: str | Path | Sequence[str | Path]) -> list[Path]:
    items = [source] if isinstance(source, (str, Path)) else list(source)
    paths = [Path(p) for p in items]
    for path in paths:
        if not path.exists():
            raise ConfigError(f"turn-log source {str(path)!r} does not exist")
    return paths


def _is_jsonl(path: Path) -> bool:
    return path.name.endswith((".jsonl", ".jsonl.gz", ".json", ".ndjson"))


def _parquet_files(paths: list[Path]) -> list[str]:
    files: list[str] = []
    for path in paths:
        if path.is_dir():
            found = sorted(str(p) for p in path.rglob("*.parquet") if not p.name.startswith("."))
            if not found:
                raise ConfigError(f"turn-log dataset {str(path)!r} has no .parquet files")
            files.extend(found)
        else:
            files.append(str(path))
    return files


_LABEL_COLUMNS = ("suite", "item_id", "category")  # frame columns read from a record's labels (schema v2)
_SCORE_COLUMNS = ("score",)                        # ... and from its scores; v1 records had them top level


def _jsonl_select(files: list[str]) -> str:
    types = column_types()
    nested = "STRUCT(cost_usd DOUBLE)[]"
    columns = {name: _DUCK_TYPES.get(arrow, "VARCHAR") for name, arrow in types.items() if name not in _DERIVED_SQL}
    columns["timestamp"] = "VARCHAR"
    columns.update({"tool_calls": "JSON[]", "attempts": "JSON[]", "compactions": nested,
                    "labels": "MAP(VARCHAR, VARCHAR)", "scores": "MAP(VARCHAR, DOUBLE)"})
    spec = "{" + ", ".join(f"'{k}': '{v}'" for k, v in columns.items()) + "}"
    listing = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
    reader = f"read_json({listing}, format = 'newline_delimited', ignore_errors = true, columns = {spec})"
    select = []
    for name in types:
        if name in _DERIVED_SQL:
            select.append(f"{_DERIVED_SQL[name]} AS {name}")
        elif name == "timestamp":
            select.append("CAST(timestamp AS TIMESTAMPTZ) AS timestamp")
        elif name in _LABEL_COLUMNS:
            select.append(f"coalesce(labels['{name}'], {name}) AS {name}")
        elif name in _SCORE_COLUMNS:
            select.append(f"coalesce(scores['{name}'], {name}) AS {name}")
        else:
            select.append(name)
    return f"SELECT {', '.join(select)} FROM {reader} WHERE conversation_id IS NOT NULL"


def register_turns(connection: duckdb.DuckDBPyConnection, source: Any, *, name: str = "turns") -> None:
    """Create the view ``name`` over ``source`` (checked against the documented schema)."""
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        check_columns({c: _pandas_as_arrow(source[c].dtype) for c in source.columns}, where="the DataFrame")
        connection.register(f"{name}_frame", source)
        base = f"SELECT * FROM {name}_frame"
    else:
        paths = _paths(source)
        jsonl = [p for p in paths if _is_jsonl(p)]
        if jsonl and len(jsonl) != len(paths):
            raise ConfigError("a turn-log source mixes JSONL and Parquet files; analyse them separately")
        if jsonl:
            base = _jsonl_select([str(p) for p in jsonl])
        else:
            files = _parquet_files(paths)
            _check_parquet(files)
            listing = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
            base = (f"SELECT * EXCLUDE (day, persona) FROM read_parquet({listing}, hive_partitioning = true, "
                    "union_by_name = true)" if _has_partitions(files)
                    else f"SELECT * FROM read_parquet({listing}, union_by_name = true)")
    connection.execute(
        f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT *, strftime(timestamp, '%Y-%m-%d') AS day FROM ({base})"
    )


def _has_partitions(files: list[str]) -> bool:
    return all("/day=" in f and "/persona=" in f for f in files)


def _check_parquet(files: list[str]) -> None:
    """Every file's schema (its footer only) against the documented one; the error names file and column."""
    import pyarrow.parquet as pq

    for file_name in files:
        schema = pq.read_schema(file_name)
        check_columns({field.name: str(field.type) for field in schema}, where=file_name)


def _pandas_as_arrow(dtype: Any) -> str:
    text = str(dtype)
    if text.startswith("datetime64") and "UTC" in text:
        return "timestamp[ns, tz=UTC]"
    return {"string": "string", "object": "string", "Int64": "int64", "int64": "int64", "float64": "double",
            "bool": "bool", "boolean": "bool"}.get(text, text)


def source_description(source: Any) -> str:
    """A short text naming a source (for reprs and errors)."""
    if isinstance(source, (str, Path)):
        return str(source)
    if isinstance(source, Sequence):
        return f"{len(source)} files"
    return type(source).__name__
