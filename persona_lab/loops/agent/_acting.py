"""Doing what an agent step's model call decided: run tools, ask the user one question, or finish.

Decisions come from native tool calls (``ask_user`` and ``final_answer`` are offered next to the
persona's tools) or, for models without tool calling, from ``[ASK_USER]`` / ``[FINAL]`` markers
at the start of a line. A reply with text but neither a tool call nor a marker is taken as the
final answer; an empty reply gets one nudge per step.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from persona_lab.core import AskingUser, Message, Reasoning, ToolCall, ToolCallRecord, ToolResult, UserResponded
from persona_lab.loops._model_call import CallResult
from persona_lab.loops._tools import ToolOutcome
from persona_lab.loops.agent._actions import (
    ASK_USER,
    BUILTIN_NAMES,
    FINAL_ANSWER,
    parse_ask_user,
    parse_final_answer,
    parse_markers,
    pick_option,
    question_key,
)
from persona_lab.loops.agent._cancel import CancelToken
from persona_lab.loops.agent._interrupt import Interrupted, guard
from persona_lab.loops.agent._prompt import WRAP_UP
from persona_lab.loops.agent._run_events import EventSink
from persona_lab.loops.agent._run_state import RunState
from persona_lab.loops.agent._step_record import StepDraft

if TYPE_CHECKING:
    from persona_lab.loops.agent._loop import AgenticLoop

__all__ = ["StepIO", "UserResponder", "act_on_calls", "act_on_text", "answer_pending", "take_wrap_up"]

UserResponder = Callable[[AskingUser], Awaitable[str]]
"""Answers the agent's question: gets the :class:`AskingUser` event, returns the answer."""

_NUDGE = (
    "Your last reply was empty. Continue the task: call a tool, ask the user, or give your "
    "final answer."
)
_ABANDONED = "ABANDONED: the run was cancelled while this tool was running; its result is unknown"
_NOT_RUN = "NOT RUN: the run was cancelled before this tool started"


@dataclass(slots=True, kw_only=True)
class StepIO:
    """What acting on one step's decision works with: the loop, the run, the step, its channels."""

    loop: AgenticLoop
    state: RunState
    draft: StepDraft
    sink: EventSink
    token: CancelToken
    user_respond: UserResponder | None


def take_wrap_up(io: StepIO, result: CallResult) -> None:
    """The wrap-up call after the step limit: its text is the run's output."""
    draft = io.draft
    marker = parse_markers(result.text) if "[" in result.text else None
    text = (marker.text or marker.reasoning) if marker is not None and marker.kind == "final" else result.text
    draft.action = "wrap_up"
    draft.text = draft.answer_text = text.strip()
    draft.messages.append(Message.user(WRAP_UP.format(steps=io.loop.max_steps)))
    draft.messages.append(Message.assistant(result.text, tier=result.tier, model=result.config.model))
    if result.tool_calls:
        draft.notes.append("tool calls in the wrap-up were ignored")


async def act_on_calls(io: StepIO, result: CallResult) -> None:
    """Native tool calls: a final answer ends the task; tools run; one question may be asked."""
    draft, sink, engine = io.draft, io.sink, io.loop.engine
    rid, index = io.state.id, draft.index
    calls = result.tool_calls
    draft.messages.append(Message.assistant(result.text, tool_calls=calls, tier=result.tier, model=result.config.model))
    draft.text = result.text.strip()
    if draft.text:
        await sink.emit(Reasoning(id=rid, index=index, text=draft.text))
    for call in calls:
        if call.name == FINAL_ANSWER:
            answer = parse_final_answer(call.arguments)
            if answer is not None:
                skipped = [c.name for c in calls if c is not call]
                if skipped:
                    draft.notes.append(f"calls ended by final_answer were not run: {', '.join(skipped)}")
                draft.action = "final_answer"
                draft.answer_text = answer
                return
    draft.action = "tools"
    pending: list[ToolCall] = [c for c in calls if c.name not in BUILTIN_NAMES]
    for position, call in enumerate(pending):
        if io.token.cancelled:
            _close_unrun(draft, pending[position:])
            raise Interrupted
        await sink.emit(engine.tool_calling(call, id=rid, index=index))
        try:
            outcome = await guard(io.loop.toolbox.execute(call, error_cache=io.state.error_cache), io.token)
        except Interrupted:
            abandoned = ToolOutcome(content=_ABANDONED, is_error=True)
            await sink.emit(engine.tool_done(draft.tally, draft.messages, call, abandoned, id=rid, index=index))
            _close_unrun(draft, pending[position + 1 :])
            raise
        await sink.emit(engine.tool_done(draft.tally, draft.messages, call, outcome, id=rid, index=index))
    asked = False
    for call in calls:
        if call.name == FINAL_ANSWER:
            content = 'ERROR: final_answer needs a non-empty string "text" with your complete answer'
            await _reply(io, call, content, is_error=True)
        elif call.name == ASK_USER:
            if asked:
                content = "ERROR: ask one question per step; ask this one in a later step if still needed"
                await _reply(io, call, content, is_error=True)
                continue
            asked = True
            parsed = parse_ask_user(call.arguments)
            if isinstance(parsed, str):
                await _reply(io, call, parsed, is_error=True)
                continue
            draft.action = "ask_user"
            if parsed.note:
                draft.notes.append(parsed.note)
            await _ask(io, parsed.question, parsed.options, call)


async def act_on_text(io: StepIO, result: CallResult) -> None:
    """A reply without tool calls: markers, a final answer, or an empty reply to nudge."""
    draft = io.draft
    text = result.text
    draft.messages.append(Message.assistant(text, tier=result.tier, model=result.config.model))
    marker = parse_markers(text) if "[" in text else None
    if marker is None:
        if text.strip():
            draft.action = "final_answer"
            draft.text = draft.answer_text = text.strip()
        else:
            _nudge(draft, "empty reply; nudged")
        return
    draft.text = marker.reasoning
    if marker.reasoning:
        await io.sink.emit(Reasoning(id=io.state.id, index=draft.index, text=marker.reasoning))
    if marker.kind == "final":
        draft.action = "final_answer"
        draft.answer_text = marker.text or marker.reasoning
        if not draft.answer_text:
            _nudge(draft, "empty [FINAL]; nudged")
        return
    ask = marker.ask
    assert ask is not None
    draft.action = "ask_user"
    if not ask.question:
        draft.messages.append(Message.user("ERROR: your [ASK_USER] line had no question."))
        draft.notes.append("empty [ASK_USER]")
        return
    if ask.note:
        draft.notes.append(ask.note)
    await _ask(io, ask.question, ask.options, None)


async def _ask(io: StepIO, question: str, options: tuple[str, ...], call: ToolCall | None) -> None:
    """Ask the user (once per distinct question, within the cap), or park the run."""
    loop, state, draft = io.loop, io.state, io.draft
    rid, index = state.id, draft.index
    draft.question, draft.options = question, options
    key = question_key(question)
    earlier = state.asked.get(key)
    if earlier is not None:
        draft.answer = earlier[1]
        draft.notes.append("repeated question answered from the earlier answer")
        await _reply(io, call, f"You already asked this; the user answered: {earlier[1]}", cached=True)
        return
    if state.questions_asked >= loop.max_questions:
        draft.notes.append("question limit reached")
        content = (
            f"You may ask at most {loop.max_questions} question(s) in this task and have used them. "
            "Do not ask again: proceed with your best judgement and state the assumptions you make."
        )
        await _reply(io, call, content, is_error=True)
        return
    state.questions_asked += 1
    if io.user_respond is None and loop.without_responder == "proceed":
        state.asked[key] = (question, "(no user available)")
        draft.notes.append("no user available; told to proceed")
        content = "No user is available to answer. Proceed with your best judgement and state your assumptions."
        await _reply(io, call, content)
        return
    event = AskingUser(id=rid, index=index, question=question, options=options)
    await io.sink.emit(event)
    if io.user_respond is None:
        state.pending = event
        state.pending_call_id = call.id if call is not None else None
        return
    waited_from = loop.clock.monotonic()
    try:
        raw = io.user_respond(event)
        answer = await guard(raw, io.token) if inspect.isawaitable(raw) else raw
    finally:
        draft.waited += loop.clock.monotonic() - waited_from
    answer = pick_option(str(answer), options)
    draft.answer = answer
    state.asked[key] = (question, answer)
    await io.sink.emit(UserResponded(id=rid, index=index, answer=answer))
    await _reply(io, call, _answer_text(answer), announce=False)


async def answer_pending(state: RunState, answer: str, sink: EventSink) -> None:
    """A parked run's question answered (on resume): the answer joins the newest step."""
    pending = state.pending
    assert pending is not None
    answer = pick_option(answer, pending.options)
    state.asked[question_key(pending.question)] = (pending.question, answer)
    call_id = state.pending_call_id
    content = _answer_text(answer)
    message = (
        Message.tool_result(ToolCall(id=call_id, name=ASK_USER, arguments=""), content)
        if call_id
        else Message.user(content)
    )
    state.extend_last_step(message, answer=answer)
    state.pending = None
    state.pending_call_id = None
    await sink.emit(UserResponded(id=state.id, index=pending.index, answer=answer))


async def _reply(
    io: StepIO,
    call: ToolCall | None,
    content: str,
    *,
    is_error: bool = False,
    cached: bool = False,
    announce: bool = True,
) -> None:
    """Answer a built-in action: a tool result for a native call, a user message for a marker."""
    draft = io.draft
    if call is None:
        draft.messages.append(Message.user(content))
        return
    draft.messages.append(Message.tool_result(call, content))
    if announce:
        await io.sink.emit(
            ToolResult(
                id=io.state.id,
                index=draft.index,
                call_id=call.id,
                name=call.name,
                content=content,
                is_error=is_error,
                cached=cached,
            )
        )


def _close_unrun(draft: StepDraft, calls: list[ToolCall]) -> None:
    """Record tool calls a cancel kept from starting, so every call in the step has a result."""
    for call in calls:
        draft.tally.tools.append(
            ToolCallRecord(call_id=call.id, name=call.name, arguments=call.arguments, result=_NOT_RUN, is_error=True)
        )
        draft.messages.append(Message.tool_result(call, _NOT_RUN))
    if calls:
        draft.notes.append(f"{len(calls)} tool call(s) not run: cancelled")


def _answer_text(answer: str) -> str:
    return f"The user answered: {answer}" if answer else "The user gave no answer; proceed with your best judgement."


def _nudge(draft: StepDraft, note: str) -> None:
    """Record an empty step and ask the model to act next time."""
    draft.action = "empty"
    draft.messages.append(Message.user(_NUDGE))
    draft.notes.append(note)
