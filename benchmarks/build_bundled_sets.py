"""Regenerate the benchmark sets bundled in ``persona_lab/data/benchmarks/`` from the shared source data.

    python benchmarks/build_bundled_sets.py [--source ../shared/data/routellm] [--keep-contaminated]
                                            [--zeroeval ../shared/data/zeroeval] [--mmlu-pro ../shared/data/mmlu-pro]

Writes ``gsm8k.jsonl.gz``, ``mmlu.jsonl.gz`` and ``mt_bench.jsonl.gz`` (RouteLLM, two models) and the
multi-model sets ``zeroeval_gsm8k.jsonl.gz``, ``zeroeval_crux.jsonl.gz`` (ZeroEval, 11 models) and
``mmlu_pro.jsonl.gz`` (MMLU-Pro, 9 models) with their documented default tier mappings (deterministic
gzip, so an unchanged source gives byte-identical files) and prints what it wrote, with each model's
accuracy, ungradable answers and price.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from persona_lab.bench import (
    DEFAULT_TIER_MAPPINGS,
    BenchmarkSet,
    convert_mmlu_pro,
    convert_routellm,
    convert_zeroeval,
    ungradable_counts,
    write_benchmark_set,
)
from persona_lab.tiers import Price

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
TARGET = ROOT / "persona_lab" / "data" / "benchmarks"

RECORDED_PRICES: dict[str, Price] = {
    # open-weight models genai-prices does not know by their plain name: its OpenRouter entry
    # (genai-prices 0.2.3), USD per million input / output tokens
    "Meta-Llama-3.1-8B-Instruct": Price(0.05, 0.08),  # openrouter meta-llama/llama-3.1-8b-instruct
    "Meta-Llama-3_1-8B-Instruct": Price(0.05, 0.08),
    "Meta-Llama-3.1-70B-Instruct": Price(0.72, 0.72),  # openrouter meta-llama/llama-3.1-70b-instruct
    "Meta-Llama-3_1-70B-Instruct": Price(0.72, 0.72),
    "Qwen2-72B-Instruct": Price(0.9, 0.9),  # openrouter qwen/qwen-2-72b-instruct
    "gemma-2-9b-it": Price(0.07, 0.07),  # openrouter google/gemma-2-9b-it
    "Mistral-7B-Instruct-v0.2": Price(0.2, 0.2),  # openrouter mistralai/mistral-7b-instruct-v0.2
    "Phi-3-mini-4k-instruct": Price(0.1, 0.1),  # openrouter microsoft/phi-3-mini-128k-instruct
    "jamba-1.5-large": Price(2.0, 8.0),  # openrouter ai21/jamba-1-5-large
    # not in genai-prices at all: Together AI's 2024 list price for Qwen1.5-72B-Chat
    "Qwen1.5-72B-Chat": Price(0.9, 0.9),
}
"""Prices recorded in the bundled sets; every other model is priced by genai-prices from its name."""


def _report(benchmark: BenchmarkSet, path: Path) -> None:
    size = path.stat().st_size / 1024
    print(f"{path}: {len(benchmark)} items, {benchmark.n_turns} turns, {len(benchmark.models)} models, "
          f"{size:,.0f} KiB")
    if len(benchmark.models) <= 2:
        return
    bad = ungradable_counts(benchmark)
    for model, spec in benchmark.models.items():
        accuracy = sum(i.outcomes[model][0].score for i in benchmark.items) / len(benchmark)
        price = spec.price
        priced = f"${price.input_per_mtok:g}/${price.output_per_mtok:g} recorded" if price else "genai-prices"
        print(f"  {spec.tier or '-':<9} {model:<30} accuracy {accuracy:6.1%}  ungradable {bad[model]:5d}  {priced}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SHARED / "routellm", help="RouteLLM evals folder")
    parser.add_argument("--zeroeval", type=Path, default=SHARED / "zeroeval", help="ZeroEval result_dirs folder")
    parser.add_argument("--mmlu-pro", type=Path, default=SHARED / "mmlu-pro", help="MMLU-Pro model outputs folder")
    parser.add_argument("--out", type=Path, default=TARGET, help="where the .jsonl.gz files go")
    parser.add_argument("--keep-contaminated", action="store_true", help="keep the contaminated prompts")
    parser.add_argument("--only", choices=("routellm", "zeroeval", "mmlu-pro"), action="append",
                        help="build only these sources (repeat; default: all)")
    args = parser.parse_args()
    only = set(args.only or ("routellm", "zeroeval", "mmlu-pro"))
    sets: list[BenchmarkSet] = []
    if "routellm" in only:
        sets += convert_routellm(args.source, drop_contaminated=not args.keep_contaminated)
    if "zeroeval" in only:
        for benchmark in convert_zeroeval(args.zeroeval, prices=RECORDED_PRICES):
            sets.append(benchmark.with_tiers(DEFAULT_TIER_MAPPINGS[benchmark.suite]))
    if "mmlu-pro" in only:
        benchmark = convert_mmlu_pro(args.mmlu_pro, prices=RECORDED_PRICES)
        sets.append(benchmark.with_tiers(DEFAULT_TIER_MAPPINGS[benchmark.suite]))
    for benchmark in sets:
        path = write_benchmark_set(benchmark, args.out / f"{benchmark.suite}.jsonl.gz")
        _report(benchmark, path)


if __name__ == "__main__":
    main()
