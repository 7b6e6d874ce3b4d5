"""Asking the user: options and free text, repeats, the question cap, parking and resuming."""

from __future__ import annotations

import json
from typing import Any

import pytest

from persona_lab import AgenticLoop, Persona, Run, RunStatus, ToolCall, UsageError
from persona_lab.core import AskingUser, ChatRequest, Finished, Started, ToolResult, UserResponded
from persona_lab.tiers import ScriptedBackend, ScriptedResponse, TierRegistry
from tests.helpers import scripted_tier


def ask(question: str, options: list[str] | None = None, *, id: str = "ask_1") -> ScriptedResponse:
    args: dict[str, Any] = {"question": question}
    if options is not None:
        args["options"] = options
    return ScriptedResponse(tool_calls=(ToolCall(id=id, name="ask_user", arguments=json.dumps(args)),))


def final(text: str) -> ScriptedResponse:
    return ScriptedResponse(tool_calls=(ToolCall(id="fin", name="final_answer", arguments=json.dumps({"text": text})),))


def registry(backend: ScriptedBackend, **kw: Any) -> TierRegistry:
    return TierRegistry({"mid": scripted_tier(backend, model="mid-model", **kw)})


def answer_from_last_tool_result(request: ChatRequest) -> ScriptedResponse:
    """A script that finishes by echoing the last thing it was told."""
    return final(f"Noted: {request.messages[-1].content}")


async def test_question_with_options_is_answered_through_the_callback(persona: Persona) -> None:
    backend = ScriptedBackend(
        lambda r: ask("Which city is the flat in?", ["London", "Leeds", "Other"]) if len(r.messages) == 1
        else answer_from_last_tool_result(r)
    )
    asked: list[AskingUser] = []

    async def user_respond(question: AskingUser) -> str:
        asked.append(question)
        return "2"  # the second option

    events: list[Any] = []
    run = await AgenticLoop(persona, registry(backend)).run(
        "Draft a letter", user_respond=user_respond, on_event=events.append
    )
    assert run.status == "completed" and run.output == "Noted: The user answered: Leeds"
    assert asked[0].question == "Which city is the flat in?" and asked[0].options == ("London", "Leeds", "Other")
    step = run.steps[0]
    assert (step.action, step.question, step.answer) == ("ask_user", "Which city is the flat in?", "Leeds")
    # the answer goes back as the ask_user call's tool result
    tool_message = backend.requests[1].messages[-1]
    assert tool_message.role == "tool" and tool_message.tool_call_id == "ask_1"
    kinds = [type(e) for e in events]
    assert kinds.index(AskingUser) < kinds.index(UserResponded)
    assert [e.answer for e in events if isinstance(e, UserResponded)] == ["Leeds"]
    assert run.questions_asked == 1


async def test_free_text_answers_and_sync_responders_work(persona: Persona) -> None:
    backend = ScriptedBackend(
        lambda r: ask("What is the address?") if len(r.messages) == 1 else answer_from_last_tool_result(r)
    )
    run = await AgenticLoop(persona, registry(backend)).run("task", user_respond=lambda q: "12 Mill Lane")  # type: ignore[arg-type,return-value]
    assert run.output == "Noted: The user answered: 12 Mill Lane" and run.steps[0].options == ()


async def test_more_than_three_options_are_cut_to_three(persona: Persona) -> None:
    backend = ScriptedBackend([ask("Pick one", ["a", "b", "c", "d"]), final("ok")])
    seen: list[tuple[str, ...]] = []

    async def user_respond(q: AskingUser) -> str:
        seen.append(q.options)
        return "free text"

    run = await AgenticLoop(persona, registry(backend)).run("task", user_respond=user_respond)
    assert seen == [("a", "b", "c")] and "first 3 of 4" in run.steps[0].note


async def test_a_repeated_question_is_not_asked_twice(persona: Persona) -> None:
    backend = ScriptedBackend(
        lambda r: [ask("Which city?", id="a1"), ask("which  city", id="a2")][len(r.messages) // 2]
        if len(r.messages) < 4 else answer_from_last_tool_result(r)
    )
    asked: list[str] = []

    async def user_respond(q: AskingUser) -> str:
        asked.append(q.question)
        return "Leeds"

    events: list[Any] = []
    run = await AgenticLoop(persona, registry(backend)).run("task", user_respond=user_respond, on_event=events.append)
    assert asked == ["Which city?"]
    assert run.output == "Noted: You already asked this; the user answered: Leeds"
    cached = [e for e in events if isinstance(e, ToolResult) and e.name == "ask_user"]
    assert len(cached) == 1 and cached[0].cached and cached[0].call_id == "a2"
    assert run.questions_asked == 1


async def test_the_persona_caps_questions_and_the_model_is_told_to_proceed(persona: Persona) -> None:
    assert persona.autonomy.max_questions == 2
    questions = iter(["Which city?", "Which street?", "Which floor?"])
    backend = ScriptedBackend(
        lambda r: ask(next(questions), id=f"q{len(r.messages)}") if len(r.messages) < 7
        else answer_from_last_tool_result(r)
    )
    asked: list[str] = []

    async def user_respond(q: AskingUser) -> str:
        asked.append(q.question)
        return "x"

    run = await AgenticLoop(persona, registry(backend)).run("task", user_respond=user_respond)
    assert asked == ["Which city?", "Which street?"]
    assert "best judgement" in run.output and run.status == "completed"
    assert "question limit" in run.steps[2].note


async def test_without_a_responder_the_run_parks_and_resumes_in_a_new_process(persona: Persona) -> None:
    first = ScriptedBackend([ask("Which city?", ["London", "Leeds"])])
    events: list[Any] = []
    parked = await AgenticLoop(persona, registry(first)).run("Draft a letter", on_event=events.append)

    assert parked.status is RunStatus.AWAITING_USER
    assert parked.pending_question is not None and parked.pending_question.options == ("London", "Leeds")
    assert isinstance(events[-1], Finished) and events[-1].status == "awaiting_user"
    assert isinstance(events[-3], AskingUser)  # AskingUser, the step's TurnDone, Finished

    text = parked.to_json()
    restored = Run.from_json(text)
    assert restored == parked and restored.to_json() == text

    # a fresh loop, fresh backend: nothing from the first process is reused
    second = ScriptedBackend(answer_from_last_tool_result)
    resumed_events: list[Any] = []
    done = await AgenticLoop(persona, registry(second)).resume(restored, "London", on_event=resumed_events.append)

    assert done.status == "completed" and done.output == "Noted: The user answered: London"
    assert done.id == parked.id and len(done.steps) == 2 and done.steps[0].answer == "London"
    assert len(done.turn_logs) == 2 and done.cost_usd > parked.cost_usd
    sent = second.requests[0].messages
    assert [m.role for m in sent] == ["user", "assistant", "tool"] and sent[-1].tool_call_id == "ask_1"
    assert isinstance(resumed_events[0], Started) and resumed_events[0].scope == "run"
    assert isinstance(resumed_events[1], UserResponded) and resumed_events[1].answer == "London"
    # the same question is not asked again after the resume
    assert done.asked == (("Which city?", "London"),)

    with pytest.raises(UsageError, match="not awaiting_user"):
        await AgenticLoop(persona, registry(second)).resume(done, "again")


async def test_marker_questions_park_and_resume_too(persona: Persona) -> None:
    first = ScriptedBackend(["I need one detail.\n[ASK_USER] Is the mould in the bedroom?\n- yes\n- no\n"])
    parked = await AgenticLoop(persona, registry(first, supports_tools=False)).run("task")
    assert parked.status == "awaiting_user"
    assert parked.pending_question is not None
    assert (parked.pending_question.question, parked.pending_question.options) == (
        "Is the mould in the bedroom?", ("yes", "no")
    )
    assert parked.steps[0].text == "I need one detail."

    second = ScriptedBackend(lambda r: f"[FINAL] Got it: {r.messages[-1].content}")
    done = await AgenticLoop(persona, registry(second, supports_tools=False)).resume(
        Run.from_json(parked.to_json()), "1"
    )
    assert done.status == "completed" and done.output == "Got it: The user answered: yes"
    assert second.requests[0].messages[-1].role == "user"


async def test_proceed_mode_tells_the_model_no_user_is_available(persona: Persona) -> None:
    backend = ScriptedBackend(
        lambda r: ask("Which city?") if len(r.messages) == 1 else answer_from_last_tool_result(r)
    )
    run = await AgenticLoop(persona, registry(backend), without_responder="proceed").run("task")
    assert run.status == "completed" and "No user is available" in run.output


async def test_max_questions_zero_does_not_offer_ask_user(persona: Persona) -> None:
    backend = ScriptedBackend([final("done")])
    await AgenticLoop(persona, registry(backend), max_questions=0).run("task")
    assert [t.name for t in backend.requests[0].tools] == ["final_answer"]
    assert "ask_user" not in backend.requests[0].system


RESUME_IN_ANOTHER_PROCESS = """
import asyncio, sys
from persona_lab import AgenticLoop, Persona, Run, TierRegistry
from persona_lab.tiers import ModelConfig, Price, ScriptedBackend

run = Run.from_json(open(sys.argv[1]).read())
persona = Persona.from_yaml(sys.argv[2])
backend = ScriptedBackend(lambda r: "[FINAL] Letter for a flat in " + r.messages[-1].content)
tiers = TierRegistry({"mid": ModelConfig("scripted", "mid-model", backend=backend, price=Price(1, 2))})
done = asyncio.run(AgenticLoop(persona, tiers).resume(run, "Leeds"))
print(done.status.value, "|", done.output, "|", len(done.steps))
"""


async def test_a_parked_run_resumes_in_a_separate_python_process(persona: Persona, tmp_path: Any) -> None:
    import subprocess
    import sys

    from tests.helpers import EXAMPLES

    parked = await AgenticLoop(persona, registry(ScriptedBackend([ask("Which city?")]))).run("Draft a letter")
    path = tmp_path / "run.json"
    path.write_text(parked.to_json(indent=2), encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-c", RESUME_IN_ANOTHER_PROCESS, str(path), str(EXAMPLES / "tenancy_advisor.yaml")],
        capture_output=True, text=True, timeout=60, check=True,
    )
    assert out.stdout.strip() == "completed | Letter for a flat in The user answered: Leeds | 2"
