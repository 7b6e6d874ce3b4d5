"""Regenerate the benchmark sets bundled in ``persona_lab/data/benchmarks/`` from RouteLLM's files.

    python benchmarks/build_bundled_sets.py [--source ../shared/data/routellm] [--keep-contaminated]

Writes ``gsm8k.jsonl.gz``, ``mmlu.jsonl.gz`` and ``mt_bench.jsonl.gz`` (deterministic gzip, so an
unchanged source gives byte-identical files) and prints what it wrote.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from persona_lab.bench import convert_routellm, write_benchmark_set

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "routellm"
TARGET = ROOT / "persona_lab" / "data" / "benchmarks"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="RouteLLM evals folder")
    parser.add_argument("--out", type=Path, default=TARGET, help="where the .jsonl.gz files go")
    parser.add_argument("--keep-contaminated", action="store_true", help="keep the contaminated prompts")
    args = parser.parse_args()
    for benchmark in convert_routellm(args.source, drop_contaminated=not args.keep_contaminated):
        path = write_benchmark_set(benchmark, args.out / f"{benchmark.suite}.jsonl.gz")
        size = path.stat().st_size / 1024
        print(f"{path}: {len(benchmark)} items, {benchmark.n_turns} turns, {size:,.0f} KiB")


if __name__ == "__main__":
    main()
