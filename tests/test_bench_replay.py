"""Replay tiers and running items through the real ConversationLoop."""

from __future__ import annotations

from dataclasses import replace

import pytest

from persona_lab import BenchmarkFormatError
from persona_lab.bench import (
    FirstTurnOnlyRouter,
    NullMemoryStore,
    TurnOutcome,
    load_suite,
    replay_items,
    replay_tiers,
)
from persona_lab.core import RoutingContext, RoutingDecision
from persona_lab.routers import FixedRouter
from persona_lab.tiers import Price
from tests.bench_helpers import STRONG, WEAK, synthetic_set


class Recorder:
    """A router that alternates tiers and remembers what it was shown."""

    name = "recorder"

    def __init__(self) -> None:
        self.contexts: list[RoutingContext] = []

    def route(self, context: RoutingContext) -> RoutingDecision:
        self.contexts.append(context)
        tier = "frontier" if len(self.contexts) % 2 else "small"
        return RoutingDecision(tier=tier, reason="alternating")


class FailsOn:
    """Raises on one item (a router bug), routes everything else to the small tier."""

    def __init__(self, item_id: str):
        self.item_id = item_id

    def route(self, context: RoutingContext) -> RoutingDecision:
        if context.metadata["item_id"] == self.item_id:
            raise ValueError("cannot route this one")
        return RoutingDecision(tier="small", reason="ok")


async def test_two_turn_items_continue_one_conversation_with_the_agreed_metadata() -> None:
    benchmark = synthetic_set(3, turns=2, scale="grade-1-10")
    tiers = replay_tiers(benchmark)
    router = Recorder()
    result = await replay_items(benchmark, tiers, router)
    assert len(result.records) == 6 and not result.failures
    first, second = router.contexts[0], router.contexts[1]
    item = benchmark.items[0]
    assert first.metadata == {"suite": "synth", "item_id": item.id, "category": item.category, "turn": 0,
                              "outcomes": {"small": item.outcomes[WEAK][0].score,
                                           "frontier": item.outcomes[STRONG][0].score}}
    assert second.metadata["turn"] == 1 and second.turn_index == 1
    # turn 2 sees turn 1's answer: the recorded response of the tier that answered (frontier)
    assert second.history[0].answer == item.outcomes[STRONG][0].response
    assert second.previous_tier == "frontier"
    logs = result.records
    labelled = [(r.labels["item_id"], r.turn_index, r.tier) for r in logs[:2]]
    assert labelled == [(item.id, 0, "frontier"), (item.id, 1, "small")]
    assert logs[0].scores["score"] == item.outcomes[STRONG][0].score
    assert logs[1].scores["score"] == item.outcomes[WEAK][1].score
    assert logs[0].conversation_id == logs[1].conversation_id
    assert logs[0].router_name == "recorder" and logs[0].labels["suite"] == "synth"
    assert logs[0].gen_ai_provider_name == "replay" and logs[0].gen_ai_response_model == STRONG


async def test_prices_tokens_and_placeholders() -> None:
    mmlu = load_suite("mmlu").head(2)
    tiers = replay_tiers(mmlu)
    assert {m: src for m, (_, src) in tiers.prices.items()} == {
        "mistralai/Mixtral-8x7B-Instruct-v0.1": "genai-prices", "gpt-4-1106-preview": "genai-prices"}
    assert tiers.prices["gpt-4-1106-preview"][0] == Price(10.0, 30.0)
    result = await replay_items(mmlu, tiers, FixedRouter("frontier", respect_pin=False))
    log = result.records[0]
    assert log.price_source == "genai-prices" and log.tokens_estimated  # input tokens are estimated
    assert log.gen_ai_usage_output_tokens == 1  # recorded: a single letter
    assert log.cost_usd == pytest.approx((log.gen_ai_usage_input_tokens * 10 + 1 * 30) / 1e6)
    assert log.answer_chars > 0
    own = synthetic_set(2)  # prices recorded in the set
    recorded = replay_tiers(own)
    assert recorded.prices[STRONG] == (Price(10.0, 30.0), "recorded")
    override = replay_tiers(own, prices={STRONG: Price(1.0, 1.0)})
    assert override.prices[STRONG] == (Price(1.0, 1.0), "override")
    logs = (await replay_items(own, override, FixedRouter("frontier", respect_pin=False))).records
    assert logs[0].price_source == "override"
    with pytest.raises(BenchmarkFormatError, match="unknown model 'nope'"):
        replay_tiers(own, prices={"nope": Price(1, 1)})


async def test_a_response_missing_from_the_record_streams_a_marked_placeholder() -> None:
    benchmark = synthetic_set(1)
    item = benchmark.items[0]
    bare = replace(item, outcomes={**item.outcomes, WEAK: (TurnOutcome(1.0),)})
    benchmark = replace(benchmark, items=(bare,))
    result = await replay_items(benchmark, replay_tiers(benchmark), FixedRouter("small", respect_pin=False))
    assert result.records[0].answer_chars == len(f"[replay placeholder: the set records no response text for {WEAK}]")


async def test_a_router_that_raises_on_one_item_fails_that_item_only() -> None:
    benchmark = synthetic_set(5, turns=2)
    bad = benchmark.items[2].id
    result = await replay_items(benchmark, replay_tiers(benchmark), FailsOn(bad), label="flaky")
    assert [(f.item_id, f.turn, f.error_type) for f in result.failures] == [(bad, 0, "RouterError")]
    assert "cannot route this one" in result.failures[0].error
    failed = [r for r in result.records if r.labels["item_id"] == bad]
    assert len(failed) == 1 and failed[0].error_type == "RouterError" and "score" not in failed[0].scores
    assert len(result.records) == 4 * 2 + 1  # every other item ran both turns


async def test_route_on_the_first_turn_only_keeps_that_tier() -> None:
    benchmark = synthetic_set(3, turns=2)
    router = Recorder()
    result = await replay_items(benchmark, replay_tiers(benchmark), router, route_first_turn_only=True)
    assert len(router.contexts) == 3  # asked once per item
    tiers = [(r.labels["item_id"], r.tier) for r in result.records]
    assert tiers[0][1] == tiers[1][1] and tiers[2][1] == tiers[3][1]
    assert result.records[1].decision_reason.startswith("routes on the first turn only")
    assert FirstTurnOnlyRouter(router).name == "recorder"


async def test_identical_prompts_in_two_items_replay_their_own_records() -> None:
    benchmark = synthetic_set(2)
    one, two = benchmark.items
    twin = replace(two, turns=one.turns, outcomes={WEAK: (TurnOutcome(0.0, "twin answer"),),
                                                   STRONG: two.outcomes[STRONG]})
    benchmark = replace(benchmark, items=(one, twin))
    class Capture:
        def route(self, context: RoutingContext) -> RoutingDecision:
            return RoutingDecision(tier="small", reason="")

    result = await replay_items(benchmark, replay_tiers(benchmark), Capture())
    answers = [(r.labels["item_id"], r.scores.get("score"), r.answer_chars) for r in result.records]
    assert answers == [(one.id, 1.0 if one.category == "easy" else 0.0, len(one.outcomes[WEAK][0].response or "")),
                       (twin.id, 0.0, len("twin answer"))]


def test_null_memory_store_remembers_nothing() -> None:
    from persona_lab.memory import MemoryItem

    store = NullMemoryStore()
    store.add(MemoryItem(kind="fact", text="x", persona_id="p"))
    assert store.search("x", persona_id="p") == []
