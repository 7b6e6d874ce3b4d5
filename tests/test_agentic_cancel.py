"""Cancelling runs: mid-generation, at a step boundary, during a tool, while asking, from a thread."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import pytest

from persona_lab import AgenticLoop, CancelToken, InMemoryTurnLogWriter, Persona, RunStatus, Toolbox, ToolCall, tool
from persona_lab.core import AskingUser, Finished, RunCancelled, Started, TextDelta, ToolResult, TurnDone
from persona_lab.tiers import ScriptedBackend, ScriptedResponse, TierRegistry
from tests.helpers import scripted_tier

LONG = "The landlord must repair the damp. " * 60  # ~2,000 characters: 200 chunks of 10


def registry(backend: ScriptedBackend) -> TierRegistry:
    return TierRegistry({"mid": scripted_tier(backend, model="mid-model")})


def steps_are_closed(events: list[Any]) -> bool:
    """Every step that started also ended with its TurnDone."""
    started = [e.index for e in events if isinstance(e, Started) and e.scope == "step"]
    done = [e.index for e in events if isinstance(e, TurnDone)]
    return started == done


async def test_cancel_from_another_task_interrupts_a_generation(persona: Persona) -> None:
    backend = ScriptedBackend([LONG], chunk_chars=10, time_per_chunk_s=0.01)  # 2 s if left alone
    writer = InMemoryTurnLogWriter()
    token = CancelToken()
    events: list[Any] = []
    agent = AgenticLoop(persona, registry(backend), writer=writer)

    async def cancel_soon() -> None:
        while not any(isinstance(e, TextDelta) for e in events):
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.03)
        token.cancel("user pressed stop")

    started = time.perf_counter()
    run, _ = await asyncio.gather(agent.run("task", on_event=events.append, cancel=token), cancel_soon())
    elapsed = time.perf_counter() - started

    assert run.status is RunStatus.CANCELLED and run.reason == "user pressed stop"
    assert elapsed < 1.0
    streamed = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert 0 < len(streamed) < len(LONG)
    step = run.steps[0]
    assert step.action == "interrupted" and step.text == streamed and "interrupted" in step.note
    assert step.messages == ()  # a half answer never enters the transcript
    log = writer.records[0]
    assert log.error_type == "RunCancelled" and log.tokens_estimated
    assert log.gen_ai_usage_output_tokens and log.total_cost_usd and log.total_cost_usd > 0
    assert run.cost_usd == log.total_cost_usd
    assert steps_are_closed(events)
    assert isinstance(events[-2], RunCancelled) and events[-2].reason == "user pressed stop"
    assert isinstance(events[-1], Finished) and events[-1].status == "cancelled"


async def test_cancel_while_waiting_for_the_first_token(persona: Persona) -> None:
    backend = ScriptedBackend([ScriptedResponse(text="late", latency_s=5.0)])
    token = CancelToken()
    agent = AgenticLoop(persona, registry(backend))
    task = asyncio.ensure_future(agent.run("task", cancel=token))
    await asyncio.sleep(0.05)
    token.cancel()
    run = await asyncio.wait_for(task, 1.0)
    assert run.status == "cancelled" and run.steps[0].action == "interrupted" and run.steps[0].text == ""


async def test_cancel_at_a_step_boundary_lets_the_step_finish(persona: Persona) -> None:
    @tool
    def lookup_statute(name: str) -> str:
        """Look up a statute."""
        return "section 11"

    call = ScriptedResponse(tool_calls=(ToolCall(id="c1", name="lookup_statute", arguments='{"name": "LTA"}'),))
    backend = ScriptedBackend([call], cycle=True)
    token = CancelToken()
    events: list[Any] = []

    def on_event(event: Any) -> None:
        events.append(event)
        if isinstance(event, ToolResult):
            token.cancel("enough")  # from inside the run: takes effect at the next boundary

    run = await AgenticLoop(persona, registry(backend), toolbox=Toolbox([lookup_statute])).run(
        "task", on_event=on_event, cancel=token
    )
    assert run.status == "cancelled" and len(backend.requests) == 1
    assert [s.action for s in run.steps] == ["tools"] and run.steps[0].tool_calls[0].result == "section 11"
    assert steps_are_closed(events)


async def test_a_running_async_tool_is_abandoned_and_recorded(persona: Persona) -> None:
    finished: list[str] = []

    @tool
    async def lookup_statute(name: str) -> str:
        """Slow lookup."""
        await asyncio.sleep(5)
        finished.append(name)
        return "never"

    @tool
    def deadline_calculator(days: int) -> str:
        """Never reached."""
        finished.append("deadline")
        return "x"

    response = ScriptedResponse(
        tool_calls=(
            ToolCall(id="c1", name="lookup_statute", arguments='{"name": "LTA"}'),
            ToolCall(id="c2", name="deadline_calculator", arguments='{"days": 14}'),
        )
    )
    token = CancelToken()
    events: list[Any] = []
    agent = AgenticLoop(persona, registry(ScriptedBackend([response])),
                        toolbox=Toolbox([lookup_statute, deadline_calculator]))
    task = asyncio.ensure_future(agent.run("task", on_event=events.append, cancel=token))
    await asyncio.sleep(0.05)
    token.cancel()
    run = await asyncio.wait_for(task, 1.0)

    assert run.status == "cancelled" and finished == []
    records = run.steps[0].tool_calls
    assert [r.name for r in records] == ["lookup_statute", "deadline_calculator"]
    assert records[0].is_error and records[0].result.startswith("ABANDONED")
    assert records[1].is_error and records[1].result.startswith("NOT RUN")
    # every call in the transcript has its result: the step is whole
    results = [m.tool_call_id for m in run.steps[0].messages if m.role == "tool"]
    assert results == ["c1", "c2"]
    assert [e.call_id for e in events if isinstance(e, ToolResult)] == ["c1"]
    assert steps_are_closed(events)


async def test_cancel_while_waiting_for_the_user(persona: Persona) -> None:
    response = ScriptedResponse(
        tool_calls=(ToolCall(id="q", name="ask_user", arguments=json.dumps({"question": "Which city?"})),),
    )
    token = CancelToken()

    async def user_respond(question: AskingUser) -> str:
        await asyncio.sleep(10)
        return "never"

    async def cancel_soon() -> None:
        await asyncio.sleep(0.05)
        token.cancel("closed the notebook")

    agent = AgenticLoop(persona, registry(ScriptedBackend([response])))
    run, _ = await asyncio.wait_for(
        asyncio.gather(agent.run("task", user_respond=user_respond, cancel=token), cancel_soon()), 1.0
    )
    assert run.status == "cancelled" and run.reason == "closed the notebook"
    assert run.steps[0].question == "Which city?" and run.steps[0].answer is None
    assert "waiting for the user" in run.steps[0].note
    assert run.turn_logs[0].latency_s < 0.05  # time spent waiting for the user is not model latency


async def test_cancel_from_another_thread(persona: Persona) -> None:
    backend = ScriptedBackend([LONG], chunk_chars=10, time_per_chunk_s=0.01)
    token = CancelToken()
    timer = threading.Timer(0.05, token.cancel, kwargs={"reason": "from a thread"})
    timer.start()
    try:
        run = await asyncio.wait_for(AgenticLoop(persona, registry(backend)).run("task", cancel=token), 1.0)
    finally:
        timer.cancel()
    assert run.status == "cancelled" and run.reason == "from a thread"


async def test_a_token_cancelled_before_the_run_calls_no_model(persona: Persona) -> None:
    backend = ScriptedBackend(["answer"])
    token = CancelToken()
    token.cancel()
    run = await AgenticLoop(persona, registry(backend)).run("task", cancel=token)
    assert run.status == "cancelled" and run.steps == () and backend.requests == []
    assert token.cancelled and repr(token).startswith("CancelToken(cancelled")


async def test_cancelling_the_callers_task_is_not_swallowed(persona: Persona) -> None:
    backend = ScriptedBackend([LONG], chunk_chars=10, time_per_chunk_s=0.01)
    task = asyncio.ensure_future(AgenticLoop(persona, registry(backend)).run("task", cancel=CancelToken()))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
