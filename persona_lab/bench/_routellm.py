"""Converters from RouteLLM's evaluation layout (``routellm/evals/``) to benchmark sets.

GSM8K (responses and 0/1 correctness), MMLU (0/1 correctness, no response text) and MT Bench
(two-turn questions, per-turn judge grades 1–10 whose judge prompts contain the answers).
Contaminated prompts (those also in Chatbot Arena training data) are dropped by default, as
RouteLLM's own evaluation does.
"""

from __future__ import annotations

import csv
import json
import re
import sys
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from persona_lab.bench._format import BenchmarkItem, BenchmarkSet, ModelSpec, TurnOutcome
from persona_lab.core import BenchmarkFormatError

__all__ = [
    "ROUTELLM_STRONG",
    "ROUTELLM_SUITES",
    "ROUTELLM_WEAK",
    "convert_gsm8k",
    "convert_mmlu",
    "convert_mt_bench",
    "convert_routellm",
    "is_routellm_layout",
]

ROUTELLM_STRONG = "gpt-4-1106-preview"
ROUTELLM_WEAK = "mistralai/Mixtral-8x7B-Instruct-v0.1"
ROUTELLM_SUITES = ("gsm8k", "mmlu", "mt_bench")

_SOURCE = (
    "RouteLLM evaluation data (lm-sys/RouteLLM, routellm/evals/), Apache License 2.0; MT Bench "
    "reference answers from instructlab/eval (src/instructlab/eval/data/mt_bench/reference_answer/"
    "gpt-4.jsonl), Apache License 2.0. Converted by persona-lab."
)
_MODELS = MappingProxyType({
    ROUTELLM_WEAK: ModelSpec(ROUTELLM_WEAK, tier="small", role="weak", price_ref="mixtral-8x7b-instruct",
                             context_window=32_768),
    ROUTELLM_STRONG: ModelSpec(ROUTELLM_STRONG, tier="frontier", role="strong", price_ref="gpt-4-1106-preview",
                               context_window=128_000),
})
MMLU_PLACEHOLDER = "[replay placeholder: the MMLU record keeps no answer text, only whether it was correct]"
MT_BENCH_PLACEHOLDER = "[replay placeholder: the answer text could not be recovered from the judge prompt]"

_MARK_1 = ("[The Start of Assistant's Answer]\n", "\n[The End of Assistant's Answer]")
_MARK_2 = ("\n\n### Assistant A:\n", "\n\n<|The End of Assistant A's Conversation with User|>")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_HASHES = re.compile(r"####\s*\$?\s*(-?[\d,]*\.?\d+)")


def is_routellm_layout(path: str | Path) -> bool:
    """True for a RouteLLM ``evals`` folder (or one suite folder of it)."""
    path = Path(path)
    if not path.is_dir():
        return False
    return any((path / s).is_dir() for s in ROUTELLM_SUITES) or _suite_of(path) is not None


def _suite_of(path: Path) -> str | None:
    if (path / "gsm8k_responses.csv").exists():
        return "gsm8k"
    if any(path.glob("mmlu_*.csv")) or (path / "responses").is_dir():
        return "mmlu"
    if (path / "judgements.jsonl").exists() and (path / "question.jsonl").exists():
        return "mt_bench"
    return None


def convert_routellm(
    root: str | Path, *, suites: Iterable[str] | None = None, drop_contaminated: bool = True
) -> list[BenchmarkSet]:
    """Every suite found under ``root`` (a RouteLLM ``evals`` folder or one suite's folder)."""
    root = Path(root)
    converters = {"gsm8k": convert_gsm8k, "mmlu": convert_mmlu, "mt_bench": convert_mt_bench}
    single = _suite_of(root)
    if single is not None:
        return [converters[single](root, drop_contaminated=drop_contaminated)]
    wanted = list(suites or ROUTELLM_SUITES)
    found = [s for s in wanted if (root / s).is_dir()]
    if not found:
        raise BenchmarkFormatError(f"{root}: not a RouteLLM evals folder (expected {', '.join(ROUTELLM_SUITES)} "
                                   "sub-folders, or one of their files)", source=str(root))
    return [converters[s](root / s, drop_contaminated=drop_contaminated) for s in found]


def _contaminated(folder: Path) -> set[str]:
    """The prompts RouteLLM's contamination list names; a warning when the folder has no list."""
    path = folder / "contaminated_prompts.jsonl"
    if not path.exists():
        warnings.warn(f"{folder}: no contaminated_prompts.jsonl, so no contaminated prompts can be dropped "
                      "(RouteLLM's evaluation drops them); the set keeps every prompt", UserWarning, stacklevel=3)
        return set()
    with path.open(encoding="utf-8") as handle:
        return {json.loads(line)["eval_prompt"] for line in handle if line.strip()}


def _dropped(count: int, listed: bool | None, what: str = "contaminated prompts") -> str:
    if listed is None:
        return "contaminated prompts kept"
    if listed:
        return f"{count} {what} dropped as RouteLLM does"
    return "no contamination list in the folder: nothing dropped"


def _read_csv(path: Path) -> list[dict[str, str]]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _flag(row: Mapping[str, str], column: str, path: Path, line: int) -> float:
    value = row.get(column)
    if value not in ("True", "False"):
        raise BenchmarkFormatError(f"{path}:{line}: field {column!r}: expected True or False, got {value!r}",
                                   source=str(path), line=line, field=column)
    return 1.0 if value == "True" else 0.0


def _final_number(text: str) -> str | None:
    """The final number of a GSM8K answer: after ``####`` if present, else the last number."""
    match = _HASHES.search(text)
    raw = match.group(1) if match else (_NUMBER.findall(text) or [None])[-1]
    if raw is None:
        return None
    raw = raw.replace(",", "").rstrip(".")
    try:
        value = float(raw)
    except ValueError:
        return None
    return str(int(value)) if value.is_integer() else str(value)


def _set(suite: str, scale: str, description: str, items: list[BenchmarkItem]) -> BenchmarkSet:
    return BenchmarkSet(suite=suite, scale=scale, models=dict(_MODELS), items=tuple(items),
                        description=description, source=_SOURCE, license="Apache-2.0")


def convert_gsm8k(folder: str | Path, *, drop_contaminated: bool = True) -> BenchmarkSet:
    """GSM8K: 1,319 grade-school maths questions, both models' answers and 0/1 correctness.

    The record has no answer key; ``reference`` is the final number of a response the record
    marks correct (GPT-4's first), and is missing when neither model was right.
    """
    folder = Path(folder)
    path = folder / "gsm8k_responses.csv"
    rows = _read_csv(path)
    dropped = _contaminated(folder) if drop_contaminated else set()
    listed = (folder / "contaminated_prompts.jsonl").exists() if drop_contaminated else None
    items = []
    for index, row in enumerate(rows):
        prompt = row.get("prompt") or ""
        if not prompt.strip():
            raise BenchmarkFormatError(f"{path}: row {index + 1}: field 'prompt' is empty", source=str(path),
                                       line=index + 2, field="prompt")
        if prompt in dropped:
            continue
        outcomes: dict[str, tuple[TurnOutcome, ...]] = {}
        reference = None
        for model in (ROUTELLM_STRONG, ROUTELLM_WEAK):
            score = _flag(row, model, path, index + 2)
            response = row.get(f"{model}_response") or ""
            outcomes[model] = (TurnOutcome(score, response),)
            if reference is None and score == 1.0:
                reference = _final_number(response)
        items.append(BenchmarkItem(f"gsm8k-{index:04d}", "gsm8k", "math", (prompt,),
                                   {m: outcomes[m] for m in _MODELS}, (reference,) if reference else ()))
    description = (f"GSM8K, {len(items)} of {len(rows)} questions ({_dropped(len(rows) - len(items), listed)}). "
                   "Scores: 0/1 correctness graded by RouteLLM. reference: the final "
                   "number of a response graded correct (GPT-4's first), absent when neither was correct.")
    return _set("gsm8k", "binary", description, items)


def convert_mmlu(folder: str | Path, *, drop_contaminated: bool = True) -> BenchmarkSet:
    """MMLU: every ``mmlu_<subject>.csv`` found (subject = category), 0/1 correctness only.

    No response text is recorded; the replay answers with a marked placeholder and counts one
    output token (the answers are a single letter).
    """
    folder = Path(folder)
    files = sorted(folder.glob("mmlu_*.csv")) or sorted((folder / "responses").glob("mmlu_*.csv"))
    if not files:
        raise BenchmarkFormatError(f"{folder}: no mmlu_<subject>.csv files", source=str(folder))
    dropped = _contaminated(folder) if drop_contaminated else set()
    listed = (folder / "contaminated_prompts.jsonl").exists() if drop_contaminated else None
    items = []
    total = 0
    for path in files:
        subject = path.stem.removeprefix("mmlu_")
        for index, row in enumerate(_read_csv(path)):
            total += 1
            prompt = row.get("prompt") or ""
            if not prompt.strip():
                raise BenchmarkFormatError(f"{path}:{index + 2}: field 'prompt' is empty", source=str(path),
                                           line=index + 2, field="prompt")
            if prompt in dropped:
                continue
            outcomes = {m: (TurnOutcome(_flag(row, m, path, index + 2), None, None, 1),) for m in _MODELS}
            items.append(BenchmarkItem(f"mmlu-{subject}-{index:04d}", "mmlu", subject, (prompt,), outcomes))
    description = (f"MMLU, {len(files)} subjects, {len(items)} of {total} questions "
                   f"({_dropped(total - len(items), listed)}). Scores: 0/1 correctness. No answer text is "
                   "recorded: responses are absent (the replay streams a marked placeholder) and output_tokens "
                   "is 1 (answers are a single letter).")
    return _set("mmlu", "binary", description, items)


def _answers_from_judge(prompt: str, turn: int) -> str | None:
    start, end = _MARK_1 if turn == 1 else _MARK_2
    stop = prompt.rfind(end)
    begin = prompt.rfind(start, 0, stop if stop >= 0 else None)
    if stop < 0 or begin < 0:
        return None
    return prompt[begin + len(start) : stop]


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def convert_mt_bench(folder: str | Path, *, drop_contaminated: bool = True) -> BenchmarkSet:
    """MT Bench: two-turn questions with per-turn GPT-4 judge grades (1–10) for both models.

    Each answer's text is recovered from the judge prompt that quotes it; a judgement with no
    grade (score -1) or a question missing a judgement is an error naming the question.
    """
    folder = Path(folder)
    questions = _read_jsonl(folder / "question.jsonl")
    judgements = _read_jsonl(folder / "judgements.jsonl")
    references: dict[int, list[str]] = {}
    ref_path = folder / "reference_answer_gpt-4.jsonl"
    if ref_path.exists():
        for row in _read_jsonl(ref_path):
            references[int(row["question_id"])] = list(row["choices"][0]["turns"])
    dropped = _contaminated(folder) if drop_contaminated else set()
    listed = (folder / "contaminated_prompts.jsonl").exists() if drop_contaminated else None
    grades: dict[tuple[int, str, int], tuple[float, str | None]] = {}
    for row in judgements:
        grades[(int(row["question_id"]), row["model"], int(row["turn"]))] = (
            float(row["score"]), _answers_from_judge(row["user_prompt"], int(row["turn"])))
    items = []
    for q in questions:
        qid = int(q["question_id"])
        turns = tuple(q["turns"])
        if any(t in dropped for t in turns):
            continue
        outcomes = {}
        for model in _MODELS:
            per_turn = []
            for k in range(1, len(turns) + 1):
                if (qid, model, k) not in grades:
                    raise BenchmarkFormatError(f"{folder / 'judgements.jsonl'}: no judgement for question {qid}, "
                                               f"model {model!r}, turn {k}", source=str(folder), field="score")
                score, response = grades[(qid, model, k)]
                if score < 0:
                    raise BenchmarkFormatError(f"{folder / 'judgements.jsonl'}: question {qid}, model {model!r}, "
                                               f"turn {k}: the judge gave no grade (score {score:g})",
                                               source=str(folder), field="score")
                per_turn.append(TurnOutcome(score, response if response is not None else MT_BENCH_PLACEHOLDER))
            outcomes[model] = tuple(per_turn)
        reference = tuple(references.get(qid, ()))
        items.append(BenchmarkItem(f"mt_bench-{qid}", "mt_bench", q.get("category", ""), turns, outcomes, reference))
    description = (f"MT Bench, {len(items)} of {len(questions)} two-turn questions "
                   f"({_dropped(len(questions) - len(items), listed, 'questions with contaminated prompts')}). "
                   "Scores: GPT-4 judge grades 1–10 per turn "
                   "(single-answer grading); responses recovered from the judge prompts; references (maths, "
                   "reasoning, coding) from instructlab/eval.")
    return _set("mt_bench", "grade-1-10", description, items)
