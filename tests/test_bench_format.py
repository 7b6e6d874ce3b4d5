"""The benchmark-set format: round trips, and errors that name the file, line and field."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from persona_lab import BenchmarkFormatError
from persona_lab.bench import (
    BUNDLED_SUITES,
    FORMAT_VERSION,
    bundled_suite_path,
    load_suite,
    load_suites,
    read_benchmark_set,
    write_benchmark_set,
)
from persona_lab.tiers import Price
from tests.bench_helpers import STRONG, WEAK, synthetic_set

HEADER = {"format_version": FORMAT_VERSION, "suite": "mine", "scale": "binary",
          "models": {"a": {"role": "weak"}, "b": {"role": "strong", "price": {"input_per_mtok": 1,
                                                                              "output_per_mtok": 2}}}}


def _write(path: Path, *lines: object) -> Path:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


def _item(n: int, **changes: object) -> dict[str, object]:
    item: dict[str, object] = {"id": f"q{n}", "category": "c", "turns": [f"question {n}"],
                               "outcomes": {"a": 0, "b": {"score": 1, "response": "yes", "output_tokens": 3}}}
    item.update(changes)
    return item


@pytest.mark.parametrize("name", ["set.jsonl", "set.jsonl.gz"])
def test_round_trip(tmp_path: Path, name: str) -> None:
    original = synthetic_set(12, turns=2, scale="grade-1-10")
    path = write_benchmark_set(original, tmp_path / name)
    loaded = read_benchmark_set(path)
    assert loaded == original  # items, outcomes, models, prices
    assert loaded.path == str(path)
    assert loaded.tier_models == {"small": WEAK, "frontier": STRONG}
    if name.endswith(".gz"):
        with gzip.open(path, "rt") as handle:
            assert json.loads(handle.readline())["format_version"] == FORMAT_VERSION


def test_a_hand_written_set_with_shorthand_outcomes(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.jsonl", HEADER, _item(1), _item(2, outcomes={"a": [1], "b": [{"score": 0}]}))
    loaded = read_benchmark_set(path)
    assert loaded.suite == "mine" and len(loaded) == 2
    assert loaded.items[0].outcomes["b"][0].output_tokens == 3
    assert loaded.tier_models == {"small": "a", "frontier": "b"}  # roles give the default tiers
    assert loaded.models["b"].price == Price(1.0, 2.0)


def test_missing_field_names_the_line_and_field(tmp_path: Path) -> None:
    bad = _item(2)
    del bad["turns"]
    path = _write(tmp_path / "s.jsonl", HEADER, _item(1), bad)
    with pytest.raises(BenchmarkFormatError) as info:
        read_benchmark_set(path)
    assert f"{path}:3:" in str(info.value) and "'turns'" in str(info.value)
    assert (info.value.line, info.value.field) == (3, "turns")


@pytest.mark.parametrize(
    ("line", "field", "words"),
    [
        (_item(1, outcomes={"a": 0, "b": 1, "zz": 1}), "outcomes.zz", "unknown model 'zz'"),
        (_item(1, outcomes={"a": 0, "b": {"score": 7}}), "outcomes.b.score", "outside the scale"),
        (_item(1, outcomes={"a": 0, "b": {"response": "x"}}), "outcomes.b.score", "missing"),
        (_item(1, outcomes={"a": [0, 1], "b": 1}), "outcomes.a", "2 outcomes for 1 turns"),
        (_item(1, outcomes={"a": 0}), "outcomes.b", "no outcome for model 'b'"),
        (_item(1, turns=[]), "turns", "non-empty list"),
        (_item(1, id=None), "id", "missing"),
        ("{not json", None, "not valid JSON"),
    ],
)
def test_bad_items(tmp_path: Path, line: object, field: str | None, words: str) -> None:
    path = _write(tmp_path / "s.jsonl", HEADER, line)
    with pytest.raises(BenchmarkFormatError, match=words) as info:
        read_benchmark_set(path)
    assert info.value.line == 2 and info.value.field == field
    assert f"{path}:2:" in str(info.value)


def test_header_problems(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkFormatError, match="unsupported format_version 99"):
        read_benchmark_set(_write(tmp_path / "a.jsonl", {**HEADER, "format_version": 99}, _item(1)))
    with pytest.raises(BenchmarkFormatError, match="format_version") as info:
        read_benchmark_set(_write(tmp_path / "b.jsonl", {"suite": "x"}, _item(1)))
    assert info.value.line == 1
    with pytest.raises(BenchmarkFormatError, match="unknown tier 'huge'"):
        read_benchmark_set(_write(tmp_path / "c.jsonl", {**HEADER, "models": {"a": {"tier": "huge"}}}, _item(1)))
    with pytest.raises(BenchmarkFormatError, match="duplicate id 'q1' \\(first on line 2\\)"):
        read_benchmark_set(_write(tmp_path / "d.jsonl", HEADER, _item(1), _item(1)))
    with pytest.raises(BenchmarkFormatError, match="no items"):
        read_benchmark_set(_write(tmp_path / "e.jsonl", HEADER))
    with pytest.raises(BenchmarkFormatError, match="cannot read"):
        read_benchmark_set(tmp_path / "missing.jsonl")


def test_headerless_set_infers_the_weak_model_from_mean_scores(tmp_path: Path) -> None:
    first = {**_item(1, outcomes={"x": 1, "y": 0}), "format_version": 1, "suite": "bare", "scale": "binary"}
    second = {**_item(2, outcomes={"x": 1, "y": 1}), "scale": "binary", "suite": "bare"}
    loaded = read_benchmark_set(_write(tmp_path / "bare.jsonl", first, second))
    assert loaded.tier_models == {"small": "y", "frontier": "x"}


def test_unknown_model_when_reassigning_tiers() -> None:
    benchmark = synthetic_set(4)
    assert benchmark.with_tiers({"small": STRONG, "frontier": WEAK}).tier_models == {"small": STRONG,
                                                                                      "frontier": WEAK}
    with pytest.raises(BenchmarkFormatError, match="unknown model 'gpt-5'"):
        benchmark.with_tiers({"frontier": "gpt-5"})


def test_bundled_sets_ship_with_licence_and_attribution() -> None:
    folder = bundled_suite_path("gsm8k").parent
    assert "Apache License" in (folder / "LICENSE").read_text()
    readme = (folder / "README.md").read_text()
    assert "lm-sys/RouteLLM" in readme and "instructlab/eval" in readme
    sets = {s.suite: s for s in load_suites()}
    assert set(sets) == set(BUNDLED_SUITES)
    assert (len(sets["gsm8k"]), len(sets["mmlu"]), len(sets["mt_bench"])) == (1307, 12563, 35)
    assert sets["mt_bench"].n_turns == 70 and sets["mt_bench"].scale == "grade-1-10"
    assert len({i.category for i in sets["mmlu"].items}) == 47
    assert sets["gsm8k"].license == "Apache-2.0" and "RouteLLM" in sets["gsm8k"].source


def test_unknown_suite_name_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkFormatError, match="no such suite file, folder or bundled suite"):
        load_suite("gsm9k")
    with pytest.raises(BenchmarkFormatError, match="RouteLLM"):
        load_suites(tmp_path)  # an empty folder


@pytest.mark.parametrize(
    ("line", "field", "words"),
    [
        (_item(1, outcomes={"a": 0, "b": {"score": 1, "output_tokens": -2}}), "outcomes.b.output_tokens",
         "expected a non-negative integer, got -2"),
        (_item(1, outcomes={"a": [0], "b": [{"score": "high"}]}), "outcomes.b.0.score",
         "expected a finite number, got 'high'"),
        (_item(1, outcomes={"a": float("nan"), "b": 1}), "outcomes.a.score", "finite number"),
        (_item(1, turns=["fine", "  "]), "turns.1", "non-empty string"),
        (_item(1, turns="one turn as a string", reference=[{"x": 1}]), "reference.0", "a string or null"),
        (_item(1, category=["a"]), "category", "expected a string, got list"),
    ],
)
def test_field_errors_name_the_path_into_the_line(tmp_path: Path, line: object, field: str, words: str) -> None:
    path = _write(tmp_path / "s.jsonl", HEADER, line)
    with pytest.raises(BenchmarkFormatError, match=words) as info:
        read_benchmark_set(path)
    assert (info.value.line, info.value.field) == (2, field)
    assert str(info.value).startswith(f"{path}:2: field {field!r}: ")


@pytest.mark.parametrize(
    ("models", "field", "words"),
    [
        ({"a": {"role": "boss"}}, "models.a.role", "expected 'weak' or 'strong', got 'boss'"),
        ({"a": {"tier": "huge"}}, "models.a.tier", "unknown tier 'huge'"),
        ({"a": {"tier": "small", "context_window": 100}}, "models.a.context_window", "integer ≥ 2048, got 100"),
        ({"a": {"tier": "small", "price": {"input_per_mtok": 1}}}, "models.a.price.output_per_mtok", "missing"),
        ("a, b", "models", "expected an object"),
    ],
)
def test_header_field_errors(tmp_path: Path, models: object, field: str, words: str) -> None:
    path = _write(tmp_path / "h.jsonl", {**HEADER, "models": models}, _item(1))
    with pytest.raises(BenchmarkFormatError, match=words) as info:
        read_benchmark_set(path)
    assert (info.value.line, info.value.field) == (1, field)
