"""Turn-log writers (JSONL, in-memory) and the JSONL reader.

The JSONL writer appends one line per turn and flushes it, so a process killed mid-write loses
at most that line. The reader works on bytes, line by line: it returns every complete record,
including those appended after a crash, and reports bad lines by number.
"""

from __future__ import annotations

import gzip
import json
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType
from typing import IO

from persona_lab.core import LogSchemaError, TurnLog

__all__ = [
    "InMemoryTurnLogWriter",
    "JsonlTurnLogWriter",
    "TurnLogWarning",
    "read_turn_logs",
    "record_line",
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
    """Appends turn logs to a JSONL file, one flushed line per record.

    Every record is one line: JSON escapes newlines, and the Unicode line separators other
    tools split on (U+0085, U+2028, U+2029) are written as escapes too. Text stays UTF-8
    (lone surrogates, which UTF-8 cannot hold, are escaped). A file left by a crash with a
    cut-off last line gets a newline first, so the new records never glue onto the broken one.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._file: IO[bytes] | None = None
        self.written = 0

    def __repr__(self) -> str:
        return f"JsonlTurnLogWriter({str(self.path)!r}, written={self.written})"

    def _open(self) -> IO[bytes]:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            needs_newline = False
            if self.path.exists() and self.path.stat().st_size:
                with self.path.open("rb") as existing:
                    existing.seek(-1, 2)
                    needs_newline = existing.read(1) != b"\n"
            self._file = self.path.open("ab")
            if needs_newline:  # isolate a line truncated by an earlier crash
                self._file.write(b"\n")
        return self._file

    def write(self, record: TurnLog) -> None:
        handle = self._open()
        handle.write(record_line(record))
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


_LINE_BREAKS = MappingProxyType({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def record_line(record: TurnLog) -> bytes:
    """One record as one JSONL line (UTF-8, ending in ``\\n``, no other line break inside)."""
    text = json.dumps(record.to_dict(), ensure_ascii=False, separators=(",", ":"))
    for char, escape in _LINE_BREAKS.items():
        if char in text:  # only inside JSON strings, where the escape means the same
            text = text.replace(char, escape)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: ASCII JSON escapes it
        data = json.dumps(record.to_dict(), ensure_ascii=True, separators=(",", ":")).encode("ascii")
    return data + b"\n"


def _read_bytes(path: Path) -> tuple[bytes, str | None]:
    """The file's bytes (decompressed for ``.gz``); for a cut-off gzip file, what could be read and why not more."""
    if path.suffix != ".gz":
        return path.read_bytes(), None
    parts: list[bytes] = []
    try:
        with gzip.open(path, "rb") as handle:
            while block := handle.read(1 << 16):
                parts.append(block)
    except (EOFError, OSError, zlib.error) as exc:
        return b"".join(parts), f"{type(exc).__name__}: {exc}"
    return b"".join(parts), None


_MAX_GLUED_STARTS = 64


def _parse(line: bytes) -> TurnLog:
    text = line.decode("utf-8")
    if text.startswith("\ufeff"):
        text = text[1:]
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    return TurnLog.from_dict(data)


_BAD_LINE = (ValueError, TypeError, KeyError, AttributeError, RecursionError)


def _glued(line: bytes) -> TurnLog | None:
    """A whole record after a cut-off one on the same line (a writer that did not isolate it)."""
    start = 0
    for _ in range(_MAX_GLUED_STARTS):
        start = line.find(b'{"', start + 1)
        if start < 0:
            return None
        try:
            return _parse(line[start:])
        except _BAD_LINE:
            continue
    return None


def read_turn_logs(path: str | Path, *, strict: bool = False) -> list[TurnLog]:
    """Every complete record in a JSONL turn-log file (``.jsonl`` or gzip-compressed ``.jsonl.gz``).

    The file is read as bytes and split on ``\\n``; each line is decoded and parsed on its own,
    so a bad line (cut off by a crash, invalid UTF-8, invalid JSON, not a record) costs only
    itself: it is skipped with a :class:`TurnLogWarning` naming the file and line, and every
    line after it is still read. ``strict=True`` raises :class:`LogSchemaError` instead.
    """
    path = Path(path)
    data, damage = _read_bytes(path)
    lines = data.split(b"\n")
    records: list[TurnLog] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(_parse(line))
            continue
        except _BAD_LINE as exc:
            last = number == len(lines)  # no newline after it
            if isinstance(exc, UnicodeDecodeError):
                what = "cut-off last line (invalid UTF-8)" if last else "invalid UTF-8"
            else:
                what = "truncated last line" if last else "not a turn-log record"
            detail = str(exc)
            detail = detail if len(detail) <= 200 else detail[:200] + "…"
            message = f"{path}:{number}: {what} ({type(exc).__name__}: {detail}); skipped"
            if strict:
                raise LogSchemaError(message, path=str(path), line=number) from None
            warnings.warn(message, TurnLogWarning, stacklevel=2)
        glued = _glued(line)
        if glued is not None:
            records.append(glued)
    if damage is not None:
        message = f"{path}: the compressed file is cut off ({damage}); read the records before the cut"
        if strict:
            raise LogSchemaError(message, path=str(path))
        warnings.warn(message, TurnLogWarning, stacklevel=2)
    return records
