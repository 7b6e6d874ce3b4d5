"""Speed of the benchmark harness: replay turns per second through the real loop, and the default run.

    python benchmarks/bench_speed.py              # replay throughput per bundled suite (target ≥ 2,000 turns/s)
    python benchmarks/bench_speed.py --profile    # … and where a replayed turn spends its time
    python benchmarks/bench_speed.py --full       # … and `persona-lab bench` end to end (target ≤ 60 s)

Throughput counts every turn through ``ConversationLoop.turn`` (routing, prompt assembly, the
replay backend's stream, pricing, the turn log) plus the harness's labelling, with an
always-small router so routing itself costs nothing. Wall time and CPU time are both shown:
on a busy machine the CPU figure is the fairer one.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import subprocess
import sys
import tempfile
import time

from persona_lab.bench import BUNDLED_SUITES, load_suite, replay_items, replay_tiers
from persona_lab.routers import FixedRouter


def replay_throughput(suite: str, repeats: int = 3) -> tuple[int, float, float]:
    """(turns, best wall seconds, best CPU seconds) of replaying every item of ``suite``."""
    benchmark = load_suite(suite)
    tiers = replay_tiers(benchmark)
    router = FixedRouter("small", respect_pin=False)
    best_wall, best_cpu, turns = float("inf"), float("inf"), 0
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        result = asyncio.run(replay_items(benchmark, tiers, router))
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
        turns = len(result.records)
    return turns, best_wall, best_cpu


def profile_replay(suite: str, top: int = 25) -> None:
    benchmark = load_suite(suite)
    tiers = replay_tiers(benchmark)
    router = FixedRouter("small", respect_pin=False)
    profiler = cProfile.Profile()
    profiler.enable()
    asyncio.run(replay_items(benchmark, tiers, router))
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


def default_run() -> float:
    """Seconds of `persona-lab bench` with its defaults (every bundled suite × every router)."""
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "persona_lab.cli", "bench", "--out", out], check=True,
                       stdout=subprocess.DEVNULL)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--profile", action="store_true", help="profile one replay of MMLU")
    parser.add_argument("--full", action="store_true", help="also time the default `persona-lab bench`")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    total_turns, total_wall, total_cpu = 0, 0.0, 0.0
    for suite in BUNDLED_SUITES:
        turns, wall, cpu = replay_throughput(suite)
        total_turns, total_wall, total_cpu = total_turns + turns, total_wall + wall, total_cpu + cpu
        print(f"replay {suite:<9} {turns:>6} turns  {turns / wall:>8,.0f} turns/s wall  "
              f"{turns / cpu:>8,.0f} turns/s CPU")
    print(f"replay all       {total_turns:>6} turns  {total_turns / total_wall:>8,.0f} turns/s wall  "
          f"{total_turns / total_cpu:>8,.0f} turns/s CPU   (target ≥ 2,000)")
    if args.profile:
        profile_replay("mmlu")
    if args.full:
        seconds = default_run()
        print(f"persona-lab bench (defaults): {seconds:.1f} s   (target ≤ 60 s)")


if __name__ == "__main__":
    main()
