"""The agentic loop with scripted tiers (test doubles): statuses, events, routing per step, turn logs."""

from __future__ import annotations

import json
from typing import Any

from persona_lab import (
    AgenticLoop,
    InMemoryTurnLogWriter,
    Persona,
    RoutingContext,
    RoutingDecision,
    RunStatus,
    Toolbox,
    ToolCall,
    tool,
    turn_logs_to_frame,
)
from persona_lab.core import (
    BudgetExceededEvent,
    ChatRequest,
    ErrorOccurred,
    Finished,
    MaxStepsReached,
    ProviderError,
    Reasoning,
    RunCompleted,
    Started,
    TextDelta,
    Thinking,
    TierChosen,
    ToolCalling,
    ToolResult,
    TurnDone,
    event_from_dict,
)
from persona_lab.tiers import Price, ScriptedBackend, ScriptedResponse, TierRegistry
from tests.helpers import scripted_tier


@tool
def lookup_statute(name: str) -> str:
    """Look up what a statute says.

    Args:
        name: the statute's short name
    """
    return f"{name}: the landlord must keep the structure in repair"


def calls(*pairs: tuple[str, dict[str, Any]], text: str = "") -> ScriptedResponse:
    return ScriptedResponse(
        text=text,
        tool_calls=tuple(
            ToolCall(id=f"call_{i}", name=name, arguments=json.dumps(args)) for i, (name, args) in enumerate(pairs)
        ),
    )


def final(text: str) -> ScriptedResponse:
    return calls(("final_answer", {"text": text}))


class RecordingRouter:
    """Routes by a list of tiers (cycled) and records every context it saw."""

    name = "recording"

    def __init__(self, *tiers: str):
        self.tiers = tiers or ("mid",)
        self.contexts: list[RoutingContext] = []

    def route(self, context: RoutingContext) -> RoutingDecision:
        self.contexts.append(context)
        tier = self.tiers[len(self.contexts) - 1] if len(self.contexts) <= len(self.tiers) else self.tiers[-1]
        return RoutingDecision(tier=tier, reason=f"step {context.step_index} -> {tier}", scores={tier: 1.0})


def registry(**backends: ScriptedBackend) -> TierRegistry:
    return TierRegistry({t: scripted_tier(b, model=f"{t}-model") for t, b in backends.items()})


async def test_tool_step_then_final_answer_streams_events_and_logs_each_step(persona: Persona) -> None:
    mid = ScriptedBackend(
        [
            calls(("lookup_statute", {"name": "LTA 1985 s11"}), text="I will check the statute."),
            final("Write to your landlord citing section 11."),
        ],
        chunk_chars=8,
    )
    writer = InMemoryTurnLogWriter()
    router = RecordingRouter("mid")
    agent = AgenticLoop(persona, registry(mid=mid), router, toolbox=Toolbox([lookup_statute]), writer=writer)
    events: list[Any] = []
    run = await agent.run("Draft a complaint about mould", on_event=events.append, metadata={"suite": "agents"})

    assert run.status is RunStatus.COMPLETED and run.status == "completed"
    assert run.output == "Write to your landlord citing section 11."
    assert [s.action for s in run.steps] == ["tools", "final_answer"]
    assert run.steps[0].tool_calls[0].result.startswith("LTA 1985 s11: the landlord")

    kinds = [type(e) for e in events]
    assert kinds[0] is Started and events[0].scope == "run"
    assert kinds[-2:] == [RunCompleted, Finished]
    step0 = kinds[1 : kinds.index(TurnDone) + 1]
    assert step0[:4] == [Started, TierChosen, Thinking, TextDelta]
    assert step0[-4:] == [Reasoning, ToolCalling, ToolResult, TurnDone]
    assert [e.text for e in events if isinstance(e, Reasoning)] == ["I will check the statute."]
    assert all(e.id == run.id for e in events)
    assert [e.index for e in events if isinstance(e, Started) and e.scope == "step"] == [0, 1]
    finished = events[-1]
    assert (finished.status, finished.output, finished.tokens) == ("completed", run.output, run.tokens)
    assert finished.cost_usd == run.cost_usd > 0

    # every event is JSON-safe and rebuilds to an equal event
    for e in events:
        assert event_from_dict(json.loads(json.dumps(e.to_dict()))) == e

    assert writer.records == list(run.turn_logs) and len(writer.records) == 2
    first = writer.records[0]
    assert (first.kind, first.run_id, first.step_index, first.turn_index) == ("agent_step", run.id, 0, 0)
    assert (first.router_name, first.requested_tier, first.tier) == ("recording", "mid", "mid")
    assert first.decision_reason == "step 0 -> mid" and first.labels["suite"] == "agents"
    assert router.contexts[0].metadata == {"suite": "agents"}
    assert first.gen_ai_usage_input_tokens and first.cost_usd and first.cost_usd > 0
    assert [c.name for c in first.tool_calls] == ["lookup_statute"]
    assert run.cost_usd == sum(t.total_cost_usd or 0 for t in run.turn_logs)
    assert run.input_tokens == sum(t.gen_ai_usage_input_tokens or 0 for t in run.turn_logs)
    frame = turn_logs_to_frame(writer.records)
    assert list(frame["kind"]) == ["agent_step", "agent_step"] and list(frame["step_index"]) == [0, 1]

    # only allow-listed tools and the two built-ins are offered, as native tools
    offered = [t.name for t in mid.requests[0].tools]
    assert offered == ["lookup_statute", "ask_user", "final_answer"]
    # the second step sees the tool call and its result
    roles = [m.role for m in mid.requests[1].messages]
    assert roles == ["user", "assistant", "tool"]


async def test_router_is_consulted_for_every_step_with_the_step_context(persona: Persona) -> None:
    small = ScriptedBackend([calls(("lookup_statute", {"name": "A"}))])
    frontier = ScriptedBackend([calls(("lookup_statute", {"name": "B"})), final("done")])
    router = RecordingRouter("small", "frontier", "frontier")
    agent = AgenticLoop(persona, registry(small=small, frontier=frontier), router, toolbox=Toolbox([lookup_statute]))
    run = await agent.run("task")

    assert run.status == "completed" and len(run.steps) == 3
    assert len(router.contexts) == 3
    assert [c.step_index for c in router.contexts] == [0, 1, 2]
    assert [c.turn_index for c in router.contexts] == [0, 1, 2]
    assert all(c.tools_needed and c.conversation_id == run.id for c in router.contexts)
    assert router.contexts[2].previous_tiers == ("small", "frontier")
    assert router.contexts[1].session_cost_usd > 0
    assert router.contexts[2].prompt_tokens > router.contexts[0].prompt_tokens
    assert "final_answer" in router.contexts[0].tool_names
    assert [s.tier for s in run.steps] == ["small", "frontier", "frontier"]
    assert [t.tier for t in run.turn_logs] == ["small", "frontier", "frontier"]


async def test_marker_final_answer_with_a_question_mark_completes(persona: Persona) -> None:
    """The seed took a short [FINAL] answer containing '?' for a question and never finished."""
    backend = ScriptedBackend(["Checked the dates.\n[FINAL] The deadline is 14 days. Shall I draft the letter?"])
    tiers = TierRegistry({"mid": scripted_tier(backend, model="plain", supports_tools=False)})
    events: list[Any] = []
    run = await AgenticLoop(persona, tiers).run("When must the landlord reply?", on_event=events.append)

    assert run.status == "completed"
    assert run.output == "The deadline is 14 days. Shall I draft the letter?"
    assert run.pending_question is None and run.steps[0].action == "final_answer"
    assert [e.text for e in events if isinstance(e, Reasoning)] == ["Checked the dates."]
    request = backend.requests[0]
    assert request.tools == () and "[FINAL]" in request.system and "[ASK_USER]" in request.system


async def test_markers_count_only_at_the_start_of_a_line(persona: Persona) -> None:
    backend = ScriptedBackend(["I could write [ASK_USER] here, or [FINAL] there; it means nothing mid-line."])
    tiers = TierRegistry({"mid": scripted_tier(backend, model="plain", supports_tools=False)})
    run = await AgenticLoop(persona, tiers).run("task")
    assert run.status == "completed" and run.pending_question is None
    assert run.output.startswith("I could write [ASK_USER] here")


async def test_plain_text_is_the_final_answer_and_an_empty_reply_is_nudged(persona: Persona) -> None:
    backend = ScriptedBackend(["", "The landlord has 14 days."])
    run = await AgenticLoop(persona, registry(mid=backend)).run("task")
    assert run.status == "completed" and run.output == "The landlord has 14 days."
    assert [s.action for s in run.steps] == ["empty", "final_answer"]
    assert "empty" in backend.requests[1].messages[-1].content


async def test_max_steps_ends_with_a_wrap_up_summary(persona: Persona) -> None:
    def script(request: ChatRequest) -> ScriptedResponse:
        if request.tool_choice == "none":
            return ScriptedResponse(text="[FINAL] So far: section 11 applies; letter not drafted yet.")
        return calls(("lookup_statute", {"name": f"S{len(request.messages)}"}), text="Checking another statute.")

    backend = ScriptedBackend(script)
    router = RecordingRouter("mid")
    events: list[Any] = []
    agent = AgenticLoop(persona, registry(mid=backend), router, toolbox=Toolbox([lookup_statute]), max_steps=3)
    run = await agent.run("task", on_event=events.append)

    assert run.status is RunStatus.MAX_STEPS_REACHED
    assert run.output == "So far: section 11 applies; letter not drafted yet."
    assert [s.action for s in run.steps] == ["tools", "tools", "tools", "wrap_up"]
    assert [m.role for m in run.steps[-1].messages] == ["user", "assistant"]
    assert len(router.contexts) == 4 and router.contexts[-1].tools_needed is False
    wrap = backend.requests[-1]
    assert "used all 3 steps" in wrap.messages[-1].content
    assert len(run.turn_logs) == 4 and run.turn_logs[-1].step_index == 3
    assert isinstance(events[-2], MaxStepsReached) and events[-2].output == run.output
    assert isinstance(events[-1], Finished) and events[-1].status == "max_steps_reached"


async def test_max_steps_without_wrap_up_uses_the_last_notes(persona: Persona) -> None:
    backend = ScriptedBackend([calls(("lookup_statute", {"name": "X"}), text="Still looking.")], cycle=True)
    agent = AgenticLoop(persona, registry(mid=backend), toolbox=Toolbox([lookup_statute]), max_steps=2, wrap_up=False)
    run = await agent.run("task")
    assert run.status == "max_steps_reached" and len(backend.requests) == 2
    assert "No final answer after 2 steps" in run.output and "Still looking." in run.output


async def test_cost_budget_stops_the_run_at_a_step_boundary(persona: Persona) -> None:
    backend = ScriptedBackend([calls(("lookup_statute", {"name": "X"}), text="Looking.")], cycle=True)
    tiers = TierRegistry({"mid": scripted_tier(backend, model="dear", price=Price(1000.0, 1000.0))})
    events: list[Any] = []
    agent = AgenticLoop(persona, tiers, toolbox=Toolbox([lookup_statute]), max_cost_usd=0.5)
    run = await agent.run("task", on_event=events.append)

    assert run.status is RunStatus.BUDGET_EXCEEDED
    per_step = run.steps[0].cost_usd
    assert per_step is not None and per_step > 0
    assert run.cost_usd >= 0.5 and run.cost_usd - per_step < 0.5  # stopped at the first boundary past the cap
    assert len(run.steps) < agent.max_steps
    assert "run budget" in run.reason and "Looking." in run.output
    assert isinstance(events[-2], BudgetExceededEvent) and events[-2].reason == run.reason
    assert events[-1].status == "budget_exceeded"


async def test_token_budget_stops_the_run(persona: Persona) -> None:
    backend = ScriptedBackend([calls(("lookup_statute", {"name": "X"}))], cycle=True)
    agent = AgenticLoop(persona, registry(mid=backend), toolbox=Toolbox([lookup_statute]), max_tokens=1500)
    run = await agent.run("task")
    assert run.status == "budget_exceeded" and "token budget" in run.reason
    assert run.tokens >= 1500 and len(run.steps) >= 2


async def test_failing_tiers_end_the_run_with_an_error_status(persona: Persona) -> None:
    broken = ScriptedBackend([ScriptedResponse(error=ProviderError("upstream 500", provider="scripted"))], cycle=True)
    writer = InMemoryTurnLogWriter()
    events: list[Any] = []
    run = await AgenticLoop(persona, registry(mid=broken), writer=writer).run("task", on_event=events.append)

    assert run.status is RunStatus.ERROR and run.error_type == "AllTiersFailed"
    assert "upstream 500" in run.reason
    assert isinstance(events[-2], ErrorOccurred) and events[-2].error_type == "AllTiersFailed"
    assert isinstance(events[-1], Finished) and events[-1].status == "error"
    assert len(writer.records) == 1 and writer.records[0].error_type == "AllTiersFailed"
    assert run.steps[0].action == "failed"


async def test_a_broken_router_is_an_error_status_not_an_exception(persona: Persona) -> None:
    class Broken:
        def route(self, context: RoutingContext) -> RoutingDecision:
            raise KeyError("features")

    run = await AgenticLoop(persona, registry(mid=ScriptedBackend([])), Broken()).run("task")  # type: ignore[arg-type]
    assert run.status == "error" and run.error_type == "RouterError" and "Broken failed" in run.reason


async def test_async_on_event_and_the_stream_form_see_the_same_events(persona: Persona) -> None:
    def agent() -> AgenticLoop:
        script = [calls(("lookup_statute", {"name": "X"})), final("done")]
        return AgenticLoop(persona, registry(mid=ScriptedBackend(script)), toolbox=Toolbox([lookup_statute]))

    seen: list[str] = []

    async def on_event(event: Any) -> None:
        seen.append(event.kind)

    run = await agent().run("task", on_event=on_event)
    stream = agent().stream("task")
    streamed = [e.kind async for e in stream]
    assert seen == streamed and streamed[-1] == "finished"
    assert stream.run is not None and stream.run.output == run.output == "done"


async def test_a_raising_on_event_ends_the_run_as_error_after_the_step(persona: Persona) -> None:
    backend = ScriptedBackend([calls(("lookup_statute", {"name": "X"})), final("done")])
    writer = InMemoryTurnLogWriter()

    def on_event(event: Any) -> None:
        if isinstance(event, ToolCalling):
            raise RuntimeError("widget broke")

    agent = AgenticLoop(persona, registry(mid=backend), toolbox=Toolbox([lookup_statute]), writer=writer)
    run = await agent.run("task", on_event=on_event)
    assert run.status == "error" and run.error_type == "RuntimeError" and "widget broke" in run.reason
    # the step in progress was finished (its tool ran, its turn log was written)
    assert len(run.steps) == 1 and run.steps[0].tool_calls[0].is_error is False and len(writer.records) == 1


def test_reserved_tool_names_and_bad_limits_are_rejected(persona: Persona) -> None:
    import pytest

    from persona_lab import UsageError

    @tool
    def final_answer(text: str) -> str:
        """Not allowed."""
        return text

    allowed = persona.model_copy(update={"tools": ("final_answer",)})
    with pytest.raises(UsageError, match="reserved"):
        AgenticLoop(allowed, registry(mid=ScriptedBackend([])), toolbox=Toolbox([final_answer]))
    with pytest.raises(ValueError, match="max_steps"):
        AgenticLoop(persona, registry(mid=ScriptedBackend([])), max_steps=0)


async def test_a_failing_model_falls_back_within_the_step(persona: Persona) -> None:
    broken = ScriptedBackend([ScriptedResponse(text="half an ans", fail_after_chunks=1)], cycle=True, chunk_chars=4)
    frontier = ScriptedBackend([final("done on frontier")])
    events: list[Any] = []
    run = await AgenticLoop(persona, registry(mid=broken, frontier=frontier)).run("task", on_event=events.append)
    assert run.status == "completed" and run.output == "done on frontier"
    retry = [e for e in events if type(e).__name__ == "Retrying"]
    assert len(retry) == 1 and (retry[0].from_tier, retry[0].to_tier) == ("mid", "frontier")
    log = run.turn_logs[0]
    assert (log.requested_tier, log.tier, log.fallback_from, log.fallback_to) == ("mid", "frontier", "mid", "frontier")
    assert [a.outcome for a in log.attempts] == ["failed", "accepted"]
    assert run.steps[0].tier == "frontier"
