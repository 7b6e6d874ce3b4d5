"""One agent step on the turn engine: route → compact when due → model call → act → step records.

The router sees every step; the history is compacted when the prompt nears the chosen model's
budget; the model call streams with fallback (a cancel interrupts it between or inside chunks);
then the step does what the model decided (:mod:`._acting`). Every step that starts ends with
its :class:`RunStep` and turn log (written) and a :class:`TurnDone`, also when it fails or is
cancelled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from persona_lab.core import ChatRequest, PersonaLabError, RoutingContext, Started, Thinking, TierInfo, TurnDone
from persona_lab.loops._model_call import CallBox
from persona_lab.loops.agent._acting import StepIO, UserResponder, act_on_calls, act_on_text, take_wrap_up
from persona_lab.loops.agent._cancel import CancelToken
from persona_lab.loops.agent._interrupt import Interrupted, pump
from persona_lab.loops.agent._run_events import EventSink
from persona_lab.loops.agent._run_state import RunState
from persona_lab.loops.agent._step_record import StepDraft, StepLabels, StepRecords, close_step
from persona_lab.tiers import ModelConfig

if TYPE_CHECKING:
    from persona_lab.loops.agent._loop import AgenticLoop

__all__ = ["run_step"]

logger = logging.getLogger("persona_lab.loops")


async def run_step(
    loop: AgenticLoop,
    state: RunState,
    sink: EventSink,
    token: CancelToken,
    user_respond: UserResponder | None,
    *,
    wrap_up: bool,
) -> str | None:
    """Run one step; returns the final answer when the step ended the task."""
    clock, engine = loop.clock, loop.engine
    infos = loop.tiers.infos()  # the price list loads here, before the step is timed
    index = len(state.steps)
    rid = state.id
    draft = StepDraft(index=index, started=clock.monotonic(), timestamp=clock.now().isoformat())
    io = StepIO(loop=loop, state=state, draft=draft, sink=sink, token=token, user_respond=user_respond)
    label = f"wrap-up after {loop.max_steps} steps" if wrap_up else f"step {index + 1} of {loop.max_steps}"
    try:
        await sink.emit(Started(id=rid, index=index, scope="step", text=label))
        draft.prompt_tokens = loop.prompt.tokens(state)
        draft.decision = decision = engine.route(_context(loop, state, index, draft.prompt_tokens, wrap_up, infos))
        tier, primary, chosen = engine.resolve(decision, draft.tally, id=rid, index=index)
        draft.tier = tier
        await sink.emit(chosen)
        if loop.compactor.due(draft.prompt_tokens, primary.prompt_budget):
            await _compact(io, primary.prompt_budget)
        await sink.emit(Thinking(id=rid, index=index, message=f"{primary.model} is deciding the next step"))
        await _generate(io, tier, wrap_up)
        result = draft.result
        assert result is not None
        if wrap_up:
            take_wrap_up(io, result)
        elif result.tool_calls:
            await act_on_calls(io, result)
        else:
            await act_on_text(io, result)
    except Interrupted:
        draft.interrupted = True
        await _finish(loop, state, draft, sink)
        raise
    except asyncio.CancelledError:
        # task.cancel() (not the run's CancelToken): the step's turn log still records what was
        # paid, marked cancelled; no events (the task is going away)
        draft.interrupted = True
        _close(loop, state, draft)
        raise
    except Exception as exc:
        draft.error = exc
        draft.action = "failed"
        await _finish(loop, state, draft, sink)
        raise
    await _finish(loop, state, draft, sink)
    return draft.answer_text if draft.action in ("final_answer", "wrap_up") else None


def _context(
    loop: AgenticLoop, state: RunState, index: int, prompt_tokens: int, wrap_up: bool, infos: Mapping[str, TierInfo]
) -> RoutingContext:
    return RoutingContext(
        conversation_id=state.id,
        turn_index=index,
        message=state.task,
        history=tuple(state.turns),
        prompt_tokens=prompt_tokens,
        tools_needed=not wrap_up,
        tool_names=() if wrap_up else loop.prompt.tool_names,
        preferences=loop.persona.routing,
        session_cost_usd=state.cost_usd,
        tiers=infos,
        persona_id=loop.persona.id,
        constraints=loop.persona.identity.constraints,
        step_index=index,
        metadata=state.metadata,
    )


async def _generate(io: StepIO, tier: str, wrap_up: bool) -> None:
    loop, state, draft = io.loop, io.state, io.draft

    def build(cand_tier: str, config: ModelConfig) -> ChatRequest:
        request = loop.prompt.request(state, config, wrap_up=wrap_up, max_steps=loop.max_steps)
        draft.request, draft.config = request, config
        return request

    box = draft.box = CallBox()
    events = loop.engine.call(id=state.id, index=draft.index, tier=tier, build=build, tally=draft.tally, box=box)
    await pump(events, io.sink, io.token, draft.partial)


async def _compact(io: StepIO, budget: int) -> None:
    """Summarise the middle of the history; paid and logged by this step. A failure is noted and
    the step goes on (its prompt is then fitted by dropping the oldest steps)."""
    loop, state, draft = io.loop, io.state, io.draft
    compactor = loop.compactor
    start = state.summarized_steps
    first = compactor.split(state.step_tokens, start, budget)
    if first <= start:
        return
    steps = [s.messages for s in state.steps[start:first]]
    system, messages = compactor.prompt(state.task, state.summary, steps, start)
    box = CallBox()
    events = loop.engine.summarise(
        id=state.id,
        index=draft.index,
        tier=compactor.tier,
        system=system,
        messages=messages,
        max_output_tokens=compactor.max_output_tokens,
        temperature=0.0,
        box=box,
    )
    try:
        await pump(events, io.sink, io.token)
    except PersonaLabError as exc:
        logger.warning("compaction for run %s failed: %s", state.id, exc)
        draft.notes.append(f"compaction failed: {type(exc).__name__}")
        return
    result = box.result
    assert result is not None
    summary = compactor.clean(result.text)
    event = loop.engine.record_compaction(
        draft.tally, result, id=state.id, index=draft.index, summarized=first - start, summary=summary
    )
    if not summary:
        draft.notes.append("compaction returned no summary")
        return
    state.set_summary(summary, first)
    await io.sink.emit(event)


async def _finish(loop: AgenticLoop, state: RunState, draft: StepDraft, sink: EventSink) -> None:
    """Close the step: its record, its turn log (written), and :class:`TurnDone`."""
    records = _close(loop, state, draft)
    await sink.emit(TurnDone(id=state.id, index=draft.index, turn_log=records.turn_log, answer=draft.output))


def _close(loop: AgenticLoop, state: RunState, draft: StepDraft) -> StepRecords:
    """The step's record and turn log, added to the run and written."""
    labels = StepLabels(
        run_id=state.id,
        task=state.task,
        persona_id=loop.persona.id,
        router_name=loop.engine.router_name,
        metadata=state.metadata,
    )
    records = close_step(draft, labels, now=loop.clock.monotonic(), prices=loop.tiers.prices)
    state.add_step(records.step, records.turn_log, records.known_cost_usd, records.cost_known)
    if loop.writer is not None:
        loop.writer.write(records.turn_log)
    return records
