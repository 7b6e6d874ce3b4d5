"""Roll JSONL turn logs up into a Parquet dataset, incrementally and exactly once.

Each source file is read from the byte offset the last roll-up stopped at, complete lines only
(a line still being written, or cut by a crash, waits for the next roll-up). Every batch is
written under a name derived from the source and its byte range, so a roll-up interrupted
between writing a batch and recording its progress rewrites the same files when it runs again:
no record is lost or stored twice. Progress lives in ``_rollups.json`` in the dataset root.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from persona_lab.core import TurnLog
from persona_lab.logs import TurnLogWarning
from persona_lab.scale._parquet_writer import write_partitioned

__all__ = ["RollupResult", "rollup_jsonl"]

_MANIFEST = "_rollups.json"


@dataclass(frozen=True, slots=True, kw_only=True)
class RollupResult:
    """What one roll-up did: records added, files written, bad lines skipped, sources read."""

    records: int
    files: int
    skipped_lines: int
    sources: int


def _source_key(path: Path) -> str:
    return hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:16]


def _read_manifest(root: Path) -> dict[str, int]:
    path = root / _MANIFEST
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {str(k): int(v) for k, v in data.items()}


def _write_manifest(root: Path, offsets: dict[str, int]) -> None:
    temporary = root / f".{_MANIFEST}.tmp"
    temporary.write_text(json.dumps(offsets, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(temporary, root / _MANIFEST)


def _read_from(path: Path, offset: int) -> bytes:
    if path.suffix != ".gz":
        with path.open("rb") as handle:
            handle.seek(offset)
            return handle.read()
    chunks: list[bytes] = []  # offsets of a compressed log count decompressed bytes
    with gzip.open(path, "rb") as handle:
        try:
            while chunk := handle.read(1 << 20):
                chunks.append(chunk)
        except EOFError:  # a compressed file cut short: keep what decompressed
            pass
    return b"".join(chunks)[offset:]


def _lines_from(path: Path, offset: int) -> Iterator[tuple[int, bytes]]:
    """(end offset, raw line) for each complete line after ``offset``; an unfinished last line waits."""
    *complete, _unfinished = _read_from(path, offset).split(b"\n")
    position = offset
    for raw in complete:
        position += len(raw) + 1
        yield position, raw


def _parse(raw: bytes, where: str) -> TurnLog | None:
    try:
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"expected a JSON object, got {type(data).__name__}")
        return TurnLog.from_dict(data)
    except (ValueError, TypeError, KeyError) as exc:
        if raw.strip():
            warnings.warn(f"{where}: not a turn-log record ({type(exc).__name__}: {exc}); skipped",
                          TurnLogWarning, stacklevel=3)
        return None


def rollup_jsonl(sources: Iterable[str | Path], root: str | Path, *, batch_size: int = 50_000) -> RollupResult:
    """Append the new complete records of each JSONL turn log (``.jsonl`` or ``.jsonl.gz``) to the dataset.

    Run it as often as you like (a cron job over growing logs): each call reads only what was
    appended since the previous one. Bad lines are skipped with a warning naming file and line.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    offsets = _read_manifest(root)
    records_added = files = skipped = sources_read = 0
    for source in sources:
        path = Path(source)
        key = _source_key(path)
        offset = offsets.get(key, 0)
        sources_read += 1
        batch: list[TurnLog] = []
        batch_start = offset
        for end, raw in _lines_from(path, offset):
            record = _parse(raw, f"{path}: line at byte {end - len(raw) - 1}")
            if record is None:
                skipped += raw.strip() != b""
            else:
                batch.append(record)
            if len(batch) >= batch_size:
                files += len(write_partitioned(root, batch, name=f"rollup-{key}-{batch_start:012d}-{end:012d}"))
                records_added += len(batch)
                batch, batch_start = [], end
                offsets[key] = end
                _write_manifest(root, offsets)
            offset = end
        if batch:
            files += len(write_partitioned(root, batch, name=f"rollup-{key}-{batch_start:012d}-{offset:012d}"))
            records_added += len(batch)
        offsets[key] = offset
        _write_manifest(root, offsets)
    return RollupResult(records=records_added, files=files, skipped_lines=skipped, sources=sources_read)
