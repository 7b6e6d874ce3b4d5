"""Live mode: the same items through the real loop against real tiers, graded as they come in.

Bounded concurrency (items run as parallel conversations), per-provider rate limits (a
request-per-second budget shared by every model of a provider), and resumable runs: each
graded turn is appended to the run's turn-log JSONL at once, and a rerun skips every item
whose turns are all there without error. Graders: exact match for items with a reference
(GSM8K's final number, MMLU's letter), an LLM judge for 1–10 graded sets (MT Bench style).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from persona_lab.bench._format import BenchmarkItem, BenchmarkSet
from persona_lab.bench._graders import Grade, JudgeGrader, exact_match
from persona_lab.bench._replay import BENCHMARK_PERSONA, NullMemoryStore
from persona_lab.bench._runner import FirstTurnOnlyRouter, ItemFailure, labelled
from persona_lab.core import ChatRequest, Chunk, InvalidArgument, Router, TurnDone, TurnLog, router_name
from persona_lab.logs import JsonlTurnLogWriter, read_turn_logs
from persona_lab.loops import ConversationLoop
from persona_lab.persona import Persona
from persona_lab.tiers import ModelConfig, TierConfig, TierRegistry

__all__ = ["Limiter", "LiveResult", "RateLimitedBackend", "RateLimiter", "completed_items", "rate_limited", "run_live"]


class RateLimiter:
    """At most ``per_second`` request starts per second (an evenly spaced schedule), shared by callers."""

    def __init__(self, per_second: float, *, clock: Callable[[], float] = time.monotonic):
        if per_second <= 0:
            raise InvalidArgument(f"rate limit: requests per second must be positive, got {per_second}")
        self.interval = 1.0 / per_second
        self._clock = clock
        self._next = 0.0
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"RateLimiter({1.0 / self.interval:g}/s)"

    async def acquire(self) -> None:
        async with self._lock:
            now = self._clock()
            wait = self._next - now
            self._next = max(now, self._next) + self.interval
        if wait > 0:
            await asyncio.sleep(wait)


class Limiter(Protocol):
    """Anything that waits for the next request start: :class:`RateLimiter`, or one shared by a cluster."""

    async def acquire(self) -> None: ...


class RateLimitedBackend:
    """Wraps a backend so each request first waits for its provider's :class:`RateLimiter`."""

    def __init__(self, backend: Any, limiter: Limiter):
        self.backend = backend
        self.limiter = limiter
        self.name = getattr(backend, "name", "backend")

    def __repr__(self) -> str:
        return f"RateLimitedBackend({self.backend!r}, {self.limiter!r})"

    async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        await self.limiter.acquire()
        async for chunk in self.backend.stream(request):
            yield chunk

    async def aclose(self) -> None:
        await self.backend.aclose()


def rate_limited(registry: TierRegistry, limits: Mapping[str, float | Limiter]) -> TierRegistry:
    """A registry whose models of each provider in ``limits`` share one limit.

    A value is requests per second (a :class:`RateLimiter` is made) or a ready limiter object.
    """
    if not limits:
        return registry
    limiters = {p: RateLimiter(rate) if isinstance(rate, int | float) else rate for p, rate in limits.items()}
    tiers: dict[str, TierConfig] = {}
    for tier in registry.configured:
        models: list[ModelConfig] = []
        for model in registry.config(tier).models:
            limiter = limiters.get(model.provider)
            if limiter is not None:
                model = replace(model, backend=RateLimitedBackend(registry.backend(model), limiter))
            models.append(model)
        tiers[tier] = TierConfig(tuple(models))
    return TierRegistry(tiers, prices=registry.prices)


def completed_items(path: str | Path, benchmark: BenchmarkSet, *, router: str | None = None) -> set[str]:
    """Ids of ``benchmark`` items whose every turn is in the turn log, graded and without error."""
    path = Path(path)
    if not path.exists():
        return set()
    turns: dict[str, dict[int, TurnLog]] = {}
    for record in read_turn_logs(path):
        item_id = record.labels.get("item_id")
        if record.labels.get("suite") != benchmark.suite or item_id is None:
            continue
        if router is not None and record.router_name != router:
            continue
        turns.setdefault(item_id, {})[record.turn_index] = record  # the last record of a turn wins
    done = set()
    for item in benchmark.items:
        logged = turns.get(item.id, {})
        if len(logged) == len(item.turns) and all(r.error is None for r in logged.values()):
            done.add(item.id)
    return done


@dataclass(repr=False)
class LiveResult:
    """What a live run did: turns written now, items skipped as already done, failures, grading cost."""

    path: Path
    written: int = 0
    skipped_items: int = 0
    failures: list[ItemFailure] = field(default_factory=list)
    ungraded: int = 0
    judge_cost_usd: float = 0.0

    def __repr__(self) -> str:
        return (f"LiveResult(path={str(self.path)!r}, written={self.written}, skipped_items={self.skipped_items}, "
                f"failures={len(self.failures)}, ungraded={self.ungraded}, judge_cost_usd={self.judge_cost_usd:.4f})")


async def run_live(
    benchmark: BenchmarkSet,
    tiers: TierRegistry,
    router: Router,
    path: str | Path,
    *,
    label: str | None = None,
    concurrency: int = 4,
    rate_limits: Mapping[str, float | Limiter] | None = None,
    judge_tier: str = "frontier",
    route_first_turn_only: bool = False,
    persona: Persona | None = None,
    items: Sequence[BenchmarkItem] | None = None,
    on_item: Callable[[], Any] | None = None,
) -> LiveResult:
    """Run ``benchmark`` live against ``tiers``; append graded turn logs to ``path``; resume if it exists.

    ``concurrency`` items run at once; ``rate_limits`` maps a provider name to requests per
    second (or to a :class:`Limiter`, e.g. one shared by a Dask cluster).
    Sets scored 0/1 are graded by exact match against the item's reference (no
    reference: the turn is logged with no score and counted as ungraded); 1–10 sets by an LLM
    judge on ``judge_tier`` (its cost is reported in the result, not charged to the turn).
    An interrupted run keeps every turn already written; run again to continue.
    """
    path = Path(path)
    label = label or router_name(router)
    registry = rate_limited(tiers, rate_limits or {})
    effective: Router = FirstTurnOnlyRouter(router) if route_first_turn_only else router
    loop = ConversationLoop(persona or BENCHMARK_PERSONA, registry, effective, memory=NullMemoryStore())
    judge = JudgeGrader(registry, tier=registry.nearest(judge_tier)) if benchmark.scale != "binary" else None
    done = completed_items(path, benchmark, router=label)
    todo = [i for i in (benchmark.items if items is None else items) if i.id not in done]
    result = LiveResult(path=path, skipped_items=len(benchmark.items if items is None else items) - len(todo))
    semaphore = asyncio.Semaphore(max(1, concurrency))
    writer = JsonlTurnLogWriter(path)

    async def grade(item: BenchmarkItem, turn: int, answers: list[str]) -> Grade:
        if judge is None:
            return exact_match(item, turn, answers[turn])
        return await judge.grade(item, turn, answers)

    async def run_item(item: BenchmarkItem) -> None:
        async with semaphore:
            conversation = loop.new_conversation(id=f"{label}:{item.id}")
            answers: list[str] = []
            for turn, text in enumerate(item.turns):
                metadata = {"suite": item.suite, "item_id": item.id, "category": item.category, "turn": turn}
                log: TurnLog | None = None
                answer = ""
                try:
                    async for event in loop.turn(conversation, text, metadata=metadata):
                        if isinstance(event, TurnDone):
                            log, answer = event.turn_log, event.answer
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if log is not None:
                        writer.write(labelled(log, label, None))
                        result.written += 1
                    result.failures.append(ItemFailure(item.suite, label, item.id, turn, type(exc).__name__,
                                                       str(exc)))
                    break
                assert log is not None
                answers.append(answer)
                verdict = await grade(item, turn, answers)
                result.judge_cost_usd += verdict.cost_usd
                if verdict.score is None:
                    result.ungraded += 1
                writer.write(labelled(log, label, verdict.score))
                result.written += 1
            if on_item is not None:
                on_item()

    try:
        await asyncio.gather(*(run_item(item) for item in todo))
    finally:
        writer.close()
    return result
