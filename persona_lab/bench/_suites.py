"""Finding suites: the sets bundled in the package, a set file, or a RouteLLM, ZeroEval or MMLU-Pro folder."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path

from persona_lab.bench._format import BenchmarkSet, read_benchmark_set
from persona_lab.bench._mmlu_pro import convert_mmlu_pro, is_mmlu_pro_layout
from persona_lab.bench._routellm import convert_routellm, is_routellm_layout
from persona_lab.bench._zeroeval import convert_zeroeval, is_zeroeval_layout
from persona_lab.core import BenchmarkFormatError

__all__ = ["BUNDLED_SUITES", "THREE_TIER_SUITES", "bundled_suite_path", "load_suite", "load_suites"]

BUNDLED_SUITES = ("gsm8k", "mmlu", "mt_bench")
"""The two-model sets shipped in ``persona_lab/data/benchmarks`` (from RouteLLM's evaluation data):
the default suites of ``compare`` and ``persona-lab bench``."""

THREE_TIER_SUITES = ("zeroeval_gsm8k", "zeroeval_crux", "mmlu_pro")
"""The multi-model sets shipped alongside (ZeroEval: 11 models, MMLU-Pro: 9), each with a default
small/mid/frontier mapping; ``persona-lab bench --preset three-tier`` runs them."""

_ALL_BUNDLED = BUNDLED_SUITES + THREE_TIER_SUITES


def bundled_suite_path(name: str) -> Path:
    """Path of a bundled set (:data:`BUNDLED_SUITES` and :data:`THREE_TIER_SUITES`)."""
    if name not in _ALL_BUNDLED:
        raise BenchmarkFormatError(f"no bundled suite {name!r} (bundled: {', '.join(_ALL_BUNDLED)})",
                                   source=name)
    path = Path(str(resources.files("persona_lab") / "data" / "benchmarks" / f"{name}.jsonl.gz"))
    if not path.exists():
        raise BenchmarkFormatError(
            f"the bundled suite file {path} is missing; rebuild it with benchmarks/build_bundled_sets.py",
            source=str(path))
    return path


def load_suites(spec: str | Path | BenchmarkSet | Iterable[str | Path | BenchmarkSet] | None = None,
                ) -> list[BenchmarkSet]:
    """Sets named by ``spec``: a bundled name, a set file, a RouteLLM, ZeroEval (``result_dirs/<task>``)
    or MMLU-Pro (model output files) folder, or several of those.

    ``None`` means the bundled two-model suites (:data:`BUNDLED_SUITES`).
    """
    if spec is None:
        return [read_benchmark_set(bundled_suite_path(name)) for name in BUNDLED_SUITES]
    if isinstance(spec, (str, Path, BenchmarkSet)):
        specs: Sequence[str | Path | BenchmarkSet] = [spec]
    else:
        specs = list(spec)
    result: list[BenchmarkSet] = []
    for one in specs:
        if isinstance(one, BenchmarkSet):
            result.append(one)
        elif isinstance(one, str) and one in _ALL_BUNDLED and not Path(one).exists():
            result.append(read_benchmark_set(bundled_suite_path(one)))
        else:
            path = Path(one)
            if path.is_dir():
                result.extend(_convert_folder(path))
            elif path.exists():
                result.append(read_benchmark_set(path))
            else:
                raise BenchmarkFormatError(f"{one}: no such suite file, folder or bundled suite "
                                           f"(bundled: {', '.join(_ALL_BUNDLED)})", source=str(one))
    return result


def _convert_folder(path: Path) -> list[BenchmarkSet]:
    if is_routellm_layout(path):
        return convert_routellm(path)
    if is_zeroeval_layout(path):
        return convert_zeroeval(path)
    if is_mmlu_pro_layout(path):
        return [convert_mmlu_pro(path)]
    raise BenchmarkFormatError(f"{path}: a folder must use RouteLLM's evals layout (gsm8k/, mmlu/, mt_bench/), "
                               "ZeroEval's result_dirs/<task> layout (gsm/ or crux/ with <model>.json files) or "
                               "hold MMLU-Pro model output files", source=str(path))


def load_suite(spec: str | Path | BenchmarkSet) -> BenchmarkSet:
    """Exactly one set (see :func:`load_suites`)."""
    sets = load_suites(spec)
    if len(sets) != 1:
        raise BenchmarkFormatError(f"{spec}: holds {len(sets)} suites; pick one", source=str(spec))
    return sets[0]
