"""The agentic loop: a task worked on in steps, each step one model call that decides.

A step routes (the router sees every step), compacts the history when it nears the chosen
model's budget, asks the model, then does what the model decided: run tools, ask the user one
question, or finish. Decisions come from native tool calls (``ask_user`` and ``final_answer``
are offered next to the persona's tools) or, for models without tool calling, from
``[ASK_USER]`` / ``[FINAL]`` markers at the start of a line. A reply with text but neither a
tool call nor a marker is taken as the final answer; an empty reply gets one nudge per step.

Every step writes one turn log (``kind="agent_step"``) and streams events; a run always ends
with :class:`Finished`. Outcomes (completed, awaiting_user, cancelled, max_steps_reached,
budget_exceeded, error) are statuses of the returned :class:`Run`, never exceptions.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from persona_lab.core import (
    MESSAGE_OVERHEAD_TOKENS,
    AskingUser,
    BudgetExceededEvent,
    ChatRequest,
    Clock,
    Compacted,
    CompactionCall,
    ErrorOccurred,
    Finished,
    LoopEvent,
    MaxStepsReached,
    Message,
    PersonaLabError,
    Reasoning,
    Retrying,
    Router,
    RouterError,
    RoutingContext,
    RoutingDecision,
    RunCancelled,
    RunCompleted,
    Started,
    SystemClock,
    TextDelta,
    Thinking,
    TierChosen,
    ToolCall,
    ToolCalling,
    ToolCallRecord,
    ToolResult,
    TurnDone,
    UsageError,
    UserResponded,
    check_tier,
    estimate_tokens,
    router_name,
)
from persona_lab.loops._agent_actions import (
    ASK_USER,
    BUILTIN_NAMES,
    FINAL_ANSWER,
    agent_instructions,
    ask_user_spec,
    final_answer_spec,
    parse_ask_user,
    parse_final_answer,
    parse_markers,
    pick_option,
    question_key,
)
from persona_lab.loops._cancel import CancelToken
from persona_lab.loops._conversation import TurnLogSink
from persona_lab.loops._model_call import CallBox, CallResult, ModelCaller
from persona_lab.loops._run import Run, RunStatus
from persona_lab.loops._run_events import EventCallback, EventSink, RunStream
from persona_lab.loops._run_state import RunState
from persona_lab.loops._step_compaction import StepCompactor
from persona_lab.loops._step_record import StepDraft, StepLabels, StepRecords, close_step
from persona_lab.loops._tools import Toolbox, ToolOutcome
from persona_lab.persona import Persona
from persona_lab.routers import FixedRouter
from persona_lab.tiers import ModelConfig, TierRegistry

__all__ = ["AgenticLoop", "EventCallback", "RunStream", "UserResponder"]

logger = logging.getLogger("persona_lab.loops")

T = TypeVar("T")

UserResponder = Callable[[AskingUser], Awaitable[str]]
"""Answers the agent's question: gets the :class:`AskingUser` event, returns the answer."""


_SUMMARY_HEADER = "\n\nNotes on the earlier steps of this task (summarised):\n"
_NUDGE = (
    "Your last reply was empty. Continue the task: call a tool, ask the user, or give your "
    "final answer."
)
_WRAP_UP = (
    "You have used all {steps} steps allowed for this task. Stop working now: summarise what "
    "you found and give your best answer, noting what is still open. Do not call tools."
)
_ABANDONED = "ABANDONED: the run was cancelled while this tool was running; its result is unknown"
_NOT_RUN = "NOT RUN: the run was cancelled before this tool started"


class _Interrupted(Exception):
    """The run's cancel token stopped a wait (or refused to start one)."""


class _ConsumerFailed(Exception):
    """The caller's ``on_event`` raised; the run stops at this step boundary."""


@dataclass(frozen=True, slots=True, kw_only=True)
class _Outcome:
    status: RunStatus
    output: str
    reason: str


class AgenticLoop:
    """Runs tasks for a persona as agent runs; every collaborator is injected.

    Parameters
    ----------
    persona, tiers, router:
        Who works, which models exist, who chooses the tier of each step (default: the
        persona's pinned tier, else ``FixedRouter("mid")``).
    toolbox:
        Tools; only those on the persona's allow-list are offered.
    writer:
        Receives one turn log per step (e.g. ``JsonlTurnLogWriter``).
    clock:
        Time source for latencies and timestamps.
    max_steps, max_cost_usd, max_tokens:
        Run limits. ``max_steps`` defaults to ``persona.autonomy.max_steps``; the budgets are
        checked at each step boundary against what the run has spent (input + output tokens).
    max_questions:
        Questions a run may ask (default ``persona.autonomy.max_questions``); beyond it the
        model is told to proceed with its best judgement.
    compactor:
        When and how the step history is summarised (:class:`StepCompactor`).
    without_responder:
        What a question does when ``run`` got no ``user_respond``: ``"park"`` ends the run as
        ``awaiting_user`` (continue with :meth:`resume`), ``"proceed"`` tells the model to go on
        with its best judgement.
    wrap_up:
        At the step limit, make one more call (routed like a step, tools off) that summarises
        the work as the output; when ``False`` the output is the last notes the model wrote.
    """

    def __init__(
        self,
        persona: Persona,
        tiers: TierRegistry,
        router: Router | None = None,
        *,
        toolbox: Toolbox | None = None,
        writer: TurnLogSink | None = None,
        clock: Clock | None = None,
        max_steps: int | None = None,
        max_cost_usd: float | None = None,
        max_tokens: int | None = None,
        max_questions: int | None = None,
        compactor: StepCompactor | None = None,
        without_responder: Literal["park", "proceed"] = "park",
        wrap_up: bool = True,
    ):
        self.persona = persona
        self.tiers = tiers
        self.router: Router = router or FixedRouter(persona.routing.pinned_tier or "mid")
        self.toolbox = (toolbox or Toolbox()).allowed(persona.tools)
        clash = BUILTIN_NAMES.intersection(self.toolbox.names)
        if clash:
            raise UsageError(f"tool name(s) {sorted(clash)} are reserved for the agent's built-in actions")
        self.writer = writer
        self.clock = clock or SystemClock()
        self.max_steps = persona.autonomy.max_steps if max_steps is None else max_steps
        self.max_questions = persona.autonomy.max_questions if max_questions is None else max_questions
        if self.max_steps < 1:
            raise ValueError(f"max_steps must be at least 1, got {self.max_steps}")
        if self.max_questions < 0:
            raise ValueError(f"max_questions must be 0 or more, got {self.max_questions}")
        if max_cost_usd is not None and max_cost_usd <= 0:
            raise ValueError(f"max_cost_usd must be positive, got {max_cost_usd}")
        if max_tokens is not None and max_tokens <= 0:
            raise ValueError(f"max_tokens must be positive, got {max_tokens}")
        if without_responder not in ("park", "proceed"):
            raise ValueError(f"without_responder must be 'park' or 'proceed', got {without_responder!r}")
        self.max_cost_usd = max_cost_usd
        self.max_tokens = max_tokens
        self.compactor = compactor or StepCompactor()
        self.without_responder = without_responder
        self.wrap_up = wrap_up
        self._caller = ModelCaller(tiers, self.clock)
        self._router_name = router_name(self.router)
        self._tool_names = (*self.toolbox.names, *((ASK_USER,) if self.max_questions else ()), FINAL_ANSWER)
        specs = self.toolbox.specs()
        self._specs = (*specs, *((ask_user_spec(),) if self.max_questions else ()), final_answer_spec())
        self._spec_tokens = sum(
            estimate_tokens(s.name) + estimate_tokens(s.description) + estimate_tokens(json.dumps(s.parameters))
            for s in self._specs
        )
        block = persona.system_prompt()
        self._system_native = block + "\n\n" + agent_instructions(
            native_tools=True, max_questions=self.max_questions, tool_names=self.toolbox.names
        )
        self._system_markers = block + "\n\n" + agent_instructions(
            native_tools=False, max_questions=self.max_questions, tool_names=()
        )
        self._system_tokens = estimate_tokens(self._system_native)

    def __repr__(self) -> str:
        return (
            f"AgenticLoop(persona={self.persona.id!r}, tiers={self.tiers!r}, router={self.router!r}, "
            f"max_steps={self.max_steps})"
        )

    # -- public entry points -------------------------------------------------------------------

    async def run(
        self,
        task: str,
        *,
        user_respond: UserResponder | None = None,
        on_event: EventCallback | None = None,
        cancel: CancelToken | None = None,
        metadata: Mapping[str, Any] | None = None,
        run_id: str | None = None,
    ) -> Run:
        """Work on ``task`` until it ends; returns the :class:`Run` whatever the outcome.

        ``metadata`` is passed to the router as ``context.metadata``; its ``suite``,
        ``item_id`` and ``category`` keys land in every step's turn log.
        """
        if not isinstance(task, str) or not task.strip():
            raise UsageError("AgenticLoop.run needs a non-empty task text")
        state = RunState(
            id=run_id or uuid.uuid4().hex[:12],
            task=task,
            persona_id=self.persona.id,
            started_at=self.clock.now().isoformat(),
            metadata=dict(metadata or {}),
            task_message=Message.user(task),
        )
        return await self._drive(state, None, user_respond, on_event, cancel)

    async def resume(
        self,
        run: Run,
        answer: str,
        *,
        user_respond: UserResponder | None = None,
        on_event: EventCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> Run:
        """Continue a run parked as ``awaiting_user`` with the user's ``answer``.

        The run may come from another process (``Run.from_json``); this loop must serve the
        same persona.
        """
        if run.status is not RunStatus.AWAITING_USER or run.pending_question is None:
            raise UsageError(f"run {run.id} is {run.status.value}, not awaiting_user: nothing to resume")
        if run.persona_id != self.persona.id:
            raise UsageError(f"run {run.id} belongs to persona {run.persona_id!r}, not {self.persona.id!r}")
        if not run.steps:
            raise UsageError(f"run {run.id} is awaiting_user but has no steps; the record is damaged")
        return await self._drive(RunState.from_run(run), str(answer), user_respond, on_event, cancel)

    def stream(
        self,
        task: str,
        *,
        user_respond: UserResponder | None = None,
        cancel: CancelToken | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> RunStream:
        """The events of a run as an async iterator: ``async for event in agent.stream(task)``.

        After the iteration, ``stream.run`` holds the :class:`Run`.
        """
        if not isinstance(task, str) or not task.strip():
            raise UsageError("AgenticLoop.stream needs a non-empty task text")

        def start(on_event: EventCallback) -> Awaitable[Run]:
            return self.run(task, user_respond=user_respond, on_event=on_event, cancel=cancel, metadata=metadata)

        return RunStream(start)

    # -- the run -------------------------------------------------------------------------------

    async def _drive(
        self,
        state: RunState,
        answer: str | None,
        user_respond: UserResponder | None,
        on_event: EventCallback | None,
        cancel: CancelToken | None,
    ) -> Run:
        token = cancel if cancel is not None else CancelToken()
        sink = EventSink(on_event)
        started = self.clock.monotonic()
        error_type: str | None = None
        token._bind()
        try:
            await sink.emit(Started(id=state.id, index=len(state.steps), scope="run", text=state.task))
            if answer is not None:
                await self._answer_pending(state, answer, sink)
            outcome = await self._steps(state, sink, token, user_respond)
        except _Interrupted:
            outcome = _Outcome(status=RunStatus.CANCELLED, output="", reason=token.reason or "cancelled")
        except _ConsumerFailed:
            failure = sink.failure
            error_type = type(failure).__name__
            outcome = _Outcome(status=RunStatus.ERROR, output="", reason=f"on_event raised {error_type}: {failure}")
        except Exception as exc:
            logger.warning("agent run %s failed: %s: %s", state.id, type(exc).__name__, exc)
            error_type = type(exc).__name__
            outcome = _Outcome(status=RunStatus.ERROR, output="", reason=str(exc) or error_type)
        finally:
            token._unbind()
        state.duration_s += self.clock.monotonic() - started
        run = state.snapshot(outcome.status, outcome.output, outcome.reason, error_type)
        await self._announce_end(run, sink)
        return run

    async def _announce_end(self, run: Run, sink: EventSink) -> None:
        rid, index, status = run.id, max(len(run.steps) - 1, 0), run.status
        end: LoopEvent | None = None
        if status is RunStatus.COMPLETED:
            end = RunCompleted(id=rid, index=index, output=run.output)
        elif status is RunStatus.CANCELLED:
            end = RunCancelled(id=rid, index=index, reason=run.reason)
        elif status is RunStatus.MAX_STEPS_REACHED:
            end = MaxStepsReached(id=rid, index=index, output=run.output)
        elif status is RunStatus.BUDGET_EXCEEDED:
            end = BudgetExceededEvent(id=rid, index=index, reason=run.reason)
        elif status is RunStatus.ERROR:
            end = ErrorOccurred(id=rid, index=index, error_type=run.error_type or "Error", message=run.reason)
        if end is not None:
            await sink.emit(end)
        cost = run.cost_usd if run.cost_known else None
        await sink.emit(
            Finished(id=rid, index=index, status=status.value, output=run.output, cost_usd=cost, tokens=run.tokens),
        )

    async def _steps(
        self, state: RunState, sink: EventSink, token: CancelToken, user_respond: UserResponder | None
    ) -> _Outcome:
        while True:
            if token.cancelled:
                raise _Interrupted
            if sink.failure is not None:
                raise _ConsumerFailed
            over = self._over_budget(state)
            if over:
                return _Outcome(
                    status=RunStatus.BUDGET_EXCEEDED,
                    output=_notes(state, f"Stopped before finishing: {over}."),
                    reason=over,
                )
            if len(state.steps) >= self.max_steps:
                reason = f"reached the limit of {self.max_steps} steps"
                output = ""
                if self.wrap_up:
                    try:
                        output = await self._step(state, sink, token, None, wrap_up=True) or ""
                    except _Interrupted:
                        raise
                    except Exception as exc:
                        logger.warning("wrap-up of run %s failed: %s", state.id, exc)
                    if sink.failure is not None:
                        raise _ConsumerFailed
                if not output:
                    output = _notes(state, f"No final answer after {self.max_steps} steps.")
                return _Outcome(status=RunStatus.MAX_STEPS_REACHED, output=output, reason=reason)
            final = await self._step(state, sink, token, user_respond, wrap_up=False)
            if final is not None:
                return _Outcome(status=RunStatus.COMPLETED, output=final, reason="final answer")
            if state.pending is not None:
                return _Outcome(
                    status=RunStatus.AWAITING_USER, output="", reason=f"waiting for the user: {state.pending.question}"
                )

    def _over_budget(self, state: RunState) -> str:
        if self.max_cost_usd is not None and state.cost_usd >= self.max_cost_usd:
            return f"spent ${state.cost_usd:.6f} of the ${self.max_cost_usd:.6f} run budget"
        if self.max_tokens is not None and state.tokens >= self.max_tokens:
            return f"used {state.tokens} of the {self.max_tokens} token budget"
        return ""

    # -- one step ------------------------------------------------------------------------------

    async def _step(
        self,
        state: RunState,
        sink: EventSink,
        token: CancelToken,
        user_respond: UserResponder | None,
        *,
        wrap_up: bool,
    ) -> str | None:
        """Run one step; returns the final answer when the step ended the task."""
        clock = self.clock
        index = len(state.steps)
        rid = state.id
        draft = StepDraft(index, clock.monotonic(), clock.now().isoformat())
        label = f"wrap-up after {self.max_steps} steps" if wrap_up else f"step {index + 1} of {self.max_steps}"
        try:
            await sink.emit(Started(id=rid, index=index, scope="step", text=label))
            draft.prompt_tokens = prompt_tokens = self._prompt_tokens(state)
            decision = self._route(state, index, prompt_tokens, wrap_up)
            draft.decision = decision
            tier = self.tiers.nearest(decision.tier)
            if tier != decision.tier:
                draft.fallback_reason = f"tier {decision.tier!r} is not configured"
            draft.tier = tier
            primary = self.tiers.config(tier).primary
            await sink.emit(
                TierChosen(
                    id=rid,
                    index=index,
                    tier=tier,
                    provider=primary.provider,
                    model=primary.model,
                    reason=decision.reason,
                    router=self._router_name,
                    scores=decision.scores,
                )
            )
            if self.compactor.due(prompt_tokens, primary.prompt_budget):
                await self._compact(state, draft, sink, token, primary.prompt_budget)
            await sink.emit(Thinking(id=rid, index=index, message=f"{primary.model} is deciding the next step"))
            await self._generate(state, draft, sink, token, tier, wrap_up)
            result = draft.result
            assert result is not None
            if wrap_up:
                self._take_wrap_up(draft, result)
            elif result.tool_calls:
                await self._act_on_calls(state, draft, sink, token, user_respond, result)
            else:
                await self._act_on_text(state, draft, sink, token, user_respond, result)
        except _Interrupted:
            draft.interrupted = True
            await self._finish_step(state, draft, sink)
            raise
        except asyncio.CancelledError:
            # task.cancel() (not the run's CancelToken): the step's turn log still records what
            # was paid, marked cancelled; no events (the task is going away)
            draft.interrupted = True
            self._close_step(state, draft)
            raise
        except Exception as exc:
            draft.error = exc
            draft.action = "failed"
            await self._finish_step(state, draft, sink)
            raise
        await self._finish_step(state, draft, sink)
        return draft.answer_text if draft.action in ("final_answer", "wrap_up") else None

    def _prompt_tokens(self, state: RunState) -> int:
        return (
            self._system_tokens
            + self._spec_tokens
            + state.summary_tokens
            + state.task_message.tokens
            + state.history_tokens
        )

    def _route(self, state: RunState, index: int, prompt_tokens: int, wrap_up: bool) -> RoutingDecision:
        context = RoutingContext(
            conversation_id=state.id,
            turn_index=index,
            message=state.task,
            history=tuple(state.turns),
            prompt_tokens=prompt_tokens,
            tools_needed=not wrap_up,
            tool_names=() if wrap_up else self._tool_names,
            preferences=self.persona.routing,
            session_cost_usd=state.cost_usd,
            tiers=self.tiers.infos(),
            persona_id=self.persona.id,
            constraints=self.persona.identity.constraints,
            step_index=index,
            metadata=state.metadata,
        )
        try:
            decision = self.router.route(context)
        except PersonaLabError:
            raise
        except Exception as exc:
            raise RouterError(f"router {self._router_name} failed: {type(exc).__name__}: {exc}") from exc
        check_tier(decision.tier, where=f"decision of router {self._router_name}")
        return decision

    async def _generate(
        self, state: RunState, draft: StepDraft, sink: EventSink, token: CancelToken, tier: str, wrap_up: bool
    ) -> None:
        specs = self._specs
        extra = (Message.user(_WRAP_UP.format(steps=self.max_steps)),) if wrap_up else ()

        def build(cand_tier: str, config: ModelConfig) -> ChatRequest:
            native = config.supports_tools
            system = self._system_native if native else self._system_markers
            if state.summary:
                system += _SUMMARY_HEADER + state.summary
            room = config.prompt_budget - self._system_tokens - self._spec_tokens - state.summary_tokens
            room -= state.task_message.tokens + MESSAGE_OVERHEAD_TOKENS * 2
            request = ChatRequest(
                model=config.model,
                system=system,
                messages=state.messages(room) + extra,
                tools=specs if native else (),
                tool_choice="none" if wrap_up else "auto",
                max_output_tokens=config.max_output_tokens,
                temperature=config.temperature,
            )
            draft.request, draft.config = request, config
            return request

        box = draft.box = CallBox()
        await self._pump(
            self._caller.stream(id=state.id, index=draft.index, tier=tier, build=build, box=box), sink, token, draft
        )
        draft.result = box.result

    async def _pump(
        self, events: AsyncIterator[LoopEvent], sink: EventSink, token: CancelToken, draft: StepDraft | None
    ) -> None:
        """Forward a model call's events; a cancel interrupts the call between or inside chunks."""
        partial = draft.partial if draft is not None else None
        while True:
            if not token._arm():
                await events.aclose()  # type: ignore[attr-defined]
                raise _Interrupted
            try:
                event = await anext(events)
            except StopAsyncIteration:
                return
            except asyncio.CancelledError:
                if token._take_interrupt():
                    raise _Interrupted from None
                raise
            finally:
                token._disarm()
            if partial is not None:
                if type(event) is TextDelta:
                    partial.append(event.text)
                elif type(event) is Retrying:
                    partial.clear()
            await sink.emit(event)

    async def _guard(self, awaitable: Awaitable[T], token: CancelToken) -> T:
        """Await something the cancel token may interrupt."""
        if not token._arm():
            if inspect.iscoroutine(awaitable):
                awaitable.close()
            raise _Interrupted
        try:
            return await awaitable
        except asyncio.CancelledError:
            if token._take_interrupt():
                raise _Interrupted from None
            raise
        finally:
            token._disarm()

    # -- acting on the decision ----------------------------------------------------------------

    def _take_wrap_up(self, draft: StepDraft, result: CallResult) -> None:
        marker = parse_markers(result.text) if "[" in result.text else None
        text = (marker.text or marker.reasoning) if marker is not None and marker.kind == "final" else result.text
        draft.action = "wrap_up"
        draft.text = draft.answer_text = text.strip()
        draft.messages.append(Message.user(_WRAP_UP.format(steps=self.max_steps)))
        draft.messages.append(Message.assistant(result.text, tier=result.tier, model=result.config.model))
        if result.tool_calls:
            draft.notes.append("tool calls in the wrap-up were ignored")

    async def _act_on_calls(
        self,
        state: RunState,
        draft: StepDraft,
        sink: EventSink,
        token: CancelToken,
        user_respond: UserResponder | None,
        result: CallResult,
    ) -> None:
        rid, index = state.id, draft.index
        calls = result.tool_calls
        draft.messages.append(
            Message.assistant(result.text, tool_calls=calls, tier=result.tier, model=result.config.model)
        )
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
            if token.cancelled:
                await self._close_unrun(draft, sink, rid, pending[position:])
                raise _Interrupted
            await sink.emit(ToolCalling(id=rid, index=index, call_id=call.id, name=call.name, arguments=call.arguments))
            try:
                outcome = await self._guard(self.toolbox.execute(call, error_cache=state.error_cache), token)
            except _Interrupted:
                await self._tool_done(draft, sink, rid, call, ToolOutcome(content=_ABANDONED, is_error=True))
                await self._close_unrun(draft, sink, rid, pending[position + 1 :])
                raise
            await self._tool_done(draft, sink, rid, call, outcome)
        asked = False
        for call in calls:
            if call.name == FINAL_ANSWER:
                content = 'ERROR: final_answer needs a non-empty string "text" with your complete answer'
                await self._builtin_result(draft, sink, rid, call, content, is_error=True)
            elif call.name == ASK_USER:
                if asked:
                    content = "ERROR: ask one question per step; ask this one in a later step if still needed"
                    await self._builtin_result(draft, sink, rid, call, content, is_error=True)
                    continue
                asked = True
                parsed = parse_ask_user(call.arguments)
                if isinstance(parsed, str):
                    await self._builtin_result(draft, sink, rid, call, parsed, is_error=True)
                    continue
                draft.action = "ask_user"
                if parsed.note:
                    draft.notes.append(parsed.note)
                await self._ask(state, draft, sink, token, user_respond, parsed.question, parsed.options, call)

    async def _act_on_text(
        self,
        state: RunState,
        draft: StepDraft,
        sink: EventSink,
        token: CancelToken,
        user_respond: UserResponder | None,
        result: CallResult,
    ) -> None:
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
            await sink.emit(Reasoning(id=state.id, index=draft.index, text=marker.reasoning))
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
        await self._ask(state, draft, sink, token, user_respond, ask.question, ask.options, None)

    async def _ask(
        self,
        state: RunState,
        draft: StepDraft,
        sink: EventSink,
        token: CancelToken,
        user_respond: UserResponder | None,
        question: str,
        options: tuple[str, ...],
        call: ToolCall | None,
    ) -> None:
        """Ask the user (once per distinct question, within the cap), or park the run."""
        rid, index = state.id, draft.index
        draft.question, draft.options = question, options
        key = question_key(question)
        earlier = state.asked.get(key)
        if earlier is not None:
            draft.answer = earlier[1]
            draft.notes.append("repeated question answered from the earlier answer")
            content = f"You already asked this; the user answered: {earlier[1]}"
            await self._reply(draft, sink, rid, call, content, cached=True)
            return
        if state.questions_asked >= self.max_questions:
            draft.notes.append("question limit reached")
            content = (
                f"You may ask at most {self.max_questions} question(s) in this task and have used them. "
                "Do not ask again: proceed with your best judgement and state the assumptions you make."
            )
            await self._reply(draft, sink, rid, call, content, is_error=True)
            return
        state.questions_asked += 1
        if user_respond is None and self.without_responder == "proceed":
            state.asked[key] = (question, "(no user available)")
            draft.notes.append("no user available; told to proceed")
            content = "No user is available to answer. Proceed with your best judgement and state your assumptions."
            await self._reply(draft, sink, rid, call, content)
            return
        event = AskingUser(id=rid, index=index, question=question, options=options)
        await sink.emit(event)
        if user_respond is None:
            state.pending = event
            state.pending_call_id = call.id if call is not None else None
            return
        waited_from = self.clock.monotonic()
        try:
            raw = user_respond(event)
            answer = await self._guard(raw, token) if inspect.isawaitable(raw) else raw
        finally:
            draft.waited += self.clock.monotonic() - waited_from
        answer = pick_option(str(answer), options)
        draft.answer = answer
        state.asked[key] = (question, answer)
        await sink.emit(UserResponded(id=rid, index=index, answer=answer))
        await self._reply(draft, sink, rid, call, _answer_text(answer), announce=False)

    async def _answer_pending(self, state: RunState, answer: str, sink: EventSink) -> None:
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

    # -- step bookkeeping ----------------------------------------------------------------------

    async def _reply(
        self,
        draft: StepDraft,
        sink: EventSink,
        rid: str,
        call: ToolCall | None,
        content: str,
        *,
        is_error: bool = False,
        cached: bool = False,
        announce: bool = True,
    ) -> None:
        """Answer a question action: a tool result for a native call, a user message for a marker."""
        if call is None:
            draft.messages.append(Message.user(content))
            return
        draft.messages.append(Message.tool_result(call, content))
        if announce:
            await sink.emit(
                ToolResult(
                    id=rid,
                    index=draft.index,
                    call_id=call.id,
                    name=call.name,
                    content=content,
                    is_error=is_error,
                    cached=cached,
                )
            )

    async def _builtin_result(
        self, draft: StepDraft, sink: EventSink, rid: str, call: ToolCall, content: str, *, is_error: bool
    ) -> None:
        draft.messages.append(Message.tool_result(call, content))
        await sink.emit(
            ToolResult(id=rid, index=draft.index, call_id=call.id, name=call.name, content=content, is_error=is_error)
        )

    async def _tool_done(
        self, draft: StepDraft, sink: EventSink, rid: str, call: ToolCall, outcome: ToolOutcome
    ) -> None:
        draft.tools.append(
            ToolCallRecord(
                call_id=call.id,
                name=call.name,
                arguments=call.arguments,
                result=outcome.content,
                is_error=outcome.is_error,
                duration_s=outcome.duration_s,
                cached=outcome.cached,
            )
        )
        draft.messages.append(Message.tool_result(call, outcome.content))
        await sink.emit(
            ToolResult(
                id=rid,
                index=draft.index,
                call_id=call.id,
                name=call.name,
                content=outcome.content,
                is_error=outcome.is_error,
                cached=outcome.cached,
            )
        )

    async def _close_unrun(self, draft: StepDraft, sink: EventSink, rid: str, calls: list[ToolCall]) -> None:
        """Record tool calls a cancel kept from starting, so every call in the step has a result."""
        for call in calls:
            draft.tools.append(
                ToolCallRecord(
                    call_id=call.id, name=call.name, arguments=call.arguments, result=_NOT_RUN, is_error=True
                )
            )
            draft.messages.append(Message.tool_result(call, _NOT_RUN))
        if calls:
            draft.notes.append(f"{len(calls)} tool call(s) not run: cancelled")

    async def _compact(
        self, state: RunState, draft: StepDraft, sink: EventSink, token: CancelToken, budget: int
    ) -> None:
        compactor = self.compactor
        start = state.summarized_steps
        first = compactor.split(state.step_tokens, start, budget)
        if first <= start:
            return
        system, messages = compactor.prompt(
            state.task, state.summary, [s.messages for s in state.steps[start:first]], start
        )
        box = CallBox()

        def build(tier: str, config: ModelConfig) -> ChatRequest:
            return ChatRequest(
                model=config.model,
                system=system,
                messages=messages,
                max_output_tokens=min(compactor.max_output_tokens, config.max_output_tokens),
                temperature=0.0,
            )

        try:
            await self._pump(
                self._caller.stream(
                    id=state.id,
                    index=draft.index,
                    tier=self.tiers.nearest(compactor.tier),
                    build=build,
                    box=box,
                    emit_text=False,
                ),
                sink,
                token,
                None,
            )
        except PersonaLabError as exc:
            # The step goes on: its prompt is fitted by dropping the oldest steps instead.
            logger.warning("compaction for run %s failed: %s", state.id, exc)
            draft.notes.append(f"compaction failed: {type(exc).__name__}")
            return
        result = box.result
        assert result is not None
        summary = compactor.clean(result.text)
        draft.compactions.append(
            CompactionCall(
                tier=result.tier,
                model=result.config.model,
                summarized=first - start,
                input_tokens=result.usage.input_tokens,
                output_tokens=result.usage.output_tokens,
                cost_usd=result.cost.usd,
                tokens_estimated=result.tokens_estimated,
                summary_chars=len(summary),
            )
        )
        if not summary:
            draft.notes.append("compaction returned no summary")
            return
        state.set_summary(summary, first)
        await sink.emit(
            Compacted(
                id=state.id, index=draft.index, summarized=first - start, tier=result.tier, cost_usd=result.cost.usd
            )
        )

    async def _finish_step(self, state: RunState, draft: StepDraft, sink: EventSink) -> None:
        """Close the step: its record, its turn log (written), and :class:`TurnDone`."""
        records = self._close_step(state, draft)
        await sink.emit(TurnDone(id=state.id, index=draft.index, turn_log=records.turn_log, answer=draft.output))

    def _close_step(self, state: RunState, draft: StepDraft) -> StepRecords:
        """The step's record and turn log, added to the run and written."""
        labels = StepLabels(
            run_id=state.id,
            task=state.task,
            persona_id=self.persona.id,
            router_name=self._router_name,
            metadata=state.metadata,
        )
        records = close_step(draft, labels, now=self.clock.monotonic(), prices=self.tiers.prices)
        state.add_step(records.step, records.turn_log, records.known_cost_usd, records.cost_known)
        if self.writer is not None:
            self.writer.write(records.turn_log)
        return records


def _answer_text(answer: str) -> str:
    return f"The user answered: {answer}" if answer else "The user gave no answer; proceed with your best judgement."


def _notes(state: RunState, headline: str) -> str:
    """A best-effort output from what the model wrote last (no model call)."""
    last = next((s.text for s in reversed(state.steps) if s.text.strip()), "")
    return f"{headline}\n\nLatest notes: {last}" if last else headline


def _nudge(draft: StepDraft, note: str) -> None:
    """Record an empty step and ask the model to act next time."""
    draft.action = "empty"
    draft.messages.append(Message.user(_NUDGE))
    draft.notes.append(note)
