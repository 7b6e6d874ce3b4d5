"""compare() holds no module state: comparisons running at once each get their own result."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pandas as pd

from persona_lab.bench import Comparison, compare
from persona_lab.routers import FixedRouter
from tests.bench_helpers import KeywordThresholdRouter, synthetic_set

TURN_COLUMNS = ["router_name", "item_id", "turn_index", "tier", "cost_usd", "score"]
SUMMARY_COLUMNS = ["suite", "router", "point", "evaluation", "n_items", "n_turns", "quality", "cost_usd",
                   "strong_share", "apgr", "quality_lo", "quality_hi"]


def _first() -> Comparison:
    return compare(synthetic_set(24, seed=11, suite="first"),
                   {"keyword-a": KeywordThresholdRouter(threshold=0.5)}, n_boot=30, seed=1)


def _second() -> Comparison:
    return compare(synthetic_set(18, turns=2, seed=12, suite="second"),
                   {"keyword-b": KeywordThresholdRouter(threshold=0.03), "pinned": FixedRouter("frontier")},
                   n_boot=30, seed=2)


def _same(one: Comparison, other: Comparison) -> None:
    assert one.routers.keys() == other.routers.keys()
    assert set(one.suites) == set(other.suites)
    pd.testing.assert_frame_equal(one.summary[SUMMARY_COLUMNS], other.summary[SUMMARY_COLUMNS])
    turns = [c.turns[TURN_COLUMNS].sort_values(TURN_COLUMNS[:3]).reset_index(drop=True) for c in (one, other)]
    pd.testing.assert_frame_equal(*turns)


def _in_threads(*calls: Callable[[], Comparison]) -> list[Comparison]:
    """Run ``calls`` in threads that start together; their results (or their first error)."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], Comparison]) -> Comparison:
        start.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [future.result() for future in futures]


def test_two_comparisons_in_threads_equal_their_sequential_results() -> None:
    expected = [_first(), _second()]
    assert set(expected[0].summary["router"]) & {"keyword-b", "pinned"} == set()
    for _ in range(3):  # the old module-global state swapped routers in 3 of 3 tries
        got = _in_threads(_first, _second)
        _same(got[0], expected[0])
        _same(got[1], expected[1])


async def test_two_comparisons_via_asyncio_to_thread_equal_their_sequential_results() -> None:
    expected = [_first(), _second()]
    got = await asyncio.gather(asyncio.to_thread(_first), asyncio.to_thread(_second))
    _same(got[0], expected[0])
    _same(got[1], expected[1])


def test_two_comparisons_with_worker_processes_at_once() -> None:
    def first() -> Comparison:
        return compare(synthetic_set(12, seed=13, suite="first"), {"keyword-a": KeywordThresholdRouter()},
                       n_boot=10, n_jobs=2)

    def second() -> Comparison:
        return compare(synthetic_set(10, seed=14, suite="second"), {"pinned": FixedRouter("frontier")},
                       n_boot=10, n_jobs=2)

    got = _in_threads(first, second)
    assert set(got[0].summary["router"]) >= {"keyword-a"} and "pinned" not in set(got[0].summary["router"])
    assert set(got[1].summary["router"]) >= {"pinned"} and "keyword-a" not in set(got[1].summary["router"])
    _same(got[0], compare(synthetic_set(12, seed=13, suite="first"), {"keyword-a": KeywordThresholdRouter()},
                          n_boot=10))
