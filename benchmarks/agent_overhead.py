"""Per-step overhead of AgenticLoop over runs of 10, 100 and 400 steps.

Scripted backend with instant answers (a test double: we measure the loop, not a model). Each
step is one model call that asks for one tool (a sync tool that returns at once); the last step
answers with ``final_answer``. Every run has an event callback, an in-memory turn-log writer and
a fixed router, as a notebook run would. Prints the median per-step overhead for each run length
(whole run time / steps, over several runs), the per-step time near the end of the longest run
(to show it stays flat), and what the scripted backend alone costs per call.
Target: ≤ 0.3 ms per step.

    python benchmarks/agent_overhead.py [--lengths 10 100 400] [--repeat 5] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import statistics
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def build(steps: int) -> tuple[Any, Any]:
    from persona_lab import AgenticLoop, FixedRouter, InMemoryTurnLogWriter, Persona, TierRegistry, Toolbox, tool
    from persona_lab.core import ChatRequest, ToolCall, Usage
    from persona_lab.tiers import ModelConfig, Price, ScriptedBackend, ScriptedResponse

    @tool
    def lookup_statute(name: str) -> str:
        """Look up a statute.

        Args:
            name: the statute's short name
        """
        return f"{name}: the landlord must keep the structure and exterior in repair."

    usage = Usage(input_tokens=400, output_tokens=20)
    lookup = ScriptedResponse(
        text="Checking the statute.",
        tool_calls=(ToolCall(id="c", name="lookup_statute", arguments=json.dumps({"name": "LTA 1985 s11"})),),
        usage=usage,
    )
    final = ScriptedResponse(
        tool_calls=(ToolCall(id="f", name="final_answer", arguments=json.dumps({"text": "Write to the landlord."})),),
        usage=usage,
    )
    calls = 0

    def script(request: ChatRequest) -> ScriptedResponse:
        nonlocal calls
        calls += 1
        return final if calls >= steps else lookup

    backend = ScriptedBackend(script, chunk_chars=64)
    tiers = TierRegistry({"mid": ModelConfig("scripted", "mid", backend=backend, price=Price(1.0, 4.0))})
    persona = Persona.from_yaml(ROOT / "examples" / "personas" / "tenancy_advisor.yaml")
    agent = AgenticLoop(
        persona,
        tiers,
        FixedRouter("mid"),
        toolbox=Toolbox([lookup_statute]),
        writer=InMemoryTurnLogWriter(),
        max_steps=steps,
    )
    return agent, backend


async def one_run(steps: int) -> tuple[float, list[float]]:
    """Seconds for the whole run, and the duration of each step (from step start to TurnDone)."""
    from persona_lab.core import Started, TurnDone

    agent, _ = build(steps)
    step_times: list[float] = []
    step_start = 0.0

    def on_event(event: Any) -> None:
        nonlocal step_start
        if type(event) is Started and event.scope == "step":
            step_start = time.perf_counter()
        elif type(event) is TurnDone:
            step_times.append(time.perf_counter() - step_start)

    started = time.perf_counter()
    run = await agent.run("Draft a complaint to my landlord about mould", on_event=on_event)
    elapsed = time.perf_counter() - started
    assert run.status == "completed" and len(run.steps) == steps, (run.status, len(run.steps))
    return elapsed, step_times


async def backend_alone(calls: int) -> float:
    """Seconds per call of the scripted backend by itself (part of every step above)."""
    from persona_lab import Message
    from persona_lab.core import ChatRequest, Usage
    from persona_lab.tiers import ScriptedBackend, ScriptedResponse

    answer = ScriptedResponse("Checking the statute.", usage=Usage(input_tokens=1, output_tokens=1))
    backend = ScriptedBackend([answer], cycle=True, chunk_chars=64)
    request = ChatRequest(model="m", system="s", messages=(Message.user("hi"),))
    started = time.perf_counter()
    for _ in range(calls):
        async for _chunk in backend.stream(request):
            pass
    return (time.perf_counter() - started) / calls


async def measure(lengths: list[int], repeat: int) -> None:
    await one_run(10)  # warm up imports and caches
    # Whole-run figures include OS preemptions (4 ms ticks) when other processes compete for the
    # cores; the per-step medians below do not.
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    for steps in lengths:
        runs = max(repeat, 2000 // steps)
        per_step = []
        for _ in range(runs):
            elapsed, _times = await one_run(steps)
            per_step.append(elapsed / steps)
        print(
            f"{steps:>4}-step runs (x{runs}): median {statistics.median(per_step) * 1e3:.3f} ms/step, "
            f"best {min(per_step) * 1e3:.3f} ms/step"
        )
    longest = max(lengths)
    _, times = await one_run(longest)
    for point in sorted({10, longest // 2, longest}):
        window = times[max(0, point - 10) : point]
        print(f"step time near step {point:>4} of {longest}: median {statistics.median(window) * 1e3:.3f} ms")
    print(f"scripted backend alone: {await backend_alone(2000) * 1e3:.3f} ms/call (included above)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[10, 100, 400])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="profile one run of the longest length")
    args = parser.parse_args()
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        asyncio.run(one_run(max(args.lengths)))
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        return
    asyncio.run(measure(args.lengths, args.repeat))


if __name__ == "__main__":
    main()
