"""ZeroEval result folders (``result_dirs/<task>/<model>.json``) as benchmark sets, graded as ZeroEval does.

ZeroEval (WildEval/ZeroEval, Apache-2.0) asks every model to reason and then give a JSON block
with an ``answer`` field. Its evaluation (``src/evaluation/gsm_eval.py``, ``crux_eval.py`` and
``eval_utils.py``) reads the answer like this, and so does :func:`zeroeval_answer`:

1. the first complete ``{…}`` block of the output, parsed as JSON (newlines removed first);
2. else a regex for ``"answer": "…"`` (quotes optional);
3. else, for Llama-3.1 models, a ``\\boxed{…}`` value.

GSM8K: ``$`` and ``,`` are stripped, fractions evaluated, and the first number of the answer
must equal the first number of the reference. CRUXEval: the answer and the reference, as
strings with their outer quotes stripped (newlines in the answer written ``\\n``), must be equal.

An output with no answer ZeroEval can read is **ungradable**: it scores 0 (ZeroEval counts it
as not solved, in its denominator) and is counted: ``meta["ungradable"]`` lists the models per
item and :func:`ungradable_counts` sums them, so a report can say how many there were.
"""

from __future__ import annotations

import ast
import gzip
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from persona_lab.bench._format import BenchmarkItem, BenchmarkSet, ModelSpec, TurnOutcome
from persona_lab.core import BenchmarkFormatError
from persona_lab.tiers import Price

__all__ = [
    "ZEROEVAL_TASKS",
    "convert_zeroeval",
    "grade_zeroeval",
    "is_zeroeval_layout",
    "ungradable_counts",
    "zeroeval_answer",
]

ZEROEVAL_TASKS: Mapping[str, str] = MappingProxyType({"gsm": "zeroeval_gsm8k", "crux": "zeroeval_crux"})
"""ZeroEval task folder → suite name of the converted set."""

_DESCRIPTIONS = MappingProxyType({
    "gsm": "GSM8K test (grade-school maths word problems)",
    "crux": "CRUXEval (predict a Python function's output or input)",
})
_SUFFIXES = (".json.gz", ".json")


def _first_complete_json(text: str) -> dict[str, Any] | None:
    """ZeroEval's ``extract_first_complete_json``: the first balanced ``{…}``, parsed (or None)."""
    depth = 0
    start: int | None = None
    for i, char in enumerate(text):
        if char == "{":
            if start is None:
                start = i
            depth += 1
        elif char == "}" and depth:
            depth -= 1
            if depth == 0 and start is not None:
                try:
                    value = json.loads(text[start : i + 1].replace("\n", ""))
                except json.JSONDecodeError:
                    return None
                return value if isinstance(value, dict) else None
    return None


def _regex_answer(text: str) -> str | None:
    """ZeroEval's ``extract_values_from_json(..., allow_no_quotes=True)`` for the ``answer`` key."""
    for pattern, flags in (
        (r'"answer"\s*:\s*"([^"]*?)"', 0),
        (r'"answer"\s*:\s*"(.*?)"', re.DOTALL),
        (r'"answer"\s*:\s*([^,\s]*)', 0),
        (r"answer\s*:\s*([^,\s]*)", 0),
    ):
        match = re.search(pattern, text, flags)
        if match:
            return match.group(1)
    return None


def zeroeval_answer(output: str, model: str = "") -> Any | None:
    """The answer ZeroEval reads from one output (a str, number, list… as parsed), or None."""
    parsed = _first_complete_json(output)
    if parsed is not None and "answer" in parsed:
        return parsed["answer"]
    found = _regex_answer(output)
    if found is not None:
        return found
    if "Llama-3.1" in model and "boxed" in output:
        match = re.search(r"\\boxed{([\w\d]+)}", output)
        if match:
            return match.group(1)
    return None


def _arithmetic(node: ast.AST) -> float:
    """A number or + − × ÷ of numbers (what ZeroEval's ``eval`` of a fraction answer handles)."""
    if isinstance(node, ast.Expression):
        return _arithmetic(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _arithmetic(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
        left, right = _arithmetic(node.left), _arithmetic(node.right)
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        return left / right
    raise ValueError("not plain arithmetic")


def _sanitize_number(answer: str) -> str:
    """ZeroEval's ``santize_math_answers``: no ``$`` or ``,``; a fraction becomes its decimal value."""
    answer = answer.replace("$", "").strip().replace(",", "")
    if "/" in answer:
        try:
            return str(float(_arithmetic(ast.parse(answer, mode="eval"))))
        except (ValueError, SyntaxError, ZeroDivisionError, OverflowError, RecursionError):
            return answer
    return answer


_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def _gsm_correct(answer: Any, reference: str) -> bool:
    mine = _NUMBER.search(_sanitize_number(str(answer)))
    truth = _NUMBER.search(_sanitize_number(reference.replace("#", "").strip()))
    return bool(mine and truth and float(mine.group()) == float(truth.group()))


def _crux_correct(answer: Any, reference: str) -> bool:
    """ZeroEval's CRUXEval rule: both strings, outer quotes stripped (newlines escaped in the answer), equal."""
    mine = str(answer).strip("'\"").replace("\n", "\\n")
    truth = str(reference).strip("'\"")
    return mine == truth


def grade_zeroeval(task: str, output: str, reference: str, model: str = "") -> float | None:
    """1.0 / 0.0 as ZeroEval grades ``output`` for ``task`` (``gsm`` or ``crux``); None when ungradable."""
    if task not in ZEROEVAL_TASKS:
        raise BenchmarkFormatError(f"unknown ZeroEval task {task!r} (known: {', '.join(ZEROEVAL_TASKS)})",
                                   field="task")
    answer = zeroeval_answer(output, model)
    if answer is None:
        return None
    correct = _gsm_correct(answer, reference) if task == "gsm" else _crux_correct(answer, str(reference))
    return 1.0 if correct else 0.0


def _model_files(folder: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        for suffix in _SUFFIXES:
            if path.is_file() and path.name.endswith(suffix) and not path.name.endswith(".summary.json"):
                files[path.name[: -len(suffix)]] = path
    return files


def _task_of(folder: Path) -> str | None:
    name = folder.name.lower()
    return name if name in ZEROEVAL_TASKS else None


def is_zeroeval_layout(path: str | Path) -> bool:
    """A ZeroEval ``result_dirs/<task>`` folder (``gsm``/``crux`` with model files), or a folder holding them."""
    folder = Path(path)
    if not folder.is_dir():
        return False
    if _task_of(folder) is not None and _model_files(folder):
        return True
    return any(_task_of(sub) is not None and _model_files(sub) for sub in folder.iterdir() if sub.is_dir())


def _load(path: Path) -> list[dict[str, Any]]:
    try:
        raw = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
        data = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise BenchmarkFormatError(f"{path}: cannot read ZeroEval results: {exc}", source=str(path)) from exc
    if not isinstance(data, list):
        raise BenchmarkFormatError(f"{path}: expected a JSON list of results, got {type(data).__name__}",
                                   source=str(path))
    return data


def _prompt(row: Mapping[str, Any]) -> str:
    history = row.get("chat_history")
    if isinstance(history, list) and history and isinstance(history[-1], str) and history[-1].strip():
        return history[-1].strip()
    return str(row.get("question") or "").strip()


def _output(row: Mapping[str, Any]) -> str:
    output = row.get("output")
    if isinstance(output, list):
        return str(output[0]) if output else ""
    return "" if output is None else str(output)


def convert_zeroeval(
    folder: str | Path,
    *,
    models: Iterable[str] | None = None,
    prices: Mapping[str, Price] | None = None,
    tiers: Mapping[str, str] | None = None,
) -> list[BenchmarkSet]:
    """Convert a ZeroEval ``result_dirs/<task>`` folder (or ``result_dirs`` itself) into benchmark sets.

    One set per task folder (``gsm`` → ``zeroeval_gsm8k``, ``crux`` → ``zeroeval_crux``). Every
    model file becomes a recorded model (``models`` picks some); items are the questions every
    chosen model answered, the turn is the exact prompt ZeroEval sent, ``reference`` the
    reference answer, each outcome the graded score and the full answer text. Tokens are not
    recorded (the replay estimates them from the texts and marks the turn logs so). Prices:
    ``prices[model]`` when given (recorded in the set), else the model name is looked up in
    the offline genai-prices list. ``tiers`` (``{tier: model}``) is the default tier mapping
    written to the set; see :func:`persona_lab.bench.map_tiers`.
    """
    root = Path(folder)
    if not is_zeroeval_layout(root):
        raise BenchmarkFormatError(f"{root}: not a ZeroEval result folder (expected gsm/ or crux/ holding "
                                   "<model>.json files)", source=str(root))
    task_dirs = [root] if _task_of(root) else [sub for sub in sorted(root.iterdir())
                                                if sub.is_dir() and _task_of(sub) and _model_files(sub)]
    return [_convert_task(d, models=models, prices=prices or {}, tiers=tiers) for d in task_dirs]


def _convert_task(folder: Path, *, models: Iterable[str] | None, prices: Mapping[str, Price],
                  tiers: Mapping[str, str] | None) -> BenchmarkSet:
    task = _task_of(folder) or ""
    files = _model_files(folder)
    chosen = list(files) if models is None else list(models)
    unknown = [m for m in chosen if m not in files]
    if unknown:
        raise BenchmarkFormatError(f"{folder}: no results for model {unknown[0]!r}; the folder has: "
                                   f"{', '.join(files)}", source=str(folder), field="models")
    if len(chosen) < 2:
        raise BenchmarkFormatError(f"{folder}: a benchmark set needs at least two models, got {chosen}",
                                   source=str(folder), field="models")
    rows = {m: {str(r.get("id") or r.get("session_id")): r for r in _load(files[m])} for m in chosen}
    first = rows[chosen[0]]
    ids = [i for i in first if all(i in rows[m] for m in chosen)]
    items: list[BenchmarkItem] = []
    for item_id in ids:
        row = first[item_id]
        reference = str(row.get("answer", ""))
        truth = reference.replace("#", "").strip() if task == "gsm" else reference
        outcomes: dict[str, tuple[TurnOutcome, ...]] = {}
        ungradable: list[str] = []
        for model in chosen:
            text = _output(rows[model][item_id])
            score = grade_zeroeval(task, text, reference, model)
            if score is None:
                ungradable.append(model)
            outcomes[model] = (TurnOutcome(0.0 if score is None else score, text),)
        meta: dict[str, Any] = {"ungradable": ungradable} if ungradable else {}
        items.append(BenchmarkItem(id=item_id, suite=ZEROEVAL_TASKS[task], category=task, turns=(_prompt(row),),
                                   outcomes=outcomes, reference=(truth,), meta=meta))
    specs = {m: ModelSpec(name=m, tier=None, price=prices.get(m), price_ref=None if m in prices else m,
                          context_window=128_000) for m in chosen}
    counts = {m: sum(m in i.meta.get("ungradable", ()) for i in items) for m in chosen}
    n_ungradable = sum(counts.values())
    dropped = len(first) - len(ids)
    description = (
        f"ZeroEval {_DESCRIPTIONS[task]}: {len(items)} questions"
        + (f" ({dropped} not answered by every model dropped)" if dropped else "")
        + f", answers of {len(chosen)} models (temperature 0). Scores: 0/1 correctness, graded as ZeroEval "
        f"does; {n_ungradable} answers ungradable (no answer ZeroEval can read; scored 0, listed per item in "
        "meta.ungradable). Tokens are estimated from the texts."
    )
    benchmark = BenchmarkSet(
        suite=ZEROEVAL_TASKS[task], scale="binary", models=specs, items=tuple(items), description=description,
        source=f"ZeroEval result_dirs/{task} (WildEval/ZeroEval), converted by persona_lab.bench.convert_zeroeval",
        license="Apache-2.0 (ZeroEval); keep the licence and attribution", path=str(folder))
    if tiers:
        from persona_lab.bench._tier_mapping import map_tiers

        benchmark = map_tiers(benchmark, tiers)
    return benchmark


def ungradable_counts(benchmark: BenchmarkSet) -> dict[str, int]:
    """Per model, how many of its answers were ungradable (from the items' ``meta["ungradable"]``)."""
    counts = dict.fromkeys(benchmark.models, 0)
    for item in benchmark.items:
        for model in item.meta.get("ungradable", ()) or ():
            counts[model] = counts.get(model, 0) + 1
    return counts
