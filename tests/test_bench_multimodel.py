"""Multi-model sets: ZeroEval and MMLU-Pro converters, graded as upstream; tier mappings; the bundled sets."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

import pytest

from persona_lab import BenchmarkFormatError
from persona_lab.bench import (
    DEFAULT_TIER_MAPPINGS,
    THREE_TIER_SUITES,
    check_playable,
    convert_routellm,
    convert_zeroeval,
    grade_zeroeval,
    is_mmlu_pro_layout,
    is_zeroeval_layout,
    load_suite,
    load_suites,
    map_tiers,
    mmlu_pro_answer,
    parse_tier_mapping,
    read_benchmark_set,
    replay_tiers,
    ungradable_counts,
    write_benchmark_set,
    zeroeval_answer,
)
from tests.bench_helpers import write_routellm_layout


def _shared_data() -> Path:
    """The shared data folder: $PERSONA_LAB_SHARED_DATA, else ../shared/data beside the checkout (CI's layout),
    else /work/shared/data (the team machine, also seen from worktrees)."""
    if "PERSONA_LAB_SHARED_DATA" in os.environ:
        return Path(os.environ["PERSONA_LAB_SHARED_DATA"])
    beside = Path(__file__).resolve().parents[2] / "shared" / "data"
    return beside if beside.is_dir() else Path("/work/shared/data")


SHARED = _shared_data()


def _zeroeval_row(n: int, question: str, reference: str, output: str) -> dict[str, Any]:
    return {"id": f"t-#{n}", "session_id": f"t-#{n}", "question": question, "answer": reference,
            "chat_history": [f"\n## Question: \n\n{question}\n\n## Instruction\n\nAnswer in JSON.\n"],
            "output": [output], "generator": "x", "configs": "{}", "dataset": "gsm"}


def _write_zeroeval(root: Path) -> Path:
    gsm = root / "result_dirs" / "gsm"
    gsm.mkdir(parents=True)
    questions = [("Two plus two?", "# 4"), ("Half of 9?", "# 4.5"), ("1,000 + 1?", "# 1001")]
    outputs = {
        "tiny-model": ['{"reasoning": "2+2", "answer": "4"}', "I think it is 4.", '{"answer": "$1,001"}'],
        "big-model": ['```json\n{"reasoning": "sum", "answer": 4}\n```', '{"answer": "9/2"}', '"answer": 1001'],
        "odd-model": ['{"answer": "5"}', '{"answer": "4.5 apples"}', "no idea"],
    }
    for model, texts in outputs.items():
        rows = [_zeroeval_row(n, q, ref, out) for n, ((q, ref), out) in enumerate(zip(questions, texts, strict=True))]
        if model == "big-model":
            (gsm / f"{model}.json.gz").write_bytes(gzip.compress(json.dumps(rows).encode()))
        else:
            (gsm / f"{model}.json").write_text(json.dumps(rows))
    return gsm


def test_zeroeval_answers_are_read_as_zeroeval_reads_them() -> None:
    assert zeroeval_answer('Reasoning...\n{"reasoning": "x", "answer": "42"} trailing') == "42"
    assert zeroeval_answer('{"reasoning": "broken \\q json", "answer": "7"}') == "7"  # regex fallback
    assert zeroeval_answer('"answer": 13, more') == "13"  # no quotes
    assert zeroeval_answer("so $\\boxed{36}$", "Meta-Llama-3.1-8B-Instruct") == "36"
    assert zeroeval_answer("so $\\boxed{36}$", "gpt-4o") is None  # the boxed rule is Llama-3.1's only
    assert zeroeval_answer("I do not know.") is None
    assert grade_zeroeval("gsm", '{"answer": "$1,250.00"}', "# 1250") == 1.0
    assert grade_zeroeval("gsm", '{"answer": "3/4"}', "# 0.75") == 1.0
    assert grade_zeroeval("gsm", '{"answer": "12"}', "# 13") == 0.0
    assert grade_zeroeval("gsm", "nothing", "# 13") is None
    assert grade_zeroeval("crux", '{"answer": "\'abc\'"}', "'abc'") == 1.0  # outer quotes stripped both sides
    assert grade_zeroeval("crux", '{"answer": "[1, 2]"}', "[1, 2]") == 1.0
    assert grade_zeroeval("crux", '{"answer": "[1,2]"}', "[1, 2]") == 0.0  # string comparison, as upstream
    with pytest.raises(BenchmarkFormatError, match="unknown ZeroEval task 'math'"):
        grade_zeroeval("math", "", "")


def test_zeroeval_folder_converts_with_full_texts_and_counted_ungradable(tmp_path: Path) -> None:
    folder = _write_zeroeval(tmp_path)
    assert is_zeroeval_layout(folder) and is_zeroeval_layout(folder.parent)
    [benchmark] = convert_zeroeval(folder)
    assert benchmark.suite == "zeroeval_gsm8k" and len(benchmark) == 3
    assert set(benchmark.models) == {"tiny-model", "big-model", "odd-model"}
    assert benchmark.tier_models == {}  # more models than tiers and no mapping yet
    scores = {m: [i.outcomes[m][0].score for i in benchmark.items] for m in benchmark.models}
    assert scores == {"big-model": [1.0, 1.0, 1.0], "odd-model": [0.0, 1.0, 0.0], "tiny-model": [1.0, 0.0, 1.0]}
    assert ungradable_counts(benchmark) == {"tiny-model": 1, "big-model": 0, "odd-model": 1}
    assert "2 answers ungradable" in benchmark.description
    first = benchmark.items[0]
    assert first.turns[0].startswith("## Question:") and first.reference == ("4",)
    assert first.outcomes["big-model"][0].response == '```json\n{"reasoning": "sum", "answer": 4}\n```'
    assert first.outcomes["tiny-model"][0].input_tokens is None  # tokens are estimated by the replay
    # the set round-trips through the format, unmapped models included
    path = write_benchmark_set(map_tiers(benchmark, {"small": "tiny-model", "frontier": "big-model"}),
                               tmp_path / "z.jsonl.gz")
    again = read_benchmark_set(path)
    assert again.tier_models == {"small": "tiny-model", "frontier": "big-model"}
    assert set(again.models) == set(benchmark.models) and again.items[1].meta == {"ungradable": ["tiny-model"]}


def test_suite_option_accepts_a_zeroeval_folder_directly(tmp_path: Path) -> None:
    folder = _write_zeroeval(tmp_path)
    [benchmark] = load_suites(str(folder))
    assert benchmark.suite == "zeroeval_gsm8k"
    with pytest.raises(BenchmarkFormatError, match=r"no results for model 'gpt-9'.*has: "):
        convert_zeroeval(folder, models=["gpt-9", "big-model"])


def _write_mmlu_pro(root: Path) -> Path:
    root.mkdir(parents=True)
    questions = [("1", "What is 2+2?", "['3', '4', '5']", "B", "math"),
                 ("2", "Water is?", "['H2O', 'CO2']", "A", "chemistry"),
                 ("3", "Only some models saw this", "['a', 'b']", "A", "math")]
    outputs = {
        "small-lm": ["Let's think. The answer is (B).", "Hmm... answer: B", "The answer is (A)"],
        "large-lm": ["The answer is (B).", "The answer is A", None],
        "letters-only": [None, None, None],
    }
    preds = {"letters-only": ["B", None, "A"]}
    for model, texts in outputs.items():
        rows = []
        for (qid, q, options, answer, category), text, k in zip(questions, texts, range(3), strict=True):
            if model == "large-lm" and qid == "3":
                continue  # this model lacks one question
            pred = preds.get(model, [None] * 3)[k]
            rows.append({"question_id": qid, "question": q, "options": options, "answer": answer,
                         "answer_index": "0", "category": category, "src": "ori", "pred": pred,
                         "model_outputs": text})
        (root / f"{model}.jsonl.gz").write_bytes(gzip.compress("\n".join(json.dumps(r) for r in rows).encode()))
    return root


def test_mmlu_pro_files_convert_with_upstream_regexes(tmp_path: Path) -> None:
    assert mmlu_pro_answer("blah. The answer is (C).") == "C"
    assert mmlu_pro_answer("Final Answer: D") == "D"
    assert mmlu_pro_answer("so it must be E, clearly") == "E"  # the last capital A-J
    assert mmlu_pro_answer("no letters here") is None
    folder = _write_mmlu_pro(tmp_path / "mmlu-pro")
    assert is_mmlu_pro_layout(folder)
    [benchmark] = load_suites(str(folder))
    assert benchmark.suite == "mmlu_pro" and [i.id for i in benchmark.items] == ["mmlu-pro-1", "mmlu-pro-2"]
    assert "1 not answered by every model dropped" in benchmark.description
    first, second = benchmark.items
    assert first.turns[0].splitlines()[:4] == ["Question: What is 2+2?", "Options:", "A. 3", "B. 4"]
    assert first.category == "math" and first.reference == ("B",)
    assert [first.outcomes[m][0].score for m in ("small-lm", "large-lm", "letters-only")] == [1.0, 1.0, 1.0]
    assert [second.outcomes[m][0].score for m in ("small-lm", "large-lm", "letters-only")] == [0.0, 1.0, 0.0]
    assert first.outcomes["letters-only"][0].response is None  # graded on the recorded letter; no text
    assert ungradable_counts(benchmark)["letters-only"] == 1  # pred null: counted, scored 0


def test_tier_mappings_give_clear_errors(tmp_path: Path) -> None:
    [benchmark] = convert_zeroeval(_write_zeroeval(tmp_path))
    assert parse_tier_mapping("small=tiny-model, frontier=big-model") == {"small": "tiny-model",
                                                                          "frontier": "big-model"}
    mapped = map_tiers(benchmark, "small=tiny-model,mid=odd-model,frontier=big-model")
    assert mapped.tier_models == {"small": "tiny-model", "mid": "odd-model", "frontier": "big-model"}
    assert mapped.weak_model == "tiny-model" and mapped.strong_model == "big-model"
    assert list(replay_tiers(mapped).models) == ["small", "mid", "frontier"]
    remapped = map_tiers(mapped, {"small": "odd-model", "frontier": "tiny-model"})
    assert remapped.tier_models == {"small": "odd-model", "frontier": "tiny-model"}  # mid no longer plays
    with pytest.raises(BenchmarkFormatError, match="unknown model 'gpt-9' for tier 'mid'; the set records: "):
        map_tiers(benchmark, {"small": "tiny-model", "mid": "gpt-9"})
    with pytest.raises(BenchmarkFormatError, match="unknown tier 'huge'"):
        parse_tier_mapping("small=tiny-model,huge=big-model")
    with pytest.raises(BenchmarkFormatError, match="write TIER=MODEL"):
        parse_tier_mapping("small:tiny-model")
    with pytest.raises(BenchmarkFormatError, match="'big-model' is mapped to two tiers"):
        map_tiers(benchmark, {"small": "big-model", "frontier": "big-model"})
    with pytest.raises(BenchmarkFormatError, match="at least two tiers"):
        map_tiers(benchmark, {"small": "big-model"})
    with pytest.raises(BenchmarkFormatError, match=r"records 3 models .* but 0 play a tier.*--tiers"):
        check_playable(benchmark)


def test_a_set_whose_models_cannot_fill_tiers_is_refused_by_the_reader(tmp_path: Path) -> None:
    path = tmp_path / "one.jsonl"
    header = {"format_version": 1, "suite": "s", "scale": "binary", "models": {"a": {"tier": "small"}, "b": {}}}
    path.write_text(json.dumps(header) + "\n" + json.dumps({"id": "1", "turns": ["q"],
                                                            "outcomes": {"a": 1, "b": 0}}) + "\n")
    with pytest.raises(BenchmarkFormatError, match=r"records 2 models .* but 1 play a tier"):
        check_playable(read_benchmark_set(path))


def test_routellm_folder_without_contamination_list_warns(tmp_path: Path) -> None:
    root = write_routellm_layout(tmp_path / "evals")
    (root / "gsm8k" / "contaminated_prompts.jsonl").unlink()
    with pytest.warns(UserWarning, match="no contaminated_prompts.jsonl"):
        [gsm] = convert_routellm(root / "gsm8k")
    assert "no contamination list in the folder: nothing dropped" in gsm.description
    assert "0 contaminated" not in gsm.description


def test_bundled_three_tier_sets_load_with_their_default_mapping() -> None:
    for name in THREE_TIER_SUITES:
        benchmark = load_suite(name)
        assert benchmark.tier_models == dict(DEFAULT_TIER_MAPPINGS[name])
        assert len(benchmark.models) in (9, 11)
        tiers = replay_tiers(benchmark)
        prices = [tiers.prices[m][0] for m in tiers.models.values()]
        assert all(p is not None for p in prices)
        totals = [p.input_per_mtok + p.output_per_mtok for p in prices if p is not None]
        assert totals == sorted(totals) and len(set(totals)) == 3  # mapped by price: small < mid < frontier
        responses = [o[0].response for i in benchmark.items[:50] for o in i.outcomes.values()]
        assert sum(r is not None and len(r) > 20 for r in responses) > len(responses) / 4  # full answer texts


@pytest.mark.parametrize("task", ["gsm", "crux"])
def test_bundled_zeroeval_accuracy_matches_zeroeval_summary(task: str) -> None:
    summary_path = SHARED / "zeroeval" / f"{task}.summary.json"
    if not summary_path.exists():
        pytest.skip(f"ZeroEval's summary is not here ({summary_path}); set PERSONA_LAB_SHARED_DATA")
    summary = {r["Model"]: float(r["Acc"]) for r in json.loads(summary_path.read_text()) if r["Mode"] == "greedy"}
    benchmark = load_suite("zeroeval_gsm8k" if task == "gsm" else "zeroeval_crux")
    assert len(benchmark.models) == 11
    for model in benchmark.models:
        accuracy = 100 * sum(i.outcomes[model][0].score for i in benchmark.items) / len(benchmark)
        assert abs(accuracy - summary[model]) <= 1.5, (model, accuracy, summary[model])


def test_converting_the_upstream_zeroeval_folder_matches_its_summary() -> None:
    folder = SHARED / "zeroeval" / "crux"
    if not folder.exists():
        pytest.skip("the ZeroEval results are not here; set PERSONA_LAB_SHARED_DATA")
    summary = {r["Model"]: float(r["Acc"]) for r in json.loads((SHARED / "zeroeval" / "crux.summary.json").read_text())
               if r["Mode"] == "greedy"}
    [benchmark] = convert_zeroeval(folder, models=["gemma-2-9b-it", "gpt-4o-2024-08-06"])
    for model in benchmark.models:
        accuracy = 100 * sum(i.outcomes[model][0].score for i in benchmark.items) / len(benchmark)
        assert abs(accuracy - summary[model]) <= 1.5
