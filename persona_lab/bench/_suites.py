"""Finding suites: the sets bundled in the package, a set file, or a RouteLLM-layout folder."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path

from persona_lab.bench._format import BenchmarkSet, read_benchmark_set
from persona_lab.bench._routellm import convert_routellm, is_routellm_layout
from persona_lab.core import BenchmarkFormatError

__all__ = ["BUNDLED_SUITES", "bundled_suite_path", "load_suite", "load_suites"]

BUNDLED_SUITES = ("gsm8k", "mmlu", "mt_bench")
"""The sets shipped in ``persona_lab/data/benchmarks`` (converted from RouteLLM's evaluation data)."""


def bundled_suite_path(name: str) -> Path:
    """Path of a bundled set (``gsm8k``, ``mmlu``, ``mt_bench``)."""
    if name not in BUNDLED_SUITES:
        raise BenchmarkFormatError(f"no bundled suite {name!r} (bundled: {', '.join(BUNDLED_SUITES)})",
                                   source=name)
    path = Path(str(resources.files("persona_lab") / "data" / "benchmarks" / f"{name}.jsonl.gz"))
    if not path.exists():
        raise BenchmarkFormatError(
            f"the bundled suite file {path} is missing; rebuild it with benchmarks/build_bundled_sets.py",
            source=str(path))
    return path


def load_suites(spec: str | Path | BenchmarkSet | Iterable[str | Path | BenchmarkSet] | None = None,
                ) -> list[BenchmarkSet]:
    """Sets named by ``spec``: a bundled name, a set file, a RouteLLM folder, or several of those.

    ``None`` means every bundled suite.
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
        elif isinstance(one, str) and one in BUNDLED_SUITES and not Path(one).exists():
            result.append(read_benchmark_set(bundled_suite_path(one)))
        else:
            path = Path(one)
            if path.is_dir():
                if not is_routellm_layout(path):
                    raise BenchmarkFormatError(f"{path}: a folder must use RouteLLM's evals layout "
                                               "(gsm8k/, mmlu/, mt_bench/)", source=str(path))
                result.extend(convert_routellm(path))
            elif path.exists():
                result.append(read_benchmark_set(path))
            else:
                raise BenchmarkFormatError(f"{one}: no such suite file, folder or bundled suite "
                                           f"(bundled: {', '.join(BUNDLED_SUITES)})", source=str(one))
    return result


def load_suite(spec: str | Path | BenchmarkSet) -> BenchmarkSet:
    """Exactly one set (see :func:`load_suites`)."""
    sets = load_suites(spec)
    if len(sets) != 1:
        raise BenchmarkFormatError(f"{spec}: holds {len(sets)} suites; pick one", source=str(spec))
    return sets[0]
