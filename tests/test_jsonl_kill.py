"""kill -9 while writing turn logs with multi-byte text: every complete record is read back, and
records appended after the restart too (the many-run figures: ``benchmarks/fault_matrix.py``)."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from tests.jsonl_kill import kill_run


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
@pytest.mark.skipif(sys.platform == "darwin", reason="fork after threads is unsafe on macOS")
def test_kill_9_at_random_points_loses_no_complete_record(tmp_path: Path) -> None:
    rng = random.Random(14)
    runs = [kill_run(tmp_path, run, rng=rng) for run in range(8)]
    assert all(r.ok for r in runs), runs
    assert sum(r.recovered for r in runs) > 0
