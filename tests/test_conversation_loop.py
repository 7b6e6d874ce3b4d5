"""The conversation loop with scripted tiers (test doubles): events, fallback, tools, compaction, budgets."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from persona_lab import (
    AllTiersFailed,
    BudgetExceeded,
    ConversationLoop,
    FixedRouter,
    HistoryCompactor,
    InMemoryTurnLogWriter,
    JsonlTurnLogWriter,
    Persona,
    RouterError,
    RoutingContext,
    RoutingDecision,
    Toolbox,
    UnknownTier,
    Verdict,
    read_turn_logs,
    tool,
)
from persona_lab.core import (
    ChatRequest,
    ProviderError,
    RateLimited,
    Retrying,
    Started,
    TextDelta,
    TierChosen,
    ToolCalling,
    ToolResult,
    TurnDone,
    Usage,
    estimate_tokens,
)
from persona_lab.tiers import ModelConfig, Price, ScriptedBackend, ScriptedResponse, TierRegistry
from tests.helpers import scripted_tier


async def collect(loop: ConversationLoop, conv: Any, text: str, **kw: Any) -> list[Any]:
    return [e async for e in loop.turn(conv, text, **kw)]


def summary_aware(answer: str | Callable[[ChatRequest], str]) -> Callable[[ChatRequest], str]:
    """A script that answers summary requests with a summary and everything else with ``answer``."""

    def script(request: ChatRequest) -> str:
        if "running summary" in request.system:
            return "Summary: the user asked about mould."
        return answer(request) if callable(answer) else answer

    return script


async def test_a_turn_streams_events_and_logs_everything(persona: Persona, make_tiers: Any) -> None:
    mid = ScriptedBackend(["The landlord must fix damp under section 11."], chunk_chars=8)
    writer = InMemoryTurnLogWriter()
    loop = ConversationLoop(persona, make_tiers(small=ScriptedBackend([]), mid=mid), FixedRouter("mid"), writer=writer)
    conv = loop.new_conversation()
    events = await collect(loop, conv, "What does the law say about mould?", metadata={"suite": "s", "item_id": "7"})

    assert isinstance(events[0], Started) and isinstance(events[1], TierChosen) and isinstance(events[-1], TurnDone)
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == "The landlord must fix damp under section 11." == events[-1].answer
    log = events[-1].turn_log
    assert writer.records == [log]
    assert (log.turn_index, log.tier, log.requested_tier, log.router_name) == (0, "mid", "mid", "fixed-mid")
    assert log.gen_ai_request_model == "mid-model" and log.gen_ai_provider_name == "scripted"
    assert log.gen_ai_usage_input_tokens and log.gen_ai_usage_output_tokens
    expected_cost = (log.gen_ai_usage_input_tokens * 1.0 + log.gen_ai_usage_output_tokens * 2.0) / 1e6
    assert log.cost_usd == pytest.approx(expected_cost) and log.price_source == "override"
    assert log.memory_hits > 0 and log.user_text == "What does the law say about mould?"
    assert (log.labels["suite"], log.labels["item_id"]) == ("s", "7")
    assert log.ttft_s is not None and log.latency_s >= log.ttft_s
    assert conv.turn_count == 1 and conv.turns[0].answer == text
    assert conv.cost_usd == pytest.approx(expected_cost)
    # the finished turn was written back as an episodic memory
    assert any("section 11" in h.item.text for h in loop.memory.search("damp section", persona_id=persona.id))


async def test_broken_stream_falls_back_to_nearest_tier_without_gluing_answers(
    persona: Persona, make_tiers: Any
) -> None:
    frontier = ScriptedBackend([ScriptedResponse("HALF AN ANSWER THAT BREAKS", fail_after_chunks=1)])
    mid = ScriptedBackend(["A complete answer."])
    loop = ConversationLoop(persona, make_tiers(mid=mid, frontier=frontier), FixedRouter("frontier"))
    conv = loop.new_conversation()
    events = await collect(loop, conv, "Can I withhold rent?")

    retry = next(e for e in events if isinstance(e, Retrying))
    assert (retry.from_tier, retry.to_tier) == ("frontier", "mid")
    after = events[events.index(retry) :]
    assert "".join(e.text for e in after if isinstance(e, TextDelta)) == "A complete answer."
    log = events[-1].turn_log
    assert (log.fallback_from, log.fallback_to) == ("frontier", "mid")
    assert "StreamInterrupted" in (log.fallback_reason or "")
    assert [a.outcome for a in log.attempts] == ["failed", "accepted"]
    assert conv.turns[0].answer == "A complete answer."


async def test_all_tiers_failing_raises_after_logging_and_keeps_earlier_turns(
    persona: Persona, make_tiers: Any, tmp_path: Path
) -> None:
    small = ScriptedBackend(["fine", ScriptedResponse(error=RateLimited("429 from provider"))])
    mid = ScriptedBackend([ScriptedResponse(error=ProviderError("500 from provider"))])
    path = tmp_path / "turns.jsonl"
    with JsonlTurnLogWriter(path) as writer:
        loop = ConversationLoop(persona, make_tiers(small=small, mid=mid), FixedRouter("small"), writer=writer)
        conv = loop.new_conversation()
        await collect(loop, conv, "hello")
        events: list[Any] = []
        with pytest.raises(AllTiersFailed, match="429 from provider") as info:
            async for event in loop.turn(conv, "second question"):
                events.append(event)
    assert "500 from provider" in str(info.value)
    assert events[-1].turn_log.error_type == "AllTiersFailed" and events[-1].turn_log.tier is None
    assert conv.turn_count == 1
    records = read_turn_logs(path)
    assert [r.turn_index for r in records] == [0, 1] and records[0].ok and not records[1].ok


async def test_tool_sub_loop_runs_tools_and_feeds_errors_back(persona: Persona, make_tiers: Any) -> None:
    @tool
    def lookup_statute(statute: str) -> str:
        """Look up a statute."""
        return f"{statute}: landlord must repair"

    script = [
        ScriptedResponse.tool_call("lookup_statute", '{"statute": "LTA 1985 s11"}', id="c1"),
        ScriptedResponse.tool_call("lookup_statute", '{"statute": ', id="c2"),
        "Section 11 says the landlord must repair.",
    ]
    mid = ScriptedBackend(script)
    loop = ConversationLoop(persona, make_tiers(mid=mid), FixedRouter("mid"), toolbox=Toolbox([lookup_statute]))
    conv = loop.new_conversation()
    events = await collect(loop, conv, "Who repairs the boiler?")

    results = [e for e in events if isinstance(e, ToolResult)]
    assert [r.is_error for r in results] == [False, True]
    assert "not valid JSON" in results[1].content
    assert len([e for e in events if isinstance(e, ToolCalling)]) == 2
    # the model saw both results before answering
    final_request = mid.requests[-1]
    tool_messages = [m for m in final_request.messages if m.role == "tool"]
    assert [m.tool_call_id for m in tool_messages] == ["c1", "c2"]
    assert events[-1].answer == "Section 11 says the landlord must repair."
    log = events[-1].turn_log
    assert [t.name for t in log.tool_calls] == ["lookup_statute", "lookup_statute"]
    assert len(log.attempts) == 3 and log.cost_usd == pytest.approx(sum(a.cost_usd for a in log.attempts))
    assert [m.role for m in conv.turns[0].messages] == ["user", "assistant", "tool", "assistant", "tool", "assistant"]


async def test_last_tool_round_is_sent_without_tools(persona: Persona, make_tiers: Any) -> None:
    @tool
    def lookup_statute(statute: str) -> str:
        """Look up a statute."""
        return "text"

    def script(request: ChatRequest) -> ScriptedResponse:
        if request.tools:
            return ScriptedResponse.tool_call("lookup_statute", '{"statute": "x"}')
        return ScriptedResponse("forced to answer")

    mid = ScriptedBackend(script)
    loop = ConversationLoop(persona, make_tiers(mid=mid), toolbox=Toolbox([lookup_statute]), max_tool_rounds=2)
    conv = loop.new_conversation()
    events = await collect(loop, conv, "loop forever")
    assert [bool(r.tools) for r in mid.requests] == [True, True, False]
    assert events[-1].answer == "forced to answer"


async def test_tools_not_on_the_allow_list_are_never_offered(persona: Persona, make_tiers: Any) -> None:
    @tool
    def delete_everything() -> str:
        """Dangerous."""
        return "deleted"

    mid = ScriptedBackend(["ok"])
    loop = ConversationLoop(persona, make_tiers(mid=mid), toolbox=Toolbox([delete_everything]))
    await collect(loop, loop.new_conversation(), "hi")
    assert mid.requests[0].tools == ()


async def test_rolling_compaction_is_bounded_and_paid_by_the_turn_that_caused_it(persona: Persona) -> None:
    huge = "word " * 5000

    def small_script(request: ChatRequest) -> str:
        return huge if "running summary" in request.system else "small answer"

    small = ScriptedBackend(small_script)
    mid = ScriptedBackend(lambda r: "mid answer " * 20)
    tiers = TierRegistry(
        {"small": scripted_tier(small, model="small-model"), "mid": scripted_tier(mid, model="mid-model")}
    )
    compactor = HistoryCompactor(compact_after=10, keep_recent=5, max_summary_chars=500)
    loop = ConversationLoop(persona, tiers, FixedRouter("mid"), compactor=compactor)
    conv = loop.new_conversation()
    logs = []
    for i in range(40):
        events = await collect(loop, conv, f"question {i} about mould")
        logs.append(events[-1].turn_log)
        assert len(conv.summary) <= 500
        assert conv.turn_count - conv.summarized_turns <= 11
        verbatim_users = [m for m in mid.requests[-1].messages if m.role == "user"]
        assert len(verbatim_users) <= 11  # ≤ 10 earlier turns + the current message
    compacted = [log for log in logs if log.compactions]
    assert [log.turn_index for log in compacted] == [11, 17, 23, 29, 35]
    call = compacted[0].compactions[0]
    assert (call.tier, call.model, call.summarized) == ("small", "small-model", 6)
    assert call.cost_usd and compacted[0].total_cost_usd == pytest.approx(compacted[0].cost_usd + call.cost_usd)
    # the summary is sent to the answering model, the summarised turns are not
    assert "Summary of the conversation so far" in mid.requests[-1].system
    assert "question 0 about" not in "".join(m.content for m in mid.requests[-1].messages)
    # the previous summary is itself re-summarised
    assert "Earlier summary:\n…word word" in small.requests[-1].messages[0].content  # its newest part


async def test_prompt_is_fitted_to_the_chosen_models_budget(persona: Persona) -> None:
    mid = ScriptedBackend(lambda r: "x" * 400)
    tiers = TierRegistry({"mid": scripted_tier(mid, model="tiny", context_window=1200, max_output_tokens=200)})
    loop = ConversationLoop(
        persona, tiers, FixedRouter("mid"), compactor=HistoryCompactor(compact_after=50, keep_recent=5)
    )
    conv = loop.new_conversation()
    for i in range(8):
        await collect(loop, conv, f"tell me about repair and mould number {i}")
    request = mid.requests[-1]
    assert request.system.startswith(persona.system_prompt())
    assert request.messages[-1].content == "tell me about repair and mould number 7"
    sent = sum(m.tokens for m in request.messages)
    assert sent < 1000 and len(request.messages) < 15  # the oldest turns were dropped
    assert "What you remember" not in request.system  # memories go first when over budget


async def test_session_cost_cap_stops_before_calling_a_model(make_tiers: Any) -> None:
    persona = Persona.from_dict(
        {"id": "p", "identity": {"name": "A", "role": "B"}, "routing": {"max_cost_per_session_usd": 0.0001}}
    )
    mid = ScriptedBackend([ScriptedResponse("x" * 400, usage=Usage(input_tokens=100, output_tokens=100))], cycle=True)
    tiers = TierRegistry({"mid": scripted_tier(mid, model="m", price=Price(1000.0, 1000.0))})
    loop = ConversationLoop(persona, tiers)
    conv = loop.new_conversation()
    await collect(loop, conv, "first")
    with pytest.raises(BudgetExceeded, match=r"session cost cap \$0\.0001") as info:
        await collect(loop, conv, "second")
    assert info.value.spent_usd == pytest.approx(0.2)
    assert len(mid.requests) == 1


async def test_missing_usage_is_estimated_and_marked(persona: Persona) -> None:
    mid = ScriptedBackend(["An answer of some length."], report_usage=False)
    loop = ConversationLoop(persona, TierRegistry({"mid": scripted_tier(mid, model="m")}))
    events = await collect(loop, loop.new_conversation(), "question")
    log = events[-1].turn_log
    assert log.tokens_estimated
    assert log.gen_ai_usage_output_tokens == estimate_tokens("An answer of some length.")
    assert log.gen_ai_usage_input_tokens is not None and log.gen_ai_usage_input_tokens > estimate_tokens(
        persona.system_prompt()
    )


class RecordingRouter:
    def __init__(self, tier: str = "mid") -> None:
        self.tier = tier
        self.contexts: list[RoutingContext] = []

    def route(self, context: RoutingContext) -> RoutingDecision:
        self.contexts.append(context)
        return RoutingDecision(
            tier=self.tier, reason="recorded", scores={"x": 1.0}, features={"len": len(context.message)},
        )


async def test_router_gets_the_whole_conversation_context(persona: Persona, make_tiers: Any) -> None:
    router = RecordingRouter("mid")
    loop = ConversationLoop(
        persona, make_tiers(small=ScriptedBackend(["s"], cycle=True), mid=ScriptedBackend(["m"], cycle=True)), router
    )
    conv = loop.new_conversation()
    for i in range(3):
        await collect(loop, conv, f"q{i}", metadata={"item_id": str(i)})
    last = router.contexts[-1]
    assert last.turn_index == 2 and last.previous_tiers == ("mid", "mid")
    assert [m.content for m in last.messages] == ["q0", "m", "q1", "m"]
    assert last.prompt_tokens > len(persona.system_prompt()) // 4
    assert set(last.tiers) == {"small", "mid"} and last.tiers["mid"].input_per_mtok == 1.0
    assert last.metadata["item_id"] == "2" and last.preferences == persona.routing
    assert last.constraints == persona.identity.constraints


async def test_router_choosing_an_unconfigured_tier_falls_back_and_records_it(
    persona: Persona, make_tiers: Any
) -> None:
    loop = ConversationLoop(persona, make_tiers(small=ScriptedBackend(["s"])), RecordingRouter("frontier"))
    events = await collect(loop, loop.new_conversation(), "q")
    log = events[-1].turn_log
    assert (log.requested_tier, log.tier, log.fallback_from, log.fallback_to) == (
        "frontier",
        "small",
        "frontier",
        "small",
    )
    assert "not configured" in (log.fallback_reason or "")


async def test_broken_routers_give_clear_errors(persona: Persona, make_tiers: Any) -> None:
    class Exploding:
        def route(self, context: RoutingContext) -> RoutingDecision:
            raise KeyError("feature")

    loop = ConversationLoop(persona, make_tiers(mid=ScriptedBackend(["m"])), Exploding())
    with pytest.raises(RouterError, match="router Exploding failed: KeyError"):
        await collect(loop, loop.new_conversation(), "q")
    loop = ConversationLoop(persona, make_tiers(mid=ScriptedBackend(["m"])), RecordingRouter("huge"))
    with pytest.raises(UnknownTier, match="'huge' in decision of router RecordingRouter"):
        await collect(loop, loop.new_conversation(), "q")


async def test_an_escalating_router_pays_and_logs_every_attempt(persona: Persona, make_tiers: Any) -> None:
    class Cascade:
        name = "test-cascade"

        def route(self, context: RoutingContext) -> RoutingDecision:
            return RoutingDecision(tier="small", reason="cheap first")

        async def review(self, context: RoutingContext, decision: RoutingDecision, answer: str) -> Verdict:
            if "unsure" in answer:
                return Verdict(accept=False, reason="small tier was unsure", escalate_to="frontier", cost_usd=0.001)
            return Verdict(accept=True, reason="fine")

    small = ScriptedBackend(["I am unsure."])
    frontier = ScriptedBackend(["Definitive answer."])
    loop = ConversationLoop(persona, make_tiers(small=small, frontier=frontier), Cascade())
    conv = loop.new_conversation()
    events = await collect(loop, conv, "hard question")
    log = events[-1].turn_log
    assert [(a.tier, a.outcome) for a in log.attempts] == [("small", "escalated"), ("frontier", "accepted")]
    assert log.tier == "frontier" and events[-1].answer == "Definitive answer."
    assert log.total_cost_usd == pytest.approx(sum(a.cost_usd for a in log.attempts) + 0.001)
    assert [m.content for m in conv.turns[0].messages] == ["hard question", "Definitive answer."]


async def test_many_turns_keep_consistent_logs(persona: Persona) -> None:
    def answer(request: ChatRequest) -> str:
        return "answer " + request.messages[-1].content

    backends = {t: ScriptedBackend(summary_aware(answer)) for t in ("small", "mid", "frontier")}
    tiers = TierRegistry({t: scripted_tier(b, model=f"{t}-model") for t, b in backends.items()})

    class Alternating:
        def route(self, context: RoutingContext) -> RoutingDecision:
            return RoutingDecision(tier=("small", "mid", "frontier")[context.turn_index % 3], reason="cycle")

    writer = InMemoryTurnLogWriter()
    loop = ConversationLoop(persona, tiers, Alternating(), writer=writer)
    conv = loop.new_conversation()
    for i in range(200):
        result = await loop.achat(conv, f"turn {i}")
        assert result.answer == f"answer turn {i}"
    logs = writer.records
    assert [log.turn_index for log in logs] == list(range(200))
    assert [log.tier for log in logs[:3]] == ["small", "mid", "frontier"]
    assert sum(log.total_cost_usd or 0 for log in logs) == pytest.approx(conv.cost_usd)
    assert sum(len(log.compactions) for log in logs) == len(
        [x for x in backends["small"].requests if "running summary" in x.system]
    )
    assert all(log.compactions[0].tier == "small" for log in logs if log.compactions)
    assert all(json.loads(json.dumps(log.to_dict())) == log.to_dict() for log in logs[:5])


def test_sync_chat_helper_reuses_one_loop_in_scripts(persona: Persona, make_tiers: Any) -> None:
    loop = ConversationLoop(persona, make_tiers(mid=ScriptedBackend(["one", "two"])))
    conv = loop.new_conversation()
    assert loop.chat(conv, "a").answer == "one"
    assert loop.chat(conv, "b").answer == "two"
    assert conv.turn_count == 2


async def test_sync_chat_helper_works_inside_a_running_loop(persona: Persona, make_tiers: Any) -> None:
    loop = ConversationLoop(persona, make_tiers(mid=ScriptedBackend(["inside"])))
    assert loop.chat(loop.new_conversation(), "a").answer == "inside"


def test_persona_mismatch_is_a_usage_error(persona: Persona, make_tiers: Any) -> None:
    from persona_lab import Conversation, UsageError

    loop = ConversationLoop(persona, make_tiers(mid=ScriptedBackend(["x"])))
    with pytest.raises(UsageError, match="belongs to persona 'other'"):
        loop.chat(Conversation(persona_id="other"), "hi")


def test_tiers_registry_without_any_tier_fails_clearly(persona: Persona) -> None:
    from persona_lab import TierNotConfigured

    loop = ConversationLoop(persona, TierRegistry({}))
    with pytest.raises(TierNotConfigured, match="no tier is configured"):
        loop.chat(loop.new_conversation(), "hi")


def test_model_config_with_backend_for_tests() -> None:
    backend = ScriptedBackend(["x"])
    assert ModelConfig("scripted", "m").with_backend(backend).backend is backend


async def test_compaction_can_be_switched_off(persona: Persona, make_tiers: Any) -> None:
    mid = ScriptedBackend(["answer"], cycle=True)
    loop = ConversationLoop(persona, make_tiers(mid=mid), compactor=HistoryCompactor.off())
    conv = loop.new_conversation()
    for i in range(15):
        await collect(loop, conv, f"q{i}")
    assert conv.summarized_turns == 0 and conv.summary == ""
    assert len([m for m in mid.requests[-1].messages if m.role == "user"]) == 15
