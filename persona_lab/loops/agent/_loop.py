"""The agentic loop: a task worked on in steps, each step one model call that decides.

A step routes (the router sees every step), compacts the history when it nears the chosen
model's budget, asks the model, then does what the model decided: run tools, ask the user one
question, or finish (:mod:`._stepping`, :mod:`._acting`). Steps run on the same turn engine as
chat turns: routing, model calls with fallback, tool calls and turn logs are shared.

Every step writes one turn log (``kind="agent_step"``) and streams events; a run always ends
with :class:`Finished`. Outcomes (completed, awaiting_user, cancelled, max_steps_reached,
budget_exceeded, error) are statuses of the returned :class:`Run`, never exceptions.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from persona_lab.core import (
    BudgetExceededEvent,
    Clock,
    ErrorOccurred,
    Finished,
    LoopEvent,
    MaxStepsReached,
    Message,
    Router,
    RunCancelled,
    RunCompleted,
    Started,
    SystemClock,
    UsageError,
)
from persona_lab.loops._engine import TurnEngine
from persona_lab.loops._sinks import TurnLogSink
from persona_lab.loops._tools import Toolbox
from persona_lab.loops.agent._acting import UserResponder, answer_pending
from persona_lab.loops.agent._actions import BUILTIN_NAMES
from persona_lab.loops.agent._cancel import CancelToken
from persona_lab.loops.agent._interrupt import ConsumerFailed, Interrupted
from persona_lab.loops.agent._prompt import AgentPrompt
from persona_lab.loops.agent._run import Run, RunStatus
from persona_lab.loops.agent._run_events import EventCallback, EventSink, RunStream
from persona_lab.loops.agent._run_state import RunState
from persona_lab.loops.agent._step_compaction import StepCompactor
from persona_lab.loops.agent._stepping import run_step
from persona_lab.persona import Persona
from persona_lab.routers import FixedRouter
from persona_lab.tiers import TierRegistry

__all__ = ["AgenticLoop"]

logger = logging.getLogger("persona_lab.loops")


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
        self.engine = TurnEngine(tiers, self.router, self.clock)
        self.prompt = AgentPrompt.build(persona, self.toolbox, max_questions=self.max_questions)

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
                await answer_pending(state, answer, sink)
            outcome = await self._steps(state, sink, token, user_respond)
        except Interrupted:
            outcome = _Outcome(status=RunStatus.CANCELLED, output="", reason=token.reason or "cancelled")
        except ConsumerFailed:
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
                raise Interrupted
            if sink.failure is not None:
                raise ConsumerFailed
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
                        output = await run_step(self, state, sink, token, None, wrap_up=True) or ""
                    except Interrupted:
                        raise
                    except Exception as exc:
                        logger.warning("wrap-up of run %s failed: %s", state.id, exc)
                    if sink.failure is not None:
                        raise ConsumerFailed
                if not output:
                    output = _notes(state, f"No final answer after {self.max_steps} steps.")
                return _Outcome(status=RunStatus.MAX_STEPS_REACHED, output=output, reason=reason)
            final = await run_step(self, state, sink, token, user_respond, wrap_up=False)
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


def _notes(state: RunState, headline: str) -> str:
    """A best-effort output from what the model wrote last (no model call)."""
    last = next((s.text for s in reversed(state.steps) if s.text.strip()), "")
    return f"{headline}\n\nLatest notes: {last}" if last else headline
