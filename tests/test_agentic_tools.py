"""Tools in agent runs: errors the model can read, failing calls not repeated, built-in call mistakes."""

from __future__ import annotations

import json
from typing import Any

from persona_lab import AgenticLoop, Persona, Run, Toolbox, ToolCall, tool
from persona_lab.core import ChatRequest, ToolResult
from persona_lab.tiers import ScriptedBackend, ScriptedResponse, TierRegistry
from tests.helpers import scripted_tier

ran: list[dict[str, Any]] = []


@tool
def deadline_calculator(days: int, start: str = "today") -> str:
    """Work out a deadline.

    Args:
        days: days from the start
        start: the start date
    """
    ran.append({"days": days, "start": start})
    if days > 365:
        raise ValueError("too far ahead")
    return f"{days} days from {start}"


@tool
def not_allowed(x: int) -> str:
    """Not on the persona's allow-list."""
    ran.append({"x": x})
    return "should never run"


def registry(backend: ScriptedBackend) -> TierRegistry:
    return TierRegistry({"mid": scripted_tier(backend, model="mid-model")})


def call(name: str, arguments: str, id: str = "c1") -> ScriptedResponse:
    return ScriptedResponse(tool_calls=(ToolCall(id=id, name=name, arguments=arguments),))


def finish_with_tool_results(request: ChatRequest) -> ScriptedResponse:
    results = [m.content for m in request.messages if m.role == "tool"]
    return call("final_answer", json.dumps({"text": " | ".join(results)}), id="fin")


def agent(persona: Persona, backend: ScriptedBackend) -> AgenticLoop:
    return AgenticLoop(persona, registry(backend), toolbox=Toolbox([deadline_calculator, not_allowed]))


def setup_function() -> None:
    ran.clear()


def script(*responses: ScriptedResponse) -> ScriptedBackend:
    """Scripted steps, then a final answer quoting every tool result the model saw."""
    queue = list(responses)

    def next_response(request: ChatRequest) -> ScriptedResponse:
        return queue.pop(0) if queue else finish_with_tool_results(request)

    return ScriptedBackend(next_response)


async def test_invalid_arguments_become_error_results_the_model_reads(persona: Persona) -> None:
    backend = script(
        call("deadline_calculator", "{days: 14", id="a"),
        call("deadline_calculator", '{"days": "soon"}', id="b"),
        call("deadline_calculator", '[14]', id="c"),
    )
    events: list[Any] = []
    run = await agent(persona, backend).run("task", on_event=events.append)

    assert run.status == "completed" and ran == []
    parts = run.output.split(" | ")
    assert "not valid JSON" in parts[0]
    assert "days" in parts[1] and parts[1].startswith("ERROR")
    assert "must be a JSON object" in parts[2]
    errors = [e for e in events if isinstance(e, ToolResult)]
    assert [e.is_error for e in errors] == [True, True, True]
    assert all(r.is_error for s in run.steps for r in s.tool_calls)


async def test_exceptions_are_readable_and_the_same_failing_call_is_not_run_twice(persona: Persona) -> None:
    backend = script(
        call("deadline_calculator", '{"days": 400}', id="a"),
        call("deadline_calculator", '{ "days" : 400 }', id="b"),  # same call, other spacing
        call("deadline_calculator", '{"days": 14}', id="c"),
    )
    events: list[Any] = []
    run = await agent(persona, backend).run("task", on_event=events.append)

    assert [r["days"] for r in ran] == [400, 14]  # the repeat never ran
    first, repeat, ok = (e for e in events if isinstance(e, ToolResult))
    assert first.is_error and "ValueError: too far ahead" in first.content and not first.cached
    assert repeat.is_error and repeat.cached and "not run again" in repeat.content
    assert not ok.is_error and ok.content == "14 days from today"
    assert run.steps[1].tool_calls[0].cached
    assert [f.name for f in run.failed_calls] == ["deadline_calculator"]


async def test_the_failed_call_memory_survives_a_resume(persona: Persona) -> None:
    first = script(
        call("deadline_calculator", '{"days": 400}', id="a"),
        call("ask_user", '{"question": "Start date?"}', id="q"),
    )
    parked = await agent(persona, first).run("task")
    assert parked.status == "awaiting_user" and len(ran) == 1

    second = script(call("deadline_calculator", '{"days": 400}', id="b"))
    done = await agent(persona, second).resume(Run.from_json(parked.to_json()), "Monday")
    assert done.status == "completed" and len(ran) == 1
    assert "not run again" in done.output


async def test_tools_off_the_allow_list_are_not_offered_or_run(persona: Persona) -> None:
    backend = script(call("not_allowed", '{"x": 1}'))
    run = await agent(persona, backend).run("task")
    assert "not_allowed" not in [t.name for t in backend.requests[0].tools]
    assert ran == [] and "unknown tool 'not_allowed'" in run.output


async def test_mistakes_with_the_built_in_actions_are_explained_to_the_model(persona: Persona) -> None:
    two_questions = ScriptedResponse(
        tool_calls=(
            ToolCall(id="q1", name="ask_user", arguments='{"question": "City?"}'),
            ToolCall(id="q2", name="ask_user", arguments='{"question": "Street?"}'),
        )
    )
    backend = script(
        call("final_answer", '{"text": ""}', id="f0"),
        call("ask_user", '{"question": "Which?", "options": "London"}', id="q0"),
        two_questions,
    )
    asked: list[str] = []

    async def user_respond(question: Any) -> str:
        asked.append(question.question)
        return "Leeds"

    run = await agent(persona, backend).run("task", user_respond=user_respond)
    assert run.status == "completed"
    results = run.output.split(" | ")
    assert "final_answer needs a non-empty" in results[0]
    assert "'options' must be a list" in results[1]
    assert results[2:] == ["The user answered: Leeds", results[3]] and "one question per step" in results[3]
    assert asked == ["City?"]


async def test_a_final_answer_ends_the_step_without_running_other_calls(persona: Persona) -> None:
    both = ScriptedResponse(
        tool_calls=(
            ToolCall(id="c1", name="deadline_calculator", arguments='{"days": 1}'),
            ToolCall(id="f", name="final_answer", arguments='{"text": "Done."}'),
        )
    )
    run = await agent(persona, ScriptedBackend([both])).run("task")
    assert run.status == "completed" and run.output == "Done." and ran == []
    assert "not run: deadline_calculator" in run.steps[0].note
