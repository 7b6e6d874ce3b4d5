"""kill -9 of a process writing turn logs: every complete record must be read back.

A forked child appends records (multi-byte text of varied length, so lines cross buffer and
page boundaries) through :class:`JsonlTurnLogWriter` until the parent SIGKILLs it at a random
moment; a second child then appends more records to the same file (the restart after a crash).
Used by ``tests/test_jsonl_kill.py`` and ``benchmarks/fault_matrix.py``.
"""

from __future__ import annotations

import os
import random
import signal
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from persona_lab.core import TurnLog
from persona_lab.logs import JsonlTurnLogWriter, read_turn_logs

_ALPHABET = "aé中文🙂\u2028\u2029\x85ü€ß\n\"\\ "


def text_for(run: int, index: int) -> str:
    rng = random.Random(run * 1_000_003 + index)
    return "".join(rng.choice(_ALPHABET) for _ in range(rng.choice([10, 300, 3_000, 20_000])))


def record(run: int, index: int) -> TurnLog:
    return TurnLog(conversation_id=f"run-{run}", turn_index=index, timestamp="2026-11-30T00:00:00+00:00",
                   persona_id="p", router_name="r", requested_tier="mid", tier="mid", decision_reason="kill test",
                   user_text=text_for(run, index), latency_s=0.0)


def _write_forever(path: Path, run: int, start: int, count: int | None) -> None:
    writer = JsonlTurnLogWriter(path)
    index = start
    while count is None or index < start + count:
        writer.write(record(run, index))
        index += 1
    writer.close()


def _child(path: Path, run: int, start: int, count: int | None) -> int:
    pid = os.fork()
    if pid == 0:  # the child: write, never return into the test
        try:
            _write_forever(path, run, start, count)
        finally:
            os._exit(0)
    return pid


@dataclass(frozen=True, kw_only=True)
class KillRun:
    complete_lines: int
    recovered: int
    cut_last_line: bool
    appended_read: bool
    ok: bool


def kill_run(directory: Path, run: int, *, rng: random.Random, max_wait_s: float = 0.15) -> KillRun:
    """One kill -9 run and its checks (see the module docstring)."""
    path = directory / f"kill-{run}.jsonl"
    pid = _child(path, run, 0, None)
    time.sleep(rng.uniform(0.005, max_wait_s))
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    data = path.read_bytes() if path.exists() else b""
    complete = data.count(b"\n")
    cut = bool(data) and not data.endswith(b"\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        records = read_turn_logs(path) if path.exists() else []
    ok = [r.turn_index for r in records] == list(range(complete)) and all(
        r.user_text == text_for(run, r.turn_index) for r in records
    )
    # the restart: a new writer appends after whatever the crash left
    pid = _child(path, run, 100_000, 3)
    os.waitpid(pid, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        after = read_turn_logs(path)
    appended = [r.turn_index for r in after][len(records):] == [100_000, 100_001, 100_002]
    return KillRun(complete_lines=complete, recovered=len(records), cut_last_line=cut, appended_read=appended,
                   ok=ok and appended and len(after) == len(records) + 3)
