"""Reliability figures against a real local HTTP server speaking the OpenAI and Anthropic streaming
APIs (``tests/fault_server.py``), through the real SDKs and the real loops.

1. Time to fallback per fault with the DEFAULT settings (``ModelConfig``: timeout 10 s, 2 retries,
   25 s deadline, 0.5 s backoff): one chat turn routed to ``mid`` whose model has the fault, per
   provider; the time is what the turn spent on ``mid`` before ``frontier`` was tried. Cases run
   concurrently, so the hang case (the slowest: the whole deadline) sets the wall time.
2. The fault matrix (tiers x chat turn / agent step x providers x faults, plus every-tier-fails
   cases) with small timeouts, as in ``tests/test_fault_matrix.py``: size and pass count.
3. kill -9 runs of the JSONL writer with multi-byte text: runs, records recovered, cut last lines.
4. Malformed personas fuzzed: loaded, rejected with ``PersonaError``, anything else (goal 0).
5. Canary-key occurrences in every output searched (goal 0).

    PYTHONPATH=. python benchmarks/fault_matrix.py [--kill-runs 100] [--personas 1000] [--skip-defaults]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from persona_lab import AllTiersFailed, PersonaError  # noqa: E402
from tests.fault_cases import (  # noqa: E402
    CANARY,
    FAULT_CASES,
    HEALTHY,
    NEAREST,
    TIERS,
    CaseResult,
    Waits,
    captured,
    describe,
    expected_answer,
    model_name,
    run_case,
)
from tests.fault_server import FaultServer  # noqa: E402
from tests.jsonl_kill import kill_run  # noqa: E402
from tests.persona_fuzz import cases, load_case  # noqa: E402

FAST = Waits(timeout_s=0.3, deadline_s=0.6, max_retries=2, backoff_s=0.02)
SLACK_S = 1.0


SLOW = ("hang", "stall")


async def defaults(server: FaultServer, directory: Path) -> tuple[list[tuple[str, str, CaseResult]], int]:
    """The quick faults one at a time (no contention in the figures), the slow ones at once."""
    waits = Waits.defaults()
    jobs = [(fault, provider) for provider in ("openai", "anthropic") for fault in FAULT_CASES]

    def case(fault: str, provider: str) -> Any:
        return run_case(server, provider=provider, kind="chat", tier="mid", fault_name=fault, waits=waits,
                        directory=directory)

    results: dict[tuple[str, str], CaseResult] = {}
    with captured() as outputs:
        for fault, provider in jobs:
            if fault not in SLOW:
                results[fault, provider] = await case(fault, provider)
        slow = [(f, p) for f, p in jobs if f in SLOW]
        for job, result in zip(slow, await asyncio.gather(*(case(f, p) for f, p in slow)), strict=True):
            results[job] = result
    leaks = sum(text.count(CANARY) for text in outputs.outputs().values())
    leaks += sum(text.count(CANARY) for r in results.values() for text in r.outputs.values())
    return [(f, p, results[f, p]) for f, p in jobs], leaks


def _one_tier_ok(result: CaseResult, *, tier: str, fault: str, provider: str, kind: str) -> bool:
    served = tier if fault == "ok" else NEAREST[tier]
    bounded = fault == "ok" or (result.fallback_s is not None and result.fallback_s <= FAST.deadline_s + SLACK_S)
    return (result.error is None and result.served_tier == served and result.records == 1 and bounded
            and result.answer == expected_answer(model_name(served, tier, fault, provider, kind)))


def _all_fail_ok(result: CaseResult, *, kind: str) -> bool:
    clear = isinstance(result.error, AllTiersFailed) if kind == "chat" else result.error is None
    return clear and result.records == 1 and result.record_tiers == [None]


async def matrix(server: FaultServer, directory: Path) -> tuple[int, int, int, list[str]]:
    """(cases, passed, canary occurrences, failed case names)."""
    size = passed = leaks = 0
    failed: list[str] = []
    for provider in ("openai", "anthropic"):
        for kind in ("chat", "agent"):
            for fault in ["ok", *FAULT_CASES]:
                with captured() as outputs:
                    results = await asyncio.gather(*(
                        run_case(server, provider=provider, kind=kind, tier=tier, fault_name=fault, waits=FAST,
                                 healthy=HEALTHY, directory=directory)
                        for tier in TIERS
                    ))
                leaks += sum(text.count(CANARY) for text in outputs.outputs().values())
                for tier, result in zip(TIERS, results, strict=True):
                    size += 1
                    leaks += sum(text.count(CANARY) for text in result.outputs.values())
                    if _one_tier_ok(result, tier=tier, fault=fault, provider=provider, kind=kind):
                        passed += 1
                    else:
                        failed.append(f"{provider}/{kind}/{tier}/{fault}")
            for fault in ("401-echo", "hang", "429-huge", "cut", "malformed"):
                with captured() as outputs:
                    result = await run_case(server, provider=provider, kind=kind, tier="mid", fault_name=fault,
                                            waits=FAST, directory=directory, all_tiers_fail=True)
                size += 1
                leaks += sum(text.count(CANARY) for text in outputs.outputs().values())
                leaks += sum(text.count(CANARY) for text in result.outputs.values())
                if _all_fail_ok(result, kind=kind):
                    passed += 1
                else:
                    failed.append(f"{provider}/{kind}/all-tiers/{fault} ({describe(result)})")
    return size, passed, leaks, failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kill-runs", type=int, default=100)
    parser.add_argument("--personas", type=int, default=1000)
    parser.add_argument("--skip-defaults", action="store_true", help="skip part 1 (about 30 s)")
    args = parser.parse_args()
    import anthropic  # noqa: F401  imported before any timed case
    import openai  # noqa: F401

    leaks = 0
    with tempfile.TemporaryDirectory() as tmp, FaultServer() as server:
        directory = Path(tmp)
        if not args.skip_defaults:
            started = time.monotonic()
            rows, found = asyncio.run(defaults(server, directory / "defaults"))
            leaks += found
            base = Waits.defaults()
            print(f"1. time to fallback with DEFAULT settings (timeout {base.timeout_s:g} s, {base.max_retries} "
                  f"retries, deadline {base.deadline_s:g} s, backoff {base.backoff_s:g} s); chat turn on mid, "
                  f"{len(rows)} cases ({', '.join(SLOW)} at once) in {time.monotonic() - started:.1f} s")
            print(f"   {'fault':<10} {'provider':<10} {'served by':<10} {'time on mid (s)':>16}")
            for fault, provider, result in rows:
                spent = "–" if result.fallback_s is None else f"{result.fallback_s:.2f}"
                print(f"   {fault:<10} {provider:<10} {result.served_tier or 'ERROR':<10} {spent:>16}")
            worst = max((r.fallback_s or 0.0) for _, _, r in rows)
            print(f"   worst: {worst:.2f} s (documented bound: the {base.deadline_s:g} s deadline; a stall after "
                  f"the answer started: {base.timeout_s:g} s after the last chunk)")
        started = time.monotonic()
        size, passed, found, failed = asyncio.run(matrix(server, directory / "matrix"))
        leaks += found
        print(f"2. fault matrix (timeout {FAST.timeout_s:g} s, deadline {FAST.deadline_s:g} s): {passed}/{size} cases "
              f"passed in {time.monotonic() - started:.1f} s" + (f"; failed: {', '.join(failed)}" if failed else ""))
        rng = random.Random(14)
        started = time.monotonic()
        (directory / "kill").mkdir()
        kills = [kill_run(directory / "kill", run, rng=rng) for run in range(args.kill_runs)]
        print(f"3. kill -9: {len(kills)} runs in {time.monotonic() - started:.1f} s; {sum(k.ok for k in kills)} with "
              f"every complete record recovered; records recovered {sum(k.recovered for k in kills):,} of "
              f"{sum(k.complete_lines for k in kills):,} complete lines; {sum(k.cut_last_line for k in kills)} runs "
              f"killed mid-line; appended records read after {sum(k.appended_read for k in kills)} restarts")
        outcomes: Counter[str] = Counter()
        started = time.monotonic()
        for index, (_kind, data) in enumerate(cases(args.personas, seed=2026)):
            try:
                result = load_case(data, directory, index)
            except Exception as exc:  # anything but PersonaError is a failure of the goal
                outcomes[f"other: {type(exc).__name__}"] += 1
                continue
            outcomes["rejected (PersonaError)" if isinstance(result, PersonaError) else "loaded"] += 1
        other = sum(n for k, n in outcomes.items() if k.startswith("other"))
        print(f"4. personas fuzzed: {args.personas} in {time.monotonic() - started:.1f} s; "
              f"{outcomes['rejected (PersonaError)']} rejected with PersonaError, {outcomes['loaded']} loaded, "
              f"{other} other exceptions" + (f" {dict(outcomes)}" if other else ""))
    print(f"5. canary key occurrences in every output searched: {leaks}")
    return 0 if leaks == 0 and passed == size and other == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
