"""Per-turn overhead of ConversationLoop over one 2,000-turn conversation.

Scripted backend with instant answers (a test double: we measure the loop, not a model),
SQLite FTS5 memory, compaction on, an in-memory turn-log writer. Prints the median per-turn
overhead around turns 10, 100, 1000 and 2000, peak memory, and the cost of `import persona_lab`.
Target: ≤ 0.3 ms per turn at every point, flat.

    python benchmarks/loop_overhead.py [--turns 2000] [--trace]

``--trace`` wraps the writer in the OpenTelemetry sink (in-memory exporter) to price tracing when
it is on; without it the loop has no tracing at all (tracing is off unless configured).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def import_time() -> float:
    code = "import time; t = time.perf_counter(); import persona_lab; print(time.perf_counter() - t)"
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
            for _ in range(5)]
    return min(runs)


def make_writer(trace: bool) -> object:
    from persona_lab import InMemoryTurnLogWriter

    if not trace:
        return InMemoryTurnLogWriter()
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from persona_lab.tracing import OtelTurnLogSink, tracer_provider

    return OtelTurnLogSink(InMemoryTurnLogWriter(), tracer_provider=tracer_provider(InMemorySpanExporter()))


async def run(turns: int, trace: bool = False) -> tuple[list[float], int]:
    from persona_lab import ConversationLoop, FixedRouter, Persona, TierRegistry
    from persona_lab.core import ChatRequest, Usage
    from persona_lab.tiers import ModelConfig, Price, ScriptedBackend, ScriptedResponse

    answer = ScriptedResponse(
        "Under section 11 your landlord must repair it.", usage=Usage(input_tokens=120, output_tokens=12),
    )
    summary = ScriptedResponse(
        "The user asked about repairs, mould and deposits.", usage=Usage(input_tokens=300, output_tokens=20),
    )

    def script(request: ChatRequest) -> ScriptedResponse:
        return summary if "running summary" in request.system else answer

    backend = ScriptedBackend(script, chunk_chars=64)
    tiers = TierRegistry({
        "small": ModelConfig("scripted", "small", backend=backend, price=Price(0.15, 0.6)),
        "mid": ModelConfig("scripted", "mid", backend=backend, price=Price(1.0, 4.0)),
    })
    persona = Persona.from_yaml(ROOT / "examples" / "personas" / "tenancy_advisor.yaml")
    loop = ConversationLoop(persona, tiers, FixedRouter("mid"), writer=make_writer(trace))  # type: ignore[arg-type]
    conversation = loop.new_conversation()
    topics = ["mould in the bathroom", "my deposit", "a broken boiler", "a section 21 notice", "rent increase"]
    durations = []
    for i in range(turns):
        text = f"Question {i}: what should I do about {topics[i % len(topics)]}?"
        started = time.perf_counter()
        async for _ in loop.turn(conversation, text):
            pass
        durations.append(time.perf_counter() - started)
    return durations, conversation.turn_count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=2000)
    parser.add_argument("--trace", action="store_true", help="emit OpenTelemetry spans (in-memory exporter)")
    args = parser.parse_args()
    durations, done = asyncio.run(run(args.turns, args.trace))
    tracemalloc.start()  # a second pass: tracing slows Python down, so it is not timed
    asyncio.run(run(args.turns, args.trace))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"turns: {done}  tracing: {'on (in-memory exporter)' if args.trace else 'off'}")
    for point in (10, 100, 1000, 2000):
        if point > len(durations):
            continue
        window = durations[max(0, point - 10) : point + 10]
        print(f"median per-turn overhead near turn {point:>4}: {statistics.median(window) * 1e3:.3f} ms")
    print(f"median over all turns: {statistics.median(durations) * 1e3:.3f} ms")
    print(f"peak traced memory: {peak / 2**20:.1f} MiB")
    print(f"import persona_lab: {import_time() * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
