"""The Parquet schema of a turn-log dataset: :data:`TURN_LOG_COLUMNS` as Arrow types, plus partitions.

A dataset stores exactly the columns of :func:`persona_lab.logs.turn_logs_to_frame` (without the
per-frame ``cumulative_cost_usd``, which depends on what was loaded), in the same order and with
the matching Arrow types. Files are laid out by Hive partitions ``day=YYYY-MM-DD/persona=<id>``;
readers see ``day`` and ``persona`` as two extra columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from persona_lab.core import LogSchemaError
from persona_lab.logs import TURN_LOG_COLUMNS

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["PARTITION_COLUMNS", "arrow_schema", "check_columns", "column_types"]

PARTITION_COLUMNS = ("day", "persona")
"""Hive partition keys of a dataset: the UTC day of the turn and the persona id."""

_ARROW_NAMES = MappingProxyType({
    "string": "string",
    "Int64": "int64",
    "float64": "double",
    "bool": "bool",
    "datetime64[ns, UTC]": "timestamp[ns, tz=UTC]",
})


def column_types() -> dict[str, str]:
    """Column name → Arrow type name, in the documented order."""
    types: dict[str, str] = {}
    for column in TURN_LOG_COLUMNS:
        arrow = _ARROW_NAMES.get(column.dtype)
        if arrow is None:  # a new dtype in TURN_LOG_COLUMNS must be mapped here on purpose
            raise LogSchemaError(f"turn-log column {column.name!r} has dtype {column.dtype!r}, which has no Arrow type")
        types[column.name] = arrow
    return types


def arrow_schema() -> pa.Schema:
    """The Arrow schema of one dataset file (partition columns are in the path, not the file)."""
    import pyarrow as pa

    def to_type(name: str) -> pa.DataType:
        if name.startswith("timestamp"):
            return pa.timestamp("ns", tz="UTC")
        return pa.type_for_alias(name)

    return pa.schema([pa.field(name, to_type(arrow)) for name, arrow in column_types().items()])


def check_columns(actual: Mapping[str, Any], *, where: str) -> None:
    """Raise :class:`LogSchemaError` naming the first column that is missing or of another type.

    ``actual`` maps column names to Arrow type names (``str(pa.DataType)``); extra columns
    (partitions, newer writers) are allowed.
    """
    for name, expected in column_types().items():
        if name not in actual:
            raise LogSchemaError(f"{where}: column {name!r} is missing (expected {expected})", path=where)
        got = str(actual[name])
        if not _compatible(expected, got):
            raise LogSchemaError(f"{where}: column {name!r} is {got}, expected {expected}", path=where)


def _compatible(expected: str, got: str) -> bool:
    if expected == got:
        return True
    if expected == "string":
        return got in ("large_string", "string_view")
    if expected.startswith("timestamp"):
        return got.startswith("timestamp") and "UTC" in got
    return False
