"""A turn-log writer that appends to a partitioned Parquet dataset, one committed file per batch.

Besides the documented columns, a file keeps the batch's other labels and scores as
``label_<key>`` (string) and ``score_<key>`` (double) columns, as :func:`turn_logs_to_frame` names
them; readers union the columns of all files by name.

Records are buffered and written in batches (``batch_size`` records, or on :meth:`flush` /
:meth:`close`). Each batch becomes one file per partition (``day=…/persona=…``), written under a
temporary name ending in ``.parquet.tmp``, flushed to disk and then renamed into place: a file
with the ``.parquet`` suffix is always complete, so a crash loses at most the batch still in
memory and never a committed one. Readers only ever read ``*.parquet`` files.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from persona_lab.core import InvalidArgument, TurnLog
from persona_lab.logs import turn_logs_to_frame
from persona_lab.scale._schema import arrow_schema

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ParquetTurnLogWriter", "partition_path", "write_partitioned"]


def partition_path(day: str, persona_id: str) -> str:
    """The relative folder of one partition; the persona id is percent-encoded (any text is safe)."""
    return f"day={day}/persona={quote(persona_id or '-', safe='')}"


def _day(timestamp: str) -> str:
    try:
        moment = datetime.fromisoformat(timestamp)
    except ValueError:
        return "unknown"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).date().isoformat()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_partitioned(root: Path, records: Sequence[TurnLog], *, name: str) -> list[Path]:
    """Write ``records`` as one committed file per partition named ``<name>.parquet``; return the files.

    Writing the same ``name`` again replaces those files (roll-ups use that to stay idempotent).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    base = arrow_schema()
    groups: dict[str, list[TurnLog]] = {}
    for record in records:
        groups.setdefault(partition_path(_day(record.timestamp), record.persona_id), []).append(record)
    written: list[Path] = []
    for relative, group in groups.items():
        frame: pd.DataFrame = turn_logs_to_frame(group)
        extra = [c for c in frame.columns if c.startswith(("label_", "score_"))]
        schema = pa.schema([*base, *(pa.field(c, pa.string() if c.startswith("label_") else pa.float64())
                                     for c in extra)])
        table = pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)
        folder = root / relative
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"{name}.parquet"
        temporary = folder / f".{name}.{uuid.uuid4().hex[:8]}.parquet.tmp"
        with temporary.open("wb") as handle:
            pq.write_table(table, handle, compression="zstd")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, final)
        _fsync_dir(folder)
        written.append(final)
    return written


class ParquetTurnLogWriter:
    """Appends turn logs to a partitioned Parquet dataset at ``root`` (a turn-log sink like the JSONL writer).

    ``batch_size`` records make one batch; :meth:`flush` commits what is buffered now and
    :meth:`close` (or leaving the ``with`` block) commits the rest. ``committed`` counts records in
    committed files, ``buffered`` those a crash would lose.
    """

    def __init__(self, root: str | Path, *, batch_size: int = 10_000):
        if batch_size < 1:
            raise InvalidArgument(f"batch_size must be at least 1, got {batch_size}")
        self.root = Path(root)
        self.batch_size = batch_size
        self.committed = 0
        self.files = 0
        self._buffer: list[TurnLog] = []
        self._writer_id = uuid.uuid4().hex[:12]
        self._batches = 0

    def __repr__(self) -> str:
        return (f"ParquetTurnLogWriter({str(self.root)!r}, committed={self.committed}, "
                f"buffered={self.buffered}, batch_size={self.batch_size})")

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def write(self, record: TurnLog) -> None:
        self._buffer.append(record)
        if len(self._buffer) >= self.batch_size:
            self.flush()

    def write_many(self, records: Iterable[TurnLog]) -> None:
        for record in records:
            self.write(record)

    def flush(self) -> None:
        """Commit every buffered record (one new file per partition touched)."""
        if not self._buffer:
            return
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        name = f"part-{stamp}-{self._writer_id}-{self._batches:06d}"
        files = write_partitioned(self.root, self._buffer, name=name)
        self._batches += 1
        self.files += len(files)
        self.committed += len(self._buffer)
        self._buffer = []

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> ParquetTurnLogWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
