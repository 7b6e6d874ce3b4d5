import dataclasses
import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

from persona_lab import LogSchemaError, TurnLog, read_turn_logs, turn_logs_to_frame
from persona_lab.core import TURN_LOG_SCHEMA_VERSION, Attempt, CompactionCall, ToolCallRecord
from persona_lab.logs import TURN_LOG_COLUMNS, JsonlTurnLogWriter, TurnLogWarning


def record(i: int, *, conversation: str = "c1", cost: float | None = 0.01) -> TurnLog:
    return TurnLog(
        conversation_id=conversation,
        turn_index=i,
        timestamp=f"2026-11-22T10:00:{i:02d}+00:00",
        persona_id="p",
        router_name="fixed-mid",
        requested_tier="mid",
        tier="mid",
        decision_reason="fixed",
        latency_s=0.5,
        cost_usd=cost,
        total_cost_usd=cost,
        gen_ai_usage_input_tokens=100,
        gen_ai_usage_output_tokens=20,
        tool_calls=(ToolCallRecord(call_id="c", name="lookup", arguments="{}", result="ok", is_error=False),),
        attempts=(
            Attempt(
                tier="mid",
                provider="openai",
                model="m",
                outcome="accepted",
                input_tokens=100,
                output_tokens=20,
                cost_usd=cost,
            ),
        ),
        compactions=(
            CompactionCall(tier="small", model="s", summarized=6, input_tokens=50, output_tokens=10, cost_usd=0.001),
        )
        if i == 2
        else (),
        decision_scores={"mid": 0.7},
    )


def test_record_round_trips_through_json() -> None:
    original = record(2)
    again = TurnLog.from_dict(json.loads(json.dumps(original.to_dict())))
    assert again == original
    assert original.otel_attributes()["gen_ai.usage.input_tokens"] == 100
    assert original.compaction_cost_usd == pytest.approx(0.001)


def test_unknown_keys_from_newer_writers_are_ignored() -> None:
    data = record(0).to_dict() | {"a_future_field": 1}
    assert TurnLog.from_dict(data) == record(0)


def test_jsonl_writer_appends_one_flushed_line_per_turn(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "turns.jsonl"
    writer = JsonlTurnLogWriter(path)
    writer.write(record(0))
    # flushed: readable before close
    assert read_turn_logs(path) == [record(0)]
    writer.write(record(1))
    writer.close()
    assert path.read_text().count("\n") == 2


def test_truncated_last_line_keeps_every_complete_record(tmp_path: Path) -> None:
    path = tmp_path / "turns.jsonl"
    with JsonlTurnLogWriter(path) as writer:
        for i in range(3):
            writer.write(record(i))
    full = path.read_text()
    path.write_text(full[: len(full) - 40])  # killed mid-write
    with pytest.warns(TurnLogWarning, match=r"turns\.jsonl:3: truncated last line"):
        records = read_turn_logs(path)
    assert [r.turn_index for r in records] == [0, 1]
    with pytest.raises(LogSchemaError, match=r"turns\.jsonl:3") as info:
        read_turn_logs(path, strict=True)
    assert info.value.line == 3
    # a writer reopening the file isolates the broken line instead of gluing onto it
    with JsonlTurnLogWriter(path) as writer:
        writer.write(record(3))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        records = read_turn_logs(path)
    assert [r.turn_index for r in records] == [0, 1, 3]
    ours = [w for w in caught if issubclass(w.category, TurnLogWarning)]
    assert len(ours) == 1 and "not a turn-log record" in str(ours[0].message)


def test_frame_has_documented_columns_and_dtypes(tmp_path: Path) -> None:
    records = [record(i) for i in range(3)] + [record(0, conversation="c2", cost=None)]
    frame = turn_logs_to_frame(records)
    assert len(frame) == 4
    assert list(frame.columns) == [c.name for c in TURN_LOG_COLUMNS] + ["turn", "cumulative_cost_usd"]
    for column in TURN_LOG_COLUMNS:
        assert column.doc
        assert str(frame[column.name].dtype).startswith(column.dtype.split("[")[0]), column.name
    assert isinstance(frame["timestamp"].dtype, pd.DatetimeTZDtype)
    assert frame["cumulative_cost_usd"].tolist() == pytest.approx([0.01, 0.02, 0.03, 0.0])
    assert frame.loc[2, "n_compactions"] == 1 and frame.loc[2, "compaction_cost_usd"] == pytest.approx(0.001)
    assert pd.isna(frame.loc[3, "cost_usd"])
    path = tmp_path / "t.jsonl"
    with JsonlTurnLogWriter(path) as writer:
        for r in records:
            writer.write(r)
    pd.testing.assert_frame_equal(turn_logs_to_frame(path), frame)


def test_empty_frame_still_has_the_columns() -> None:
    frame = turn_logs_to_frame([])
    assert "total_cost_usd" in frame.columns and len(frame) == 0


def test_gzip_compressed_logs_are_read(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "turns.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for i in range(3):
            handle.write(json.dumps(record(i).to_dict()) + "\n")
    assert [r.turn_index for r in read_turn_logs(path)] == [0, 1, 2]
    assert len(turn_logs_to_frame(path)) == 3


def test_labels_and_scores_round_trip_and_flatten_into_the_frame() -> None:
    labelled = dataclasses.replace(
        record(0), labels={"suite": "gsm8k", "item_id": "7", "fold": "2"}, scores={"score": 1.0, "judge": 8.5}
    )
    assert TurnLog.from_dict(json.loads(json.dumps(labelled.to_dict()))) == labelled
    frame = turn_logs_to_frame([labelled, record(1)])
    assert frame.loc[0, "suite"] == "gsm8k" and frame.loc[0, "item_id"] == "7" and frame.loc[0, "score"] == 1.0
    assert frame.loc[0, "label_fold"] == "2" and frame.loc[0, "score_judge"] == 8.5
    assert pd.isna(frame.loc[1, "suite"]) and pd.isna(frame.loc[1, "score"]) and pd.isna(frame.loc[1, "label_fold"])
    assert list(frame.columns[-2:]) == ["label_fold", "score_judge"]


def test_version_1_records_are_read_with_their_benchmark_fields_as_labels_and_scores() -> None:
    old = {k: v for k, v in record(0).to_dict().items() if k not in ("labels", "scores", "writeback_s")}
    old |= {"schema_version": 1, "suite": "mmlu", "item_id": "q1", "category": "law", "score": 0.0}
    again = TurnLog.from_dict(old)
    assert again.labels == {"suite": "mmlu", "item_id": "q1", "category": "law"} and again.scores == {"score": 0.0}
    assert again.schema_version == TURN_LOG_SCHEMA_VERSION == 2
    assert dataclasses.replace(again, labels={}, scores={}) == record(0)


def test_records_are_built_with_keywords_only() -> None:
    with pytest.raises(TypeError):
        Attempt("mid", "openai", "m", "accepted")  # type: ignore[misc]


# -- crash safety: bytes, line by line -------------------------------------------------------

MULTIBYTE = "é 中文 🙂 \u2028 line\u2029sep \x85 end"


def texted(i: int, text: str = MULTIBYTE) -> TurnLog:
    return dataclasses.replace(record(i), user_text=f"{i}: {text}")


def test_every_cut_point_of_a_multibyte_last_line_keeps_the_complete_records(tmp_path: Path) -> None:
    path = tmp_path / "turns.jsonl"
    with JsonlTurnLogWriter(path) as writer:
        for i in range(3):
            writer.write(texted(i))
    full = path.read_bytes()
    last_start = full.rindex(b"\n", 0, len(full) - 1) + 1
    assert any(b >= 0x80 for b in full[last_start:])  # the cut lands inside multi-byte characters too
    cuts = range(last_start + 1, len(full) - 1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for cut in cuts:
            path.write_bytes(full[:cut])
            assert [r.turn_index for r in read_turn_logs(path)] == [0, 1], cut
    ours = [w for w in caught if issubclass(w.category, TurnLogWarning)]  # not a stray ResourceWarning of GC
    assert len(ours) == len(cuts)
    assert all("turns.jsonl:3:" in str(w.message) for w in ours)
    # lines appended after the crash are read
    with JsonlTurnLogWriter(path) as writer:
        writer.write(texted(3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert [r.user_text for r in read_turn_logs(path)] == [texted(i).user_text for i in (0, 1, 3)]
        assert len(turn_logs_to_frame(path)) == 3


def test_each_record_is_one_line_whatever_its_text(tmp_path: Path) -> None:
    path = tmp_path / "turns.jsonl"
    odd = texted(0, "a\nb\r\nc\u2028d\u2029e\x85f\x0bg\x0ch\x1ci\ud800j")  # \ud800: a lone surrogate
    with JsonlTurnLogWriter(path) as writer:
        writer.write(odd)
        writer.write(texted(1))
    text = path.read_bytes().decode("utf-8")
    assert len(text.splitlines()) == 2  # str.splitlines knows every Unicode line break
    assert "中文" in text  # not ASCII-escaped
    assert [r.user_text for r in read_turn_logs(path)] == [odd.user_text, texted(1).user_text]


def test_bad_lines_in_the_middle_are_skipped_by_number(tmp_path: Path) -> None:
    path = tmp_path / "turns.jsonl"
    lines = [
        json.dumps(record(0).to_dict()).encode(),
        b"\xff\xfe not utf-8",
        b'{"conversation_id": "c1", "turn_',
        b"[1, 2]",
        b"[" * 100_000 + b"]" * 100_000,
        json.dumps(record(1).to_dict()).encode(),
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        records = read_turn_logs(path)
    assert [r.turn_index for r in records] == [0, 1]
    messages = [str(w.message) for w in caught]
    assert [m.split(": ")[0].rsplit(":", 1)[1] for m in messages] == ["2", "3", "4", "5"]
    assert "invalid UTF-8" in messages[0]
    assert all(len(m) < 400 for m in messages)
    with pytest.raises(LogSchemaError) as info:
        read_turn_logs(path, strict=True)
    assert info.value.line == 2


def test_a_record_glued_onto_a_cut_off_line_is_recovered(tmp_path: Path) -> None:
    path = tmp_path / "turns.jsonl"
    whole = json.dumps(record(0).to_dict()).encode()
    path.write_bytes(whole[:57] + json.dumps(record(1).to_dict()).encode() + b"\n")  # a foreign writer's append
    with pytest.warns(TurnLogWarning, match=r"turns\.jsonl:1"):
        assert [r.turn_index for r in read_turn_logs(path)] == [1]


def test_a_cut_off_gzip_log_keeps_what_it_holds(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "turns.jsonl.gz"
    payload = b"".join(json.dumps(record(i).to_dict()).encode() + b"\n" for i in range(200))
    packed = gzip.compress(payload)
    path.write_bytes(packed[: len(packed) * 3 // 4])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        records = read_turn_logs(path)
    assert any("the compressed file is cut off" in str(w.message) for w in caught)
    assert 0 < len(records) < 200
    assert [r.turn_index for r in records] == list(range(len(records)))
