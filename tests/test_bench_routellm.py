"""Converters from RouteLLM's evaluation layout, on a miniature copy of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from persona_lab import BenchmarkFormatError
from persona_lab.bench import (
    ROUTELLM_STRONG,
    ROUTELLM_WEAK,
    convert_gsm8k,
    convert_mmlu,
    convert_mt_bench,
    convert_routellm,
    is_routellm_layout,
    load_suites,
    read_benchmark_set,
    write_benchmark_set,
)
from tests.bench_helpers import write_routellm_layout


@pytest.fixture
def routellm(tmp_path: Path) -> Path:
    return write_routellm_layout(tmp_path / "evals")


def test_gsm8k_drops_contaminated_prompts_and_derives_references(routellm: Path) -> None:
    gsm = convert_gsm8k(routellm / "gsm8k")
    assert [i.id for i in gsm.items] == ["gsm8k-0000", "gsm8k-0001", "gsm8k-0002"]
    assert gsm.scale == "binary" and gsm.tier_models == {"small": ROUTELLM_WEAK, "frontier": ROUTELLM_STRONG}
    first, second, third = gsm.items
    assert first.outcomes[ROUTELLM_WEAK][0].score == 1.0 and second.outcomes[ROUTELLM_WEAK][0].score == 0.0
    assert second.outcomes[ROUTELLM_STRONG][0].response == "5 * 2 = $10. The answer is 10."
    assert first.reference == ("7",)  # GPT-4's final number, graded correct
    assert second.reference == ("10",)
    assert third.reference == ()  # neither model was right: no reference
    kept = convert_gsm8k(routellm / "gsm8k", drop_contaminated=False)
    assert len(kept) == 4


def test_mmlu_subjects_become_categories_with_placeholder_responses(routellm: Path) -> None:
    mmlu = convert_mmlu(routellm / "mmlu")
    assert [(i.id, i.category) for i in mmlu.items] == [
        ("mmlu-anatomy-0000", "anatomy"), ("mmlu-anatomy-0001", "anatomy"), ("mmlu-virology-0000", "virology")]
    outcome = mmlu.items[1].outcomes[ROUTELLM_STRONG][0]
    assert (outcome.score, outcome.response, outcome.output_tokens) == (1.0, None, 1)


def test_mt_bench_turns_scores_and_answers_from_the_judge_prompts(routellm: Path) -> None:
    mt = convert_mt_bench(routellm / "mt_bench")
    assert [i.id for i in mt.items] == ["mt_bench-82", "mt_bench-114"]  # the contaminated one is dropped
    assert mt.scale == "grade-1-10"
    item = mt.items[1]
    assert item.turns == ("Roll two dice: P(sum >= 3)?", "And even or >= 3?")
    weak = item.outcomes[ROUTELLM_WEAK]
    assert [o.score for o in weak] == [8.0, 4.0]
    assert weak[0].response == f"{ROUTELLM_WEAK} first answer to 114"
    assert weak[1].response == f"{ROUTELLM_WEAK} second answer to 114"
    assert item.reference == ("35/36", "35/36 as well")
    assert mt.items[0].reference == ()


def test_whole_folder_or_one_suite_folder(routellm: Path, tmp_path: Path) -> None:
    assert is_routellm_layout(routellm) and is_routellm_layout(routellm / "mt_bench")
    assert not is_routellm_layout(tmp_path / "nothing")
    assert [s.suite for s in convert_routellm(routellm)] == ["gsm8k", "mmlu", "mt_bench"]
    assert [s.suite for s in load_suites(routellm / "mmlu")] == ["mmlu"]
    # a converted set survives the file format unchanged
    for benchmark in convert_routellm(routellm):
        path = write_benchmark_set(benchmark, tmp_path / f"{benchmark.suite}.jsonl.gz")
        assert read_benchmark_set(path) == benchmark


def test_a_judgement_without_a_grade_is_named(routellm: Path) -> None:
    path = routellm / "mt_bench" / "judgements.jsonl"
    path.write_text(path.read_text().replace('"score": 4', '"score": -1', 1))
    with pytest.raises(BenchmarkFormatError, match=r"question 82, model .* turn 2: the judge gave no grade"):
        convert_mt_bench(routellm / "mt_bench")


def test_a_bad_correctness_flag_names_file_line_and_column(routellm: Path) -> None:
    path = routellm / "gsm8k" / "gsm8k_responses.csv"
    path.write_text(path.read_text().replace(",True,True,", ",yes,True,", 1))
    with pytest.raises(BenchmarkFormatError, match=r"gsm8k_responses.csv:2: field .*Mixtral.*expected True or False"):
        convert_gsm8k(routellm / "gsm8k")
