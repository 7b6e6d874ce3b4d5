"""The Parquet turn-log dataset: committed batches survive a crash, roll-ups are incremental and exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("duckdb")
pytest.importorskip("pyarrow")

from persona_lab import LogSchemaError
from persona_lab.logs import JsonlTurnLogWriter, TurnLogWarning, turn_logs_to_frame
from persona_lab.scale import ParquetTurnLogWriter, arrow_schema, cost_summary, rollup_jsonl
from tests.scale_records import synthetic_turns


def _dataset_frame(root: Path) -> pd.DataFrame:
    import duckdb

    files = sorted(str(p) for p in root.rglob("*.parquet"))
    return duckdb.sql(f"SELECT * FROM read_parquet({files!r}, hive_partitioning = true, union_by_name = true)").df()


def test_writer_commits_batches_by_day_and_persona(tmp_path: Path) -> None:
    records = synthetic_turns(250, personas=2, days=2)
    with ParquetTurnLogWriter(tmp_path, batch_size=100) as writer:
        for record in records[:210]:
            writer.write(record)
        assert (writer.committed, writer.buffered) == (200, 10)
        writer.write_many(records[210:])
    assert writer.committed == 250 and writer.buffered == 0
    folders = {p.parent.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.parquet")}
    assert {"day=2026-11-01/persona=persona%2F0", "day=2026-11-02/persona=persona%2F1"} <= folders
    stored = _dataset_frame(tmp_path)
    assert len(stored) == 250
    assert sorted(stored["conversation_id"] + ":" + stored["turn_index"].astype(str)) == sorted(
        f"{r.conversation_id}:{r.turn_index}" for r in records
    )
    import pyarrow as pa
    import pyarrow.parquet as pq

    base = arrow_schema()
    for path in tmp_path.rglob("*.parquet"):  # the documented columns first, then the batch's other labels/scores
        schema = pq.read_schema(path).remove_metadata()
        assert pa.schema(list(schema)[: len(base)]) == base
        assert {f.name: str(f.type) for f in list(schema)[len(base):]} == {"label_variant": "string",
                                                                           "score_grade.tone": "double"}


def test_a_killed_writer_loses_only_its_uncommitted_batch(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path[:0] = [{str(Path.cwd())!r}]
        from tests.scale_records import synthetic_turns
        from persona_lab.scale import ParquetTurnLogWriter
        writer = ParquetTurnLogWriter({str(tmp_path)!r}, batch_size=40)
        for record in synthetic_turns(130):
            writer.write(record)
        print(writer.committed, writer.buffered, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert done.stdout.split() == ["120", "10"]
    (tmp_path / "day=2026-11-01" / "persona=x").mkdir(parents=True)
    (tmp_path / "day=2026-11-01" / "persona=x" / ".part-half.parquet.tmp").write_bytes(b"PAR1 half a file")
    assert len(_dataset_frame(tmp_path)) == 120
    assert cost_summary(tmp_path, by="day")["turns"].sum() == 120


def test_rollup_reads_only_new_complete_lines_and_never_twice(tmp_path: Path) -> None:
    records = synthetic_turns(90)
    log = tmp_path / "turns.jsonl"
    dataset = tmp_path / "dataset"
    with JsonlTurnLogWriter(log) as writer:
        for record in records[:50]:
            writer.write(record)
    with log.open("ab") as handle:  # a crash mid-line: the half line must wait
        handle.write(json.dumps(records[50].to_dict()).encode()[:40])
    first = rollup_jsonl([log], dataset, batch_size=20)
    assert (first.records, first.skipped_lines) == (50, 0)
    with log.open("ab") as handle:  # the rest of that line arrives, then more turns and one bad line
        handle.write(json.dumps(records[50].to_dict()).encode()[40:] + b"\n")
        handle.write(b"\xff\xfe not json\n")
    with JsonlTurnLogWriter(log) as writer:
        for record in records[51:]:
            writer.write(record)
    with pytest.warns(TurnLogWarning, match="not a turn-log record"):
        second = rollup_jsonl([log], dataset, batch_size=20)
    assert (second.records, second.skipped_lines) == (40, 1)
    assert rollup_jsonl([log], dataset).records == 0
    stored = _dataset_frame(dataset)
    expected = turn_logs_to_frame(records)
    assert len(stored) == 90
    assert sorted(stored["conversation_id"] + ":" + stored["turn_index"].astype(str)) == sorted(
        expected["conversation_id"] + ":" + expected["turn_index"].astype(str)
    )


def test_rollup_interrupted_before_recording_progress_rewrites_the_same_files(tmp_path: Path) -> None:
    log = tmp_path / "turns.jsonl"
    with JsonlTurnLogWriter(log) as writer:
        for record in synthetic_turns(30):
            writer.write(record)
    dataset = tmp_path / "dataset"
    rollup_jsonl([log], dataset, batch_size=1000)
    os.remove(dataset / "_rollups.json")  # as if killed after writing the files, before the manifest
    files_before = sorted(p.name for p in dataset.rglob("*.parquet"))
    assert rollup_jsonl([log], dataset, batch_size=1000).records == 30
    assert sorted(p.name for p in dataset.rglob("*.parquet")) == files_before
    assert len(_dataset_frame(dataset)) == 30


def test_a_dataset_with_another_schema_is_refused_naming_the_column(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    with ParquetTurnLogWriter(tmp_path) as writer:
        writer.write_many(synthetic_turns(10))
    good = next(tmp_path.rglob("*.parquet"))
    table = pq.read_table(good)
    bad = table.set_column(table.schema.get_field_index("latency_s"), "latency_s",
                           pa.array([str(v) for v in table["latency_s"].to_pylist()]))
    pq.write_table(bad, good.parent / "part-bad.parquet")
    with pytest.raises(LogSchemaError, match=r"part-bad\.parquet: column 'latency_s' is string, expected double"):
        cost_summary(tmp_path)
    pq.write_table(table.drop(["tier"]), good.parent / "part-bad.parquet")
    with pytest.raises(LogSchemaError, match="column 'tier' is missing"):
        cost_summary(tmp_path)


def test_labels_and_scores_beyond_the_documented_ones_are_kept_and_queryable(tmp_path: Path) -> None:
    from persona_lab.scale import connect, register_turns

    records = synthetic_turns(60)
    with ParquetTurnLogWriter(tmp_path, batch_size=25) as writer:
        writer.write_many(records)
    connection = connect()
    register_turns(connection, tmp_path)
    rows = connection.execute('SELECT label_variant, count(*), avg("score_grade.tone") FROM turns '
                              "GROUP BY label_variant ORDER BY label_variant").fetchall()
    frame = turn_logs_to_frame(records)
    expected = frame.groupby("label_variant")["score_grade.tone"].mean()
    assert [r[0] for r in rows] == ["v0", "v1"] and sum(r[1] for r in rows) == 60
    assert [round(r[2], 9) for r in rows] == [round(v, 9) for v in expected]
