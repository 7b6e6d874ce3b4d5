"""The conversation loop: one persona turn as a stream of events, a policy on the turn engine.

retrieve memory → build the prompt → route → stream-generate (a tool sub-loop, cascade review)
→ write back (commit, memory, compaction when due) → emit the turn log. Routing, model calls
with fallback, tool calls and the turn log are the :class:`TurnEngine`'s, shared with the agentic
loop. The loop holds collaborators, never conversation state: the caller's
:class:`Conversation` is read and committed to.

History compaction is off the critical path: the answer is generated from the summary as it
stands (the turns not yet summarised are sent verbatim, fitted to the model's budget), and when
the committed turn brings the conversation past ``compact_after`` the summary call runs after the
answer has streamed. The turn that caused it pays for it and logs it; its time goes into
``writeback_s``, never into ``latency_s`` or ``ttft_s``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from dataclasses import dataclass, replace
from typing import Any

from persona_lab.core import (
    BudgetExceeded,
    ChatRequest,
    Clock,
    Conversation,
    ErrorOccurred,
    LoopEvent,
    Message,
    PersonaLabError,
    Retrying,
    Router,
    RoutingDecision,
    Started,
    SystemClock,
    TurnDone,
    TurnLog,
    UsageError,
    Verdict,
    estimate_tokens,
    turn_log_labels,
)
from persona_lab.loops._chat_turn import ChatTurn, prepare, write_back
from persona_lab.loops._compaction import HistoryCompactor
from persona_lab.loops._engine import TurnEngine, TurnIdentity, build_turn_log
from persona_lab.loops._extras import TurnExtras
from persona_lab.loops._sinks import KeptTurnLogs, TurnLogSink, TurnResult
from persona_lab.loops._tools import Toolbox, ToolOutcome
from persona_lab.memory import MemoryStore, SqliteMemoryStore, seed_persona_memories
from persona_lab.persona import Persona
from persona_lab.routers import FixedRouter
from persona_lab.tiers import ModelConfig, TierRegistry

__all__ = ["ConversationLoop"]

logger = logging.getLogger("persona_lab.loops")


@dataclass(slots=True, kw_only=True)
class _Record:
    """What a turn's log needs beyond its tally: the text, its timing and routing, its labels."""

    turn: ChatTurn
    text: str
    timestamp: str
    started: float
    metadata: Mapping[str, Any]
    extras: TurnExtras | None
    decision: RoutingDecision | None = None
    answered: float = 0.0


class ConversationLoop:
    """Runs a persona's chat turns; every collaborator is injected.

    Parameters
    ----------
    persona, tiers, router:
        Who speaks, which models exist, who chooses among them (default ``FixedRouter("mid")``).
    memory:
        A :class:`MemoryStore`; by default an in-memory SQLite store seeded from the persona.
    toolbox:
        Tools; only those on the persona's allow-list are offered.
    writer:
        Receives each finished turn log (e.g. ``JsonlTurnLogWriter``). By default the loop keeps
        them in memory: ``loop.turn_logs``, ``turn_logs_to_frame(loop)``; each conversation also
        keeps its own (``conversation.turn_logs``).
    clock:
        Time source for latencies and timestamps.
    """

    def __init__(
        self,
        persona: Persona,
        tiers: TierRegistry,
        router: Router | None = None,
        *,
        memory: MemoryStore | None = None,
        toolbox: Toolbox | None = None,
        writer: TurnLogSink | None = None,
        clock: Clock | None = None,
        compactor: HistoryCompactor | None = None,
        memory_k: int = 5,
        max_tool_rounds: int = 4,
    ):
        self.persona = persona
        self.tiers = tiers
        self.router: Router = router or FixedRouter("mid")
        if memory is None:
            memory = SqliteMemoryStore()
            seed_persona_memories(memory, persona)
        self.memory = memory
        self.toolbox = (toolbox or Toolbox()).allowed(persona.tools)
        self.writer: TurnLogSink = writer if writer is not None else KeptTurnLogs()
        self.clock = clock or SystemClock()
        self.compactor = compactor or HistoryCompactor()
        self.memory_k = memory_k
        self.max_tool_rounds = max_tool_rounds
        self.engine = TurnEngine(tiers, self.router, self.clock)
        self.persona_block = persona.system_prompt()
        self.persona_tokens = estimate_tokens(self.persona_block)

    @property
    def turn_logs(self) -> list[TurnLog]:
        """Every turn log this loop wrote, when it keeps them (the default writer, or one with ``records``)."""
        records = getattr(self.writer, "records", None)
        if records is None:
            raise UsageError(
                f"this loop writes its turn logs to {self.writer!r} and keeps none; read them from there "
                "(turn_logs_to_frame(path) for a JSONL file), or use conversation.turn_logs"
            )
        return list(records)

    def __repr__(self) -> str:
        return f"ConversationLoop(persona={self.persona.id!r}, tiers={self.tiers!r}, router={self.router!r})"

    def new_conversation(self, id: str | None = None) -> Conversation:
        """A fresh conversation for this persona (the caller owns it)."""
        if id is None:
            return Conversation(persona_id=self.persona.id)
        return Conversation(persona_id=self.persona.id, id=id)

    # -- the turn --------------------------------------------------------------------------

    async def turn(
        self,
        conversation: Conversation,
        text: str,
        *,
        metadata: Mapping[str, Any] | None = None,
        extras: TurnExtras | None = None,
    ) -> AsyncGenerator[LoopEvent, None]:
        """Run one turn, streaming events; the last event is :class:`TurnDone`.

        A consumer that may stop early closes the stream, so the model call's HTTP response is
        released at once rather than at garbage collection::

            async with contextlib.aclosing(loop.turn(conversation, text)) as events:
                async for event in events:
                    ...  # a break here closes the turn and its model call

        A turn stopped that way, or cancelled (``task.cancel()``), writes its turn log with
        ``error_type="Cancelled"`` and what was paid so far; nothing is committed.

        ``extras`` adds instructions, tools, a tier preference and labels to this turn only.

        On success the turn is committed to ``conversation``. When every tier fails, the turn
        log (with the error) is written and emitted, then :class:`AllTiersFailed` is raised and
        the conversation is left as it was.
        """
        self._check(conversation)
        metadata = dict(metadata or {})
        infos = self.tiers.infos()  # prices every configured model: loads the price list before timing
        clock, engine = self.clock, self.engine
        started = clock.monotonic()
        timestamp = clock.now().isoformat()
        index = conversation.turn_count
        yield Started(id=conversation.id, index=index, scope="turn", text=text)
        turn = prepare(self, conversation, text, metadata, extras, infos)
        record = _Record(turn=turn, text=text, timestamp=timestamp, started=started, metadata=metadata, extras=extras)
        error: PersonaLabError | None = None
        try:
            record.decision = decision = engine.route(turn.context)
            if extras is not None:
                record.decision = decision = extras.decide(decision)
            tier, _, chosen = engine.resolve(decision, turn.tally, id=turn.id, index=index)
            yield chosen
            async with aclosing(self._answer(turn, tier, decision)) as answering:
                async for event in answering:
                    yield event
        except PersonaLabError as exc:
            error = exc
            turn.tally.last = None  # a failed turn has no answering tier
        except (asyncio.CancelledError, GeneratorExit) as stop:
            turn.tally.last = None
            self._write(record, clock.monotonic(), stop=stop)
            raise
        record.answered = clock.monotonic()
        if error is None:
            try:
                async with aclosing(write_back(turn, loop=self)) as writing:
                    async for event in writing:
                        yield event
            except (asyncio.CancelledError, GeneratorExit):
                self._write(record, record.answered)  # committed: its log is written, then the stop goes on
                raise
        turn_log = self._write(record, record.answered, error=error)
        if error is not None:
            yield ErrorOccurred(id=turn.id, index=index, error_type=type(error).__name__, message=str(error))
            yield TurnDone(id=turn.id, index=index, turn_log=turn_log, answer="")
            raise error
        answer = turn.tally.last.text if turn.tally.last is not None else ""
        yield TurnDone(id=turn.id, index=index, turn_log=turn_log, answer=answer)

    def _write(
        self,
        record: _Record,
        answered: float,
        *,
        error: PersonaLabError | None = None,
        stop: BaseException | None = None,
    ) -> TurnLog:
        """Build the turn log, keep it with the conversation and write it.

        A turn cancelled (``task.cancel()``) or abandoned by its consumer (``stop``) is logged with
        what was paid so far (the interrupted call's tokens estimated) and ``error_type="Cancelled"``.
        """
        turn, clock = record.turn, self.clock
        turn_log = build_turn_log(
            turn.tally,
            TurnIdentity(
                conversation_id=turn.id,
                turn_index=turn.index,
                timestamp=record.timestamp,
                persona_id=self.persona.id,
                router_name=self.engine.router_name,
                user_text=record.text,
                labels=turn_log_labels(record.metadata),
            ),
            decision=record.decision,
            started=record.started,
            latency_s=answered - record.started,
            writeback_s=clock.monotonic() - answered,
            prompt_tokens=turn.whole.tokens,
            memory_hits=len(turn.parts.memories),
            error=error if stop is None else stop,
        )
        if stop is not None:
            how = "the task was cancelled" if isinstance(stop, asyncio.CancelledError) else "its consumer stopped"
            turn_log = replace(turn_log, error=f"cancelled: {how} before the turn finished", error_type="Cancelled")
        extras = record.extras
        if extras is not None and extras.labels is not None:
            turn_log = replace(turn_log, labels={**turn_log.labels, **extras.labels()})
        turn.conversation.turn_logs.append(turn_log)
        self.writer.write(turn_log)
        return turn_log

    def _check(self, conversation: Conversation) -> None:
        if conversation.persona_id != self.persona.id:
            raise UsageError(
                f"conversation {conversation.id} belongs to persona {conversation.persona_id!r}, "
                f"not {self.persona.id!r}"
            )
        cap = self.persona.routing.max_cost_per_session_usd
        if cap is not None and conversation.cost_usd >= cap:
            raise BudgetExceeded(
                f"persona {self.persona.id!r}: session cost cap ${cap:.4f} reached "
                f"(spent ${conversation.cost_usd:.4f}); start a new conversation or raise the cap",
                spent_usd=conversation.cost_usd,
                cap_usd=cap,
            )

    async def _answer(self, turn: ChatTurn, tier: str, decision: RoutingDecision) -> AsyncGenerator[LoopEvent, None]:
        """Generate with the tool sub-loop; an escalating router may send it up a tier."""
        error_cache: dict[tuple[str, str], ToolOutcome] = {}
        escalations = 0
        tally = turn.tally
        while True:
            base_messages = len(turn.messages)
            async with aclosing(self._tool_rounds(turn, tier, error_cache)) as rounds:
                async for event in rounds:
                    yield event
            result = tally.last
            assert result is not None
            review = getattr(self.router, "review", None)
            if review is None or escalations >= 2:
                return
            answered = replace(decision, tier=result.tier)  # the tier that produced this answer
            verdict: Verdict = await review(turn.context, answered, result.text)
            if verdict.cost_usd is not None:
                tally.review_costs.append(verdict.cost_usd)
            target = verdict.escalate_to
            if verdict.accept or target is None or not self.tiers.is_configured(target) or target == result.tier:
                return
            cap = self.persona.routing.max_cost_per_turn_usd
            if cap is not None and tally.known_cost() >= cap:
                return
            tally.attempts[-1] = replace(tally.attempts[-1], outcome="escalated")
            escalations += 1
            del turn.messages[base_messages:]
            yield Retrying(
                id=turn.id,
                index=turn.index,
                from_tier=result.tier,
                from_model=result.config.model,
                to_tier=target,
                to_model=self.tiers.config(target).primary.model,
                reason=verdict.reason,
            )
            tier = target

    async def _tool_rounds(
        self, turn: ChatTurn, tier: str, error_cache: dict[tuple[str, str], ToolOutcome]
    ) -> AsyncGenerator[LoopEvent, None]:
        engine, tally, toolbox, cid, index = self.engine, turn.tally, turn.toolbox, turn.id, turn.index
        parts, whole = turn.parts, turn.whole
        for round_no in range(self.max_tool_rounds + 1):
            last_round = round_no == self.max_tool_rounds
            extra = tuple(turn.messages[1:])

            def build(
                cand_tier: str, config: ModelConfig, extra: tuple[Message, ...] = extra, last_round: bool = last_round
            ) -> ChatRequest:
                fitted = whole if whole.tokens <= config.prompt_budget else parts.fit(config.prompt_budget)
                offer = toolbox.specs() if (len(toolbox) and config.supports_tools and not last_round) else ()
                return ChatRequest(
                    model=config.model,
                    system=fitted.system,
                    messages=fitted.messages + extra,
                    tools=offer,
                    max_output_tokens=config.max_output_tokens,
                    temperature=config.temperature,
                )

            async with aclosing(engine.call(id=cid, index=index, tier=tier, build=build, tally=tally)) as calling:
                async for event in calling:
                    yield event
            result = tally.last
            assert result is not None
            tier = result.tier
            if not result.tool_calls or last_round:
                turn.messages.append(Message.assistant(result.text, tier=result.tier, model=result.config.model))
                return
            turn.messages.append(
                Message.assistant(
                    result.text, tool_calls=result.tool_calls, tier=result.tier, model=result.config.model
                )
            )
            for call in result.tool_calls:
                yield engine.tool_calling(call, id=cid, index=index)
                outcome = await toolbox.execute(call, error_cache=error_cache)
                yield engine.tool_done(tally, turn.messages, call, outcome, id=cid, index=index)

    # -- conveniences ----------------------------------------------------------------------

    async def achat(
        self,
        conversation: Conversation,
        text: str,
        *,
        metadata: Mapping[str, Any] | None = None,
        extras: TurnExtras | None = None,
    ) -> TurnResult:
        """Run a turn and collect it: the answer, the turn log and the events."""
        events: list[LoopEvent] = []
        async for event in self.turn(conversation, text, metadata=metadata, extras=extras):
            events.append(event)
        done = events[-1]
        assert isinstance(done, TurnDone)
        return TurnResult(answer=done.answer, turn_log=done.turn_log, events=tuple(events))

    def chat(
        self,
        conversation: Conversation,
        text: str,
        *,
        metadata: Mapping[str, Any] | None = None,
        extras: TurnExtras | None = None,
    ) -> TurnResult:
        """Sync :meth:`achat` for scripts and notebooks (works inside Jupyter's running loop)."""
        from persona_lab.core import run_sync

        return run_sync(self.achat(conversation, text, metadata=metadata, extras=extras))
