"""Turn-log writers (JSONL, in-memory) and the JSONL reader.

The JSONL writer appends one line per turn and flushes it, so a process killed mid-write loses
at most that line. The reader returns every complete record and reports bad lines by number.
"""

from __future__ import annotations

import gzip
import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from persona_lab.core import LogSchemaError, TurnLog

__all__ = [
    "InMemoryTurnLogWriter",
    "JsonlTurnLogWriter",
    "TurnLogWarning",
    "read_turn_logs",
]


class TurnLogWarning(UserWarning):
    """A turn-log line was skipped (truncated or not a record); the message names the line."""


class InMemoryTurnLogWriter:
    """Keeps turn logs in a list (``.records``)."""

    def __init__(self) -> None:
        self.records: list[TurnLog] = []

    def __repr__(self) -> str:
        return f"InMemoryTurnLogWriter({len(self.records)} records)"

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[TurnLog]:
        return iter(self.records)

    def write(self, record: TurnLog) -> None:
        self.records.append(record)


class JsonlTurnLogWriter:
    """Appends turn logs to a JSONL file, one flushed line per record."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._file: IO[str] | None = None
        self.written = 0

    def __repr__(self) -> str:
        return f"JsonlTurnLogWriter({str(self.path)!r}, written={self.written})"

    def _open(self) -> IO[str]:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            needs_newline = False
            if self.path.exists() and self.path.stat().st_size:
                with self.path.open("rb") as existing:
                    existing.seek(-1, 2)
                    needs_newline = existing.read(1) != b"\n"
            self._file = self.path.open("a", encoding="utf-8")
            if needs_newline:  # isolate a line truncated by an earlier crash
                self._file.write("\n")
        return self._file

    def write(self, record: TurnLog) -> None:
        handle = self._open()
        handle.write(json.dumps(record.to_dict(), ensure_ascii=False, separators=(",", ":")) + "\n")
        handle.flush()
        self.written += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> JsonlTurnLogWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_turn_logs(path: str | Path, *, strict: bool = False) -> list[TurnLog]:
    """Every complete record in a JSONL turn-log file (``.jsonl`` or gzip-compressed ``.jsonl.gz``).

    A bad line (a truncated last line, or one that is not a record) is skipped with a
    :class:`TurnLogWarning` naming the file and line; ``strict=True`` raises
    :class:`LogSchemaError` instead.
    """
    path = Path(path)
    records: list[TurnLog] = []
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        lines = handle.readlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise ValueError(f"expected a JSON object, got {type(data).__name__}")
            records.append(TurnLog.from_dict(data))
        except (ValueError, TypeError, KeyError) as exc:
            truncated = number == len(lines) and not line.endswith("\n")
            what = "truncated last line" if truncated else "not a turn-log record"
            message = f"{path}:{number}: {what} ({type(exc).__name__}: {exc}); skipped"
            if strict:
                raise LogSchemaError(message, path=str(path), line=number) from exc
            warnings.warn(message, TurnLogWarning, stacklevel=2)
    return records
