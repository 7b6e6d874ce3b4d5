"""MMLU-Pro model output files as a benchmark set, graded with MMLU-Pro's own answer extraction.

MMLU-Pro (TIGER-AI-Lab/MMLU-Pro, Apache-2.0) publishes each model's chain-of-thought answers
(``eval_results/model_outputs_<model>_5shots``): rows with ``question_id``, ``question``,
``options``, ``answer`` (the correct letter), ``category`` and ``model_outputs``. Its
``compute_accuracy.py`` reads the chosen letter with three regexes in turn, and so does
:func:`mmlu_pro_answer`: ``answer is (X)``, then ``Answer: X``, then the last capital A–J.

Some published files record only the parsed letter (``pred``) and no answer text
(``model_outputs`` null): those are graded on ``pred`` and replay a placeholder text. Where no
letter can be read (or ``pred`` is null), MMLU-Pro guesses a random letter; here the answer is
**ungradable**: it scores 0 and is counted (``meta["ungradable"]`` per item,
:func:`ungradable_counts`).
"""

from __future__ import annotations

import ast
import gzip
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from persona_lab.bench._format import BenchmarkItem, BenchmarkSet, ModelSpec, TurnOutcome
from persona_lab.core import BenchmarkFormatError
from persona_lab.tiers import Price

__all__ = ["MMLU_PRO_SUITE", "convert_mmlu_pro", "is_mmlu_pro_layout", "mmlu_pro_answer", "mmlu_pro_prompt"]

MMLU_PRO_SUITE = "mmlu_pro"
_LETTERS = "ABCDEFGHIJ"
_SUFFIXES = (".jsonl.gz", ".jsonl", ".json.gz", ".json")
_FIELDS = ("question_id", "question", "options", "answer", "model_outputs")


def mmlu_pro_answer(text: str) -> str | None:
    """The option letter MMLU-Pro's ``extract_answer`` reads from a model output, or None."""
    match = re.search(r"answer is \(?([A-J])\)?", text)
    if match:
        return match.group(1)
    match = re.search(r".*[aA]nswer:\s*([A-J])", text)
    if match:
        return match.group(1)
    match = re.search(r"[A-J](?=[^A-J]*$)", text)
    return match.group(0) if match else None


def _letter(value: Any) -> str | None:
    return value if isinstance(value, str) and len(value) == 1 and value in _LETTERS else None


def _options(raw: Any) -> list[str]:
    if isinstance(raw, list):
        return [str(o) for o in raw]
    if isinstance(raw, str):
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            return [raw]
        if isinstance(value, (list, tuple)):
            return [str(o) for o in value]
    return []


def mmlu_pro_prompt(question: str, options: Any) -> str:
    """The user turn of an item: the question and its lettered options, as MMLU-Pro shows them."""
    lines = [f"Question: {question.strip()}", "Options:"]
    lines += [f"{_LETTERS[k]}. {option}" for k, option in enumerate(_options(options)[: len(_LETTERS)])]
    lines.append("Answer: Let's think step by step.")
    return "\n".join(lines)


def _model_name(path: Path) -> str:
    name = path.name
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return name.removeprefix("model_outputs_").removesuffix("_5shots")


def _model_sources(folder: Path) -> dict[str, list[Path]]:
    """Model name → its files: one file per model, or a sub-folder per model (an unzipped archive)."""
    sources: dict[str, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.name.endswith(_SUFFIXES) and "summary" not in path.name:
            sources.setdefault(_model_name(path), []).append(path)
        elif path.is_dir():
            files = [p for p in sorted(path.rglob("*")) if p.is_file() and p.name.endswith(_SUFFIXES)
                     and "summary" not in p.name]
            if files:
                sources.setdefault(_model_name(path), []).extend(files)
    return sources


def _rows(path: Path) -> list[dict[str, Any]]:
    try:
        raw = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
        text = raw.decode("utf-8")
        if ".jsonl" in path.name:
            rows = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            data = json.loads(text)
            rows = data if isinstance(data, list) else [data]
    except (OSError, ValueError) as exc:
        raise BenchmarkFormatError(f"{path}: cannot read MMLU-Pro outputs: {exc}", source=str(path)) from exc
    return [r for r in rows if isinstance(r, dict)]


def _looks_like_outputs(path: Path) -> bool:
    rows = _rows(path)
    return bool(rows) and all(f in rows[0] for f in _FIELDS)


def is_mmlu_pro_layout(path: str | Path) -> bool:
    """A folder of MMLU-Pro model output files (rows with ``question_id``, ``options``, ``model_outputs``…)."""
    folder = Path(path)
    if not folder.is_dir():
        return False
    sources = _model_sources(folder)
    if len(sources) < 2:
        return False
    first = next(iter(sources.values()))[0]
    return _looks_like_outputs(first)


def convert_mmlu_pro(
    folder: str | Path,
    *,
    models: Iterable[str] | None = None,
    prices: Mapping[str, Price] | None = None,
    tiers: Mapping[str, str] | None = None,
) -> BenchmarkSet:
    """Convert a folder of MMLU-Pro output files (one per model) into one benchmark set ``mmlu_pro``.

    Items are the questions every chosen model answered (joined on ``question_id``; the count
    of dropped ones is in the description), category = MMLU-Pro subject, the turn is the
    question with its options, ``reference`` the correct letter, each outcome the graded score
    and the full answer text. Tokens are not recorded (estimated from the texts by the replay).
    ``prices``/``tiers`` as in :func:`persona_lab.bench.convert_zeroeval`.
    """
    root = Path(folder)
    sources = _model_sources(root) if root.is_dir() else {}
    if len(sources) < 2 or not _looks_like_outputs(next(iter(sources.values()))[0]):
        raise BenchmarkFormatError(f"{root}: not a folder of MMLU-Pro output files (at least two models, rows with "
                                   f"{', '.join(_FIELDS)})", source=str(root))
    chosen = list(sources) if models is None else list(models)
    unknown = [m for m in chosen if m not in sources]
    if unknown:
        raise BenchmarkFormatError(f"{root}: no outputs for model {unknown[0]!r}; the folder has: "
                                   f"{', '.join(sources)}", source=str(root), field="models")
    prices = prices or {}
    by_model: dict[str, dict[str, dict[str, Any]]] = {}
    for model in chosen:
        rows: dict[str, dict[str, Any]] = {}
        for path in sources[model]:
            for row in _rows(path):
                rows[str(row.get("question_id"))] = row
        by_model[model] = rows
    first = by_model[chosen[0]]
    every = sorted(set.intersection(*(set(r) for r in by_model.values())), key=_id_key)
    items: list[BenchmarkItem] = []
    for qid in every:
        row = first[qid]
        truth = str(row.get("answer", "")).strip()
        outcomes: dict[str, tuple[TurnOutcome, ...]] = {}
        ungradable: list[str] = []
        for model in chosen:
            record = by_model[model][qid]
            text = record.get("model_outputs")
            text = text if isinstance(text, str) and text.strip() and text != "None" else None
            letter = mmlu_pro_answer(text) if text is not None else _letter(record.get("pred"))
            if letter is None:
                ungradable.append(model)
            outcomes[model] = (TurnOutcome(1.0 if letter is not None and letter == truth else 0.0, text),)
        meta: dict[str, Any] = {"src": row.get("src")} if row.get("src") else {}
        if ungradable:
            meta["ungradable"] = ungradable
        items.append(BenchmarkItem(id=f"mmlu-pro-{qid}", suite=MMLU_PRO_SUITE, category=str(row.get("category", "")),
                                   turns=(mmlu_pro_prompt(str(row.get("question", "")), row.get("options")),),
                                   outcomes=outcomes, reference=(truth,), meta=meta))
    union = set().union(*(set(r) for r in by_model.values()))
    n_ungradable = sum(len(i.meta.get("ungradable", ())) for i in items)
    categories = sorted({i.category for i in items})
    description = (
        f"MMLU-Pro, {len(items)} questions in {len(categories)} subjects ({len(union) - len(items)} not answered by "
        f"every model dropped), chain-of-thought answers of {len(chosen)} models. Scores: 0/1 correctness, graded "
        f"with MMLU-Pro's answer-extraction regexes; {n_ungradable} answers ungradable (no option letter found; "
        "scored 0, listed per item in meta.ungradable). Tokens are estimated from the texts (the 5-shot prompt "
        "is not recorded)."
    )
    specs = {m: ModelSpec(name=m, tier=None, price=prices.get(m), price_ref=None if m in prices else m,
                          context_window=128_000) for m in chosen}
    benchmark = BenchmarkSet(
        suite=MMLU_PRO_SUITE, scale="binary", models=specs, items=tuple(items), description=description,
        source="MMLU-Pro eval_results model outputs (TIGER-AI-Lab/MMLU-Pro), converted by "
               "persona_lab.bench.convert_mmlu_pro",
        license="Apache-2.0 (MMLU-Pro); keep the licence and attribution", path=str(root))
    if tiers:
        from persona_lab.bench._tier_mapping import map_tiers

        benchmark = map_tiers(benchmark, tiers)
    return benchmark


def _id_key(qid: str) -> tuple[int, str]:
    return (int(qid), "") if qid.isdigit() else (1 << 62, qid)
