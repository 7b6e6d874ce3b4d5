"""Running benchmark items through the real :class:`ConversationLoop`, one conversation per item.

Every turn of an item continues the same conversation (MT Bench's second turn sees the first
answer), carries the agreed metadata (suite, item_id, category, the recorded ``outcomes`` per
tier, the turn number) and yields the same turn-log record a live run writes, labelled with
the answering model's recorded score. A turn that fails (a router that raises, a tier that
fails) marks its item failed; the run goes on with the next item.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from persona_lab.bench._format import BenchmarkItem, BenchmarkSet
from persona_lab.bench._replay import BENCHMARK_PERSONA, NullMemoryStore, ReplayTiers
from persona_lab.core import Router, RoutingContext, RoutingDecision, SystemClock, TurnDone, TurnLog, router_name
from persona_lab.loops import ConversationLoop
from persona_lab.persona import Persona

__all__ = ["FirstTurnOnlyRouter", "ItemFailure", "ReplayResult", "replay_items"]


@dataclass(frozen=True, slots=True)
class ItemFailure:
    """An item whose turn failed: which router, which turn, and the error."""

    suite: str
    router: str
    item_id: str
    turn: int
    error_type: str
    error: str


@dataclass(frozen=True, slots=True, repr=False)
class ReplayResult:
    """Turn logs (labelled with scores) and the failed items of one router on one set."""

    records: tuple[TurnLog, ...]
    failures: tuple[ItemFailure, ...]

    def __repr__(self) -> str:
        # short on purpose: asyncio.run (3.11) builds the repr of its task's result on exit
        return f"ReplayResult(records={len(self.records)}, failures={len(self.failures)})"


class FirstTurnOnlyRouter:
    """Routes the first turn with ``router`` and keeps that tier for the rest of the conversation.

    RouteLLM's MT Bench protocol (route on the first user message only), as a wrapper.
    """

    def __init__(self, router: Router):
        self.router = router
        self.name = router_name(router)
        review = getattr(router, "review", None)
        if review is not None:
            self.review = review

    def __repr__(self) -> str:
        return f"FirstTurnOnlyRouter({self.router!r})"

    def route(self, context: RoutingContext) -> RoutingDecision:
        previous = context.previous_tiers
        if not previous:
            return self.router.route(context)
        return RoutingDecision(tier=previous[0], reason=f"routes on the first turn only: keeps {previous[0]}")


def _outcomes(item: BenchmarkItem, models: Mapping[str, str], turn: int) -> dict[str, float]:
    return {tier: item.outcomes[model][turn].score for tier, model in models.items() if model in item.outcomes}


def item_labels(item: BenchmarkItem) -> dict[str, str]:
    """The turn-log labels of a benchmark item: ``suite``, ``item_id`` and ``category``."""
    return {"suite": item.suite, "item_id": item.id, "category": item.category}


def labelled(log: TurnLog, router: str, score: float | None) -> TurnLog:
    """``log`` under the router label ``router``, with the item's ``score`` (none when ungraded)."""
    scores = {k: v for k, v in log.scores.items() if k != "score"}
    if score is not None:
        scores["score"] = float(score)
    return dataclasses.replace(log, router_name=router, scores=scores)


def _error_log(item: BenchmarkItem, turn: int, label: str, persona: Persona, conversation_id: str,
               exc: BaseException) -> TurnLog:
    return TurnLog(
        conversation_id=conversation_id, turn_index=turn, timestamp=SystemClock().now().isoformat(),
        persona_id=persona.id, router_name=label, requested_tier="", tier=None, decision_reason="",
        latency_s=0.0, user_text=item.turns[turn][:4000], error=f"{type(exc).__name__}: {exc}",
        error_type=type(exc).__name__, labels=item_labels(item),
    )


async def replay_items(
    benchmark: BenchmarkSet,
    tiers: ReplayTiers,
    router: Router,
    *,
    label: str | None = None,
    items: Sequence[BenchmarkItem] | None = None,
    route_first_turn_only: bool = False,
    persona: Persona | None = None,
    on_item: Callable[[], Any] | None = None,
    extra_metadata: Mapping[str, Any] | None = None,
) -> ReplayResult:
    """Run ``items`` (default: all) of ``benchmark`` through a ConversationLoop on the replay tiers.

    The loop gets a :class:`NullMemoryStore` (items must not leak into each other; no SQLite
    cost per turn). ``label`` becomes the turn logs' ``router_name``.
    """
    persona = persona or BENCHMARK_PERSONA
    label = label or router_name(router)
    effective: Router = FirstTurnOnlyRouter(router) if route_first_turn_only else router
    loop = ConversationLoop(persona, tiers.registry, effective, memory=NullMemoryStore())
    models = dict(tiers.models)
    records: list[TurnLog] = []
    failures: list[ItemFailure] = []
    for item in benchmark.items if items is None else items:
        conversation = loop.new_conversation(id=f"{label}:{item.id}")
        for turn, text in enumerate(item.turns):
            metadata: dict[str, Any] = {
                "suite": item.suite,
                "item_id": item.id,
                "category": item.category,
                "outcomes": _outcomes(item, models, turn),
                "turn": turn,
            }
            if extra_metadata:
                metadata.update(extra_metadata)
            tiers.expect(item.id, turn)
            log: TurnLog | None = None
            try:
                async for event in loop.turn(conversation, text, metadata=metadata):
                    if isinstance(event, TurnDone):
                        log = event.turn_log
            except Exception as exc:  # one bad item must not stop the run
                if log is None:
                    log = _error_log(item, turn, label, persona, conversation.id, exc)
                records.append(labelled(log, label, None))
                failures.append(ItemFailure(item.suite, label, item.id, turn, type(exc).__name__, str(exc)))
                break
            assert log is not None
            model = models.get(log.tier or "")
            score = item.outcomes[model][turn].score if model is not None and model in item.outcomes else None
            records.append(labelled(log, label, score))
        if on_item is not None:
            on_item()
    tiers.expect(None)
    return ReplayResult(tuple(records), tuple(failures))
