"""Live mode on scripted tiers (test doubles): grading, concurrency, rate limits, resume after interruption."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from persona_lab.bench import (
    BenchmarkItem,
    BenchmarkSet,
    RateLimiter,
    TurnOutcome,
    answer_letter,
    completed_items,
    exact_match,
    final_number,
    judge_rating,
    run_live,
)
from persona_lab.core import ChatRequest, Chunk, RoutingContext, RoutingDecision
from persona_lab.logs import read_turn_logs
from persona_lab.routers import FixedRouter
from persona_lab.tiers import ModelConfig, Price, ScriptedBackend, TierRegistry
from tests.bench_helpers import MODELS, STRONG, WEAK, synthetic_set


def _maths_set(n: int = 6) -> BenchmarkSet:
    items = tuple(
        BenchmarkItem(f"m{k}", "maths", "math", (f"What is {k} + {k}?",),
                      {WEAK: (TurnOutcome(1.0),), STRONG: (TurnOutcome(1.0),)}, (str(2 * k),))
        for k in range(n))
    return BenchmarkSet("maths", "binary", dict(MODELS), items)


def _tiers(small: object, frontier: object | None = None) -> TierRegistry:
    tiers = {"small": ModelConfig("scripted", "small-model", backend=small, price=Price(1, 1))}  # type: ignore[arg-type]
    if frontier is not None:
        tiers["frontier"] = ModelConfig("scripted", "big-model", backend=frontier, price=Price(5, 5))  # type: ignore[arg-type]
    return TierRegistry(tiers)


def _sum_answer(request: ChatRequest) -> str:
    question = request.messages[-1].content
    k = int(question.split()[2])
    return f"{k} + {k} = {2 * k}.\n#### {2 * k if k % 2 == 0 else 2 * k + 1}"  # odd questions answered wrong


def test_graders() -> None:
    assert final_number("so she makes 9 * $2 = $18.") == "18"
    assert final_number("#### 1,250\n\nNote: 3") == "1250"
    assert final_number("no digits") is None
    assert [answer_letter(t) for t in ("Answer: C", "(b) because", "D. Paris", "The answer is B.", "none")] == [
        "C", "B", "D", "B", None]
    assert judge_rating("Good. Rating: [[8]]") == 8.0 and judge_rating("no rating") is None
    item = BenchmarkItem("x", "s", "c", ("q",), {WEAK: (TurnOutcome(1.0),)}, ("B",))
    assert exact_match(item, 0, "I think the answer is (B).").score == 1.0
    assert exact_match(item, 0, "A").score == 0.0
    bare = BenchmarkItem("y", "s", "c", ("q",), {WEAK: (TurnOutcome(1.0),)})
    assert exact_match(bare, 0, "anything").score is None


async def test_exact_match_graded_live_run(tmp_path: Path) -> None:
    path = tmp_path / "turn_logs.jsonl"
    backend = ScriptedBackend(_sum_answer)
    result = await run_live(_maths_set(), _tiers(backend), FixedRouter("small"), path, concurrency=3)
    assert result.written == 6 and not result.failures and result.skipped_items == 0
    logs = {r.labels["item_id"]: r for r in read_turn_logs(path)}
    assert [logs[f"m{k}"].scores["score"] for k in range(6)] == [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    assert logs["m0"].labels["suite"] == "maths" and logs["m0"].tier == "small" and logs["m0"].cost_usd is not None


async def test_judge_grades_two_turn_items_on_the_chosen_tier(tmp_path: Path) -> None:
    benchmark = synthetic_set(3, turns=2, scale="grade-1-10")
    answers = ScriptedBackend(lambda r: f"answer to: {r.messages[-1].content}")
    judge_prompts: list[str] = []

    def judge(request: ChatRequest) -> str:
        judge_prompts.append(request.messages[-1].content)
        return "Helpful and correct. Rating: [[7]]"

    result = await run_live(benchmark, _tiers(answers, ScriptedBackend(judge)), FixedRouter("small"),
                            tmp_path / "t.jsonl", judge_tier="frontier")
    assert [r.scores["score"] for r in read_turn_logs(tmp_path / "t.jsonl")] == [7.0] * 6
    assert result.judge_cost_usd > 0
    assert "[The Start of Assistant's Answer]" in judge_prompts[0]
    second = next(p for p in judge_prompts if "### Assistant A:" in p)  # turn 2 sees the whole conversation
    assert "answer to:" in second and "second user question" in second


async def test_concurrency_is_bounded_and_rate_limits_space_requests(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    class Slow:
        name = "slow"

        def __init__(self) -> None:
            self.in_flight = 0
            self.peak = 0

        async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            await asyncio.sleep(0.02)
            self.in_flight -= 1
            yield Chunk(delta="#### 0")
            yield Chunk(final=True, finish_reason="stop")

        async def aclose(self) -> None:
            return None

    slow = Slow()
    await run_live(_maths_set(8), _tiers(slow), FixedRouter("small"), tmp_path / "a.jsonl", concurrency=3)
    assert slow.peak == 3

    waits: list[float] = []
    real_sleep = asyncio.sleep

    async def record(delay: float) -> None:
        waits.append(delay)
        await real_sleep(0)

    monkeypatch.setattr("persona_lab.bench._live.asyncio.sleep", record)
    limiter = RateLimiter(10.0, clock=lambda: 100.0)  # a frozen clock: every wait is the queue's spacing
    for _ in range(4):
        await limiter.acquire()
    assert waits == pytest.approx([0.1, 0.2, 0.3])
    slow2 = Slow()
    await run_live(_maths_set(3), _tiers(slow2), FixedRouter("small"), tmp_path / "b.jsonl",
                   rate_limits={"scripted": 5.0})
    assert len(waits) >= 3 + 2  # the live run's requests waited for the provider's limiter too


async def test_an_interrupted_run_resumes_where_it_stopped(tmp_path: Path) -> None:
    path = tmp_path / "turn_logs.jsonl"
    benchmark = synthetic_set(6, turns=2, scale="grade-1-10")
    calls = {"n": 0}
    running: dict[str, asyncio.Task[object]] = {}

    def interrupting_answers(request: ChatRequest) -> str:
        calls["n"] += 1
        if calls["n"] == 6:  # the third item's second turn: the run is cancelled here (Ctrl-C does this)
            running["task"].cancel()
        return "an answer"

    judge = ScriptedBackend(lambda r: "[[9]]", cycle=True)
    running["task"] = asyncio.ensure_future(run_live(
        benchmark, _tiers(ScriptedBackend(interrupting_answers), judge), FixedRouter("small"), path, concurrency=1))
    with pytest.raises(asyncio.CancelledError):
        await running["task"]
    written = read_turn_logs(path)
    done = completed_items(path, benchmark)
    assert {benchmark.items[0].id, benchmark.items[1].id} <= done and len(done) < 6  # stopped part-way
    assert [r.labels["item_id"] for r in written][:4] == [benchmark.items[0].id] * 2 + [benchmark.items[1].id] * 2

    fresh = ScriptedBackend(lambda r: "an answer")
    result = await run_live(benchmark, _tiers(fresh, judge), FixedRouter("small"), path, concurrency=2)
    assert result.skipped_items == len(done)
    assert len(fresh.requests) == result.written == 2 * (6 - len(done))  # only unfinished items ran, whole
    assert completed_items(path, benchmark) == {i.id for i in benchmark.items}
    # the newest record of a turn counts
    latest = {(r.labels["item_id"], r.turn_index): r for r in read_turn_logs(path)}
    assert len(latest) == 12 and all(r.scores["score"] == 9.0 for r in latest.values())


async def test_a_router_failing_live_marks_the_item_failed(tmp_path: Path) -> None:
    class Picky:
        def route(self, context: RoutingContext) -> RoutingDecision:
            if context.metadata["item_id"] == "m1":
                raise RuntimeError("no")
            return RoutingDecision(tier="small", reason="")

    result = await run_live(_maths_set(3), _tiers(ScriptedBackend(_sum_answer)), Picky(), tmp_path / "x.jsonl")
    assert [(f.item_id, f.error_type) for f in result.failures] == [("m1", "RouterError")]
    assert completed_items(tmp_path / "x.jsonl", _maths_set(3), router="Picky") == {"m0", "m2"}
