"""The conversation loop: one persona turn as a stream of events.

retrieve memory → compact history → build prompt → route → stream-generate (with a tool
sub-loop and cascade review) → write back → emit the turn log. The loop holds collaborators,
never conversation state: the caller's :class:`Conversation` is read and committed to.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from persona_lab.core import (
    Attempt,
    BudgetExceeded,
    ChatRequest,
    Clock,
    Compacted,
    CompactionCall,
    Conversation,
    ConversationTurn,
    ErrorOccurred,
    LoopEvent,
    Message,
    PersonaLabError,
    Retrying,
    Router,
    RouterError,
    RoutingContext,
    RoutingDecision,
    Started,
    SystemClock,
    TierChosen,
    ToolCalling,
    ToolCallRecord,
    ToolResult,
    TurnDone,
    TurnLog,
    UsageError,
    Verdict,
    check_tier,
    estimate_tokens,
    router_name,
    turn_log_labels,
)
from persona_lab.loops._compaction import HistoryCompactor
from persona_lab.loops._extras import TurnExtras
from persona_lab.loops._model_call import CallBox, CallResult, ModelCaller
from persona_lab.loops._prompt import FittedPrompt, PromptParts
from persona_lab.loops._tools import Toolbox, ToolOutcome
from persona_lab.memory import MemoryItem, MemoryStore, SqliteMemoryStore, seed_persona_memories
from persona_lab.persona import Persona
from persona_lab.routers import FixedRouter
from persona_lab.tiers import ModelConfig, TierRegistry

__all__ = ["ConversationLoop", "TurnLogSink", "TurnResult"]

logger = logging.getLogger("persona_lab.loops")


class TurnLogSink(Protocol):
    """Where finished turn logs go (JSONL file, memory list, …)."""

    def write(self, record: TurnLog) -> None: ...


class KeptTurnLogs:
    """The default sink: keeps every turn log in ``records`` (like ``logs.InMemoryTurnLogWriter``)."""

    def __init__(self) -> None:
        self.records: list[TurnLog] = []

    def __repr__(self) -> str:
        return f"KeptTurnLogs({len(self.records)} records)"

    def write(self, record: TurnLog) -> None:
        self.records.append(record)


@dataclass(frozen=True, slots=True, kw_only=True)
class TurnResult:
    """What the sync helper returns: the answer, its turn log and every event."""

    answer: str
    turn_log: TurnLog
    events: tuple[LoopEvent, ...] = field(repr=False)


@dataclass(slots=True)
class _TurnState:
    """Accumulates one turn's attempts, tools and compaction while it runs."""

    attempts: list[Attempt] = field(default_factory=list)
    tools: list[ToolCallRecord] = field(default_factory=list)
    compactions: list[CompactionCall] = field(default_factory=list)
    extra_cost: list[float] = field(default_factory=list)
    turn_messages: list[Message] = field(default_factory=list)
    last: CallResult | None = None
    first_text_at: float | None = None
    tokens_estimated: bool = False
    fallback_reason: str | None = None
    pending_summary: tuple[str, int] | None = None


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
        self._caller = ModelCaller(tiers, self.clock)
        self._persona_block = persona.system_prompt()
        self._persona_tokens = estimate_tokens(self._persona_block)
        self._router_name = router_name(self.router)

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
        return Conversation(
            persona_id=self.persona.id,
        ) if id is None else Conversation(persona_id=self.persona.id, id=id)

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
        if conversation.persona_id != self.persona.id:
            raise UsageError(
                f"conversation {conversation.id} belongs to persona {conversation.persona_id!r}, "
                f"not {self.persona.id!r}"
            )
        prefs = self.persona.routing
        cap = prefs.max_cost_per_session_usd
        if cap is not None and conversation.cost_usd >= cap:
            raise BudgetExceeded(
                f"persona {self.persona.id!r}: session cost cap ${cap:.4f} reached "
                f"(spent ${conversation.cost_usd:.4f}); start a new conversation or raise the cap",
                spent_usd=conversation.cost_usd,
                cap_usd=cap,
            )
        metadata = dict(metadata or {})
        cid, index = conversation.id, conversation.turn_count
        clock = self.clock
        started = clock.monotonic()
        timestamp = clock.now().isoformat()
        state = _TurnState()
        user = Message.user(text)
        state.turn_messages.append(user)
        yield Started(id=cid, index=index, scope="turn", text=text)

        hits = self.memory.search(text, persona_id=self.persona.id, k=self.memory_k)
        toolbox, persona_block, persona_tokens = self.toolbox, self._persona_block, self._persona_tokens
        if extras is not None:
            toolbox = extras.toolbox(toolbox)
            if extras.instructions:
                persona_block = f"{persona_block}\n\n{extras.instructions}"
                persona_tokens += estimate_tokens(extras.instructions)

        summary, summarized = conversation.summary, conversation.summarized_turns
        if self.compactor.due(conversation):
            try:
                async with aclosing(self._compact(conversation, index, state)) as compacting:
                    async for event in compacting:
                        yield event
            except (asyncio.CancelledError, GeneratorExit) as stop:
                self._write_stopped(conversation, index, timestamp, started, None, state, 0, len(hits), metadata,
                                    stop)
                raise
            assert state.pending_summary is not None
            summary, summarized = state.pending_summary

        parts = PromptParts(
            persona_block=persona_block,
            persona_tokens=persona_tokens,
            summary=summary,
            memories=tuple(hits),
            history=conversation.turns[summarized:],
            current=(user,),
        )
        whole = parts.fit(None)
        prompt_tokens = whole.tokens
        context = RoutingContext(
            conversation_id=cid,
            turn_index=index,
            message=text,
            history=conversation.history(),
            prompt_tokens=prompt_tokens,
            tools_needed=len(toolbox) > 0,
            tool_names=toolbox.names,
            preferences=prefs,
            session_cost_usd=conversation.cost_usd,
            tiers=self.tiers.infos(),
            persona_id=self.persona.id,
            constraints=self.persona.identity.constraints,
            metadata=metadata,
        )
        decision: RoutingDecision | None = None
        error: BaseException | None = None
        answer = ""
        try:
            decision = self._route(context)
            if extras is not None:
                decision = extras.decide(decision)
            requested = decision.tier
            tier = self.tiers.nearest(requested)
            if tier != requested:
                state.fallback_reason = f"tier {requested!r} is not configured"
            info = self.tiers.config(tier).primary
            yield TierChosen(
                id=cid,
                index=index,
                tier=tier,
                provider=info.provider,
                model=info.model,
                reason=decision.reason,
                router=self._router_name,
                scores=decision.scores,
            )
            async with aclosing(
                self._answer(conversation, index, tier, parts, whole, context, decision, state, toolbox)
            ) as answering:
                async for event in answering:
                    yield event
            assert state.last is not None
            answer = state.last.text
        except PersonaLabError as exc:
            error = exc
        except (asyncio.CancelledError, GeneratorExit) as stop:
            self._write_stopped(conversation, index, timestamp, started, decision, state, prompt_tokens, len(hits),
                                metadata, stop)
            raise
        turn_log = self._turn_log(
            conversation, index, timestamp, started, decision, state, prompt_tokens, len(hits), metadata, error
        )
        if extras is not None and extras.labels is not None:
            turn_log = replace(turn_log, labels={**turn_log.labels, **extras.labels()})
        if error is None:
            self._commit(conversation, index, state, turn_log, answer)
        conversation.turn_logs.append(turn_log)
        self.writer.write(turn_log)
        if error is not None:
            yield ErrorOccurred(id=cid, index=index, error_type=type(error).__name__, message=str(error))
            yield TurnDone(id=cid, index=index, turn_log=turn_log, answer="")
            raise error
        yield TurnDone(id=cid, index=index, turn_log=turn_log, answer=answer)

    def _write_stopped(
        self,
        conversation: Conversation,
        index: int,
        timestamp: str,
        started: float,
        decision: RoutingDecision | None,
        state: _TurnState,
        prompt_tokens: int,
        memory_hits: int,
        metadata: Mapping[str, Any],
        stop: BaseException,
    ) -> None:
        """The turn log of a turn cancelled (``task.cancel()``) or abandoned by its consumer: what was
        paid so far (the interrupted call's tokens estimated), ``error_type="Cancelled"``; nothing
        is committed to the conversation."""
        how = "the task was cancelled" if isinstance(stop, asyncio.CancelledError) else "its consumer stopped"
        turn_log = self._turn_log(
            conversation, index, timestamp, started, decision, state, prompt_tokens, memory_hits, metadata, stop
        )
        turn_log = replace(turn_log, error=f"cancelled: {how} before the turn finished", error_type="Cancelled")
        conversation.turn_logs.append(turn_log)
        self.writer.write(turn_log)

    def _route(self, context: RoutingContext) -> RoutingDecision:
        try:
            decision = self.router.route(context)
        except PersonaLabError:
            raise
        except Exception as exc:
            raise RouterError(f"router {self._router_name} failed: {type(exc).__name__}: {exc}") from exc
        check_tier(decision.tier, where=f"decision of router {self._router_name}")
        return decision

    async def _compact(
        self, conversation: Conversation, index: int, state: _TurnState
    ) -> AsyncGenerator[LoopEvent, None]:
        compactor = self.compactor
        turns = compactor.to_summarize(conversation)
        system, messages = compactor.prompt(conversation.summary, turns)
        box = CallBox()

        def build(tier: str, config: ModelConfig) -> ChatRequest:
            return ChatRequest(
                model=config.model,
                system=system,
                messages=messages,
                max_output_tokens=min(compactor.max_output_tokens, config.max_output_tokens),
                temperature=config.temperature,
            )

        calling = self._caller.stream(
            id=conversation.id,
            index=index,
            tier=self.tiers.nearest(compactor.tier),
            build=build,
            box=box,
            emit_text=False,
        )
        async with aclosing(calling) as events:
            async for event in events:
                yield event
        result = box.result
        assert result is not None
        summary = compactor.clean(result.text)
        call = CompactionCall(
            tier=result.tier,
            model=result.config.model,
            summarized=len(turns),
            input_tokens=result.usage.input_tokens,
            output_tokens=result.usage.output_tokens,
            cost_usd=result.cost.usd,
            tokens_estimated=result.tokens_estimated,
            summary_chars=len(summary),
        )
        state.compactions.append(call)
        state.pending_summary = (summary, conversation.summarized_turns + len(turns))
        yield Compacted(
            id=conversation.id, index=index, summarized=len(turns), tier=result.tier, cost_usd=result.cost.usd
        )

    async def _answer(
        self,
        conversation: Conversation,
        index: int,
        tier: str,
        parts: PromptParts,
        whole: FittedPrompt,
        context: RoutingContext,
        decision: RoutingDecision,
        state: _TurnState,
        toolbox: Toolbox,
    ) -> AsyncGenerator[LoopEvent, None]:
        """Generate with the tool sub-loop; an escalating router may send it up a tier."""
        cid = conversation.id
        error_cache: dict[tuple[str, str], ToolOutcome] = {}
        escalations = 0
        while True:
            base_messages = len(state.turn_messages)
            rounds = self._tool_rounds(cid, index, tier, parts, whole, state, error_cache, toolbox)
            async with aclosing(rounds) as events:
                async for event in events:
                    yield event
            result = state.last
            assert result is not None
            review = getattr(self.router, "review", None)
            if review is None or escalations >= 2:
                return
            answered = replace(decision, tier=result.tier)  # the tier that produced this answer
            verdict: Verdict = await review(context, answered, result.text)
            if verdict.cost_usd is not None:
                state.extra_cost.append(verdict.cost_usd)
            target = verdict.escalate_to
            if verdict.accept or target is None or not self.tiers.is_configured(target) or target == result.tier:
                return
            cap = self.persona.routing.max_cost_per_turn_usd
            if cap is not None and self._turn_cost(state) >= cap:
                return
            state.attempts[-1] = _escalated(state.attempts[-1])
            escalations += 1
            del state.turn_messages[base_messages:]
            target_model = self.tiers.config(target).primary.model
            yield Retrying(
                id=cid,
                index=index,
                from_tier=result.tier,
                from_model=result.config.model,
                to_tier=target,
                to_model=target_model,
                reason=verdict.reason,
            )
            tier = target

    async def _tool_rounds(
        self,
        cid: str,
        index: int,
        tier: str,
        parts: PromptParts,
        whole: FittedPrompt,
        state: _TurnState,
        error_cache: dict[tuple[str, str], ToolOutcome],
        toolbox: Toolbox,
    ) -> AsyncGenerator[LoopEvent, None]:
        for round_no in range(self.max_tool_rounds + 1):
            last_round = round_no == self.max_tool_rounds
            extra = tuple(state.turn_messages[1:])

            def build(
                cand_tier: str, config: ModelConfig, extra: tuple[Message, ...] = extra, last_round: bool = last_round
            ) -> ChatRequest:
                budget = config.prompt_budget
                fitted = whole if whole.tokens <= budget else parts.fit(budget)
                offer = toolbox.specs() if (len(toolbox) and config.supports_tools and not last_round) else ()
                return ChatRequest(
                    model=config.model,
                    system=fitted.system,
                    messages=fitted.messages + extra,
                    tools=offer,
                    max_output_tokens=config.max_output_tokens,
                    temperature=config.temperature,
                )

            box = CallBox()
            try:
                calling = self._caller.stream(id=cid, index=index, tier=tier, build=build, box=box)
                async with aclosing(calling) as events:
                    async for event in events:
                        yield event
            except BaseException:
                state.attempts.extend(box.failed_attempts)
                raise
            result = box.result
            assert result is not None
            state.attempts.extend(result.attempts)
            state.last = result
            state.tokens_estimated |= result.tokens_estimated
            if result.fallback_reason:
                state.fallback_reason = result.fallback_reason
            if state.first_text_at is None:
                state.first_text_at = result.first_text_at
            tier = result.tier
            if not result.tool_calls or last_round:
                state.turn_messages.append(Message.assistant(result.text, tier=result.tier, model=result.config.model))
                return
            state.turn_messages.append(
                Message.assistant(
                    result.text, tool_calls=result.tool_calls, tier=result.tier, model=result.config.model
                )
            )
            for call in result.tool_calls:
                yield ToolCalling(id=cid, index=index, call_id=call.id, name=call.name, arguments=call.arguments)
                outcome = await toolbox.execute(call, error_cache=error_cache)
                state.tools.append(
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
                state.turn_messages.append(Message.tool_result(call, outcome.content))
                yield ToolResult(
                    id=cid,
                    index=index,
                    call_id=call.id,
                    name=call.name,
                    content=outcome.content,
                    is_error=outcome.is_error,
                    cached=outcome.cached,
                )

    # -- bookkeeping -------------------------------------------------------------------------

    @staticmethod
    def _turn_cost(state: _TurnState) -> float:
        costs = [a.cost_usd for a in state.attempts if a.cost_usd is not None]
        costs += [c.cost_usd for c in state.compactions if c.cost_usd is not None]
        return sum(costs) + sum(state.extra_cost)

    def _turn_log(
        self,
        conversation: Conversation,
        index: int,
        timestamp: str,
        started: float,
        decision: RoutingDecision | None,
        state: _TurnState,
        prompt_tokens: int,
        memory_hits: int,
        metadata: Mapping[str, Any],
        error: BaseException | None,
    ) -> TurnLog:
        last = state.last if error is None else None
        paid = [a for a in state.attempts if a.outcome != "failed"]
        answer_costs = [a.cost_usd for a in paid]
        cost = (
            None
            if any(c is None for c in answer_costs) or not answer_costs
            else sum(c for c in answer_costs if c is not None)
        )
        if not paid:
            cost = 0.0 if error is None else None
        total = self._turn_cost(state) if cost is not None else None
        used_tier = last.tier if last else None
        fallback_from = decision.tier if decision and used_tier and used_tier != decision.tier else None
        input_tokens = sum(a.input_tokens or 0 for a in paid) if paid else None
        output_tokens = sum(a.output_tokens or 0 for a in paid) if paid else None
        return TurnLog(
            conversation_id=conversation.id,
            turn_index=index,
            timestamp=timestamp,
            persona_id=self.persona.id,
            router_name=self._router_name,
            requested_tier=decision.tier if decision else "",
            tier=used_tier,
            decision_reason=decision.reason if decision else "",
            user_text=state.turn_messages[0].content[:4000],
            decision_scores=dict(decision.scores) if decision else {},
            decision_features=dict(decision.features) if decision else {},
            latency_s=self.clock.monotonic() - started,
            fallback_from=fallback_from,
            fallback_to=used_tier if fallback_from else None,
            fallback_reason=state.fallback_reason if fallback_from or state.fallback_reason else None,
            gen_ai_provider_name=last.config.provider if last else None,
            gen_ai_request_model=last.config.model if last else None,
            gen_ai_response_model=(last.response_model or last.config.model) if last else None,
            gen_ai_usage_input_tokens=input_tokens,
            gen_ai_usage_output_tokens=output_tokens,
            gen_ai_usage_cache_read_input_tokens=last.usage.cache_read_input_tokens if last else None,
            gen_ai_response_time_to_first_chunk=last.time_to_first_chunk_s if last else None,
            ttft_s=None if state.first_text_at is None else state.first_text_at - started,
            cost_usd=cost,
            total_cost_usd=total,
            price_source=last.cost.source if last else "unknown",
            tokens_estimated=state.tokens_estimated,
            prompt_tokens_estimate=prompt_tokens,
            memory_hits=memory_hits,
            answer_chars=len(last.text) if last else 0,
            tool_calls=tuple(state.tools),
            compactions=tuple(state.compactions),
            attempts=tuple(state.attempts),
            error=str(error) if error else None,
            error_type=type(error).__name__ if error else None,
            labels=turn_log_labels(metadata),
        )

    def _commit(
        self, conversation: Conversation, index: int, state: _TurnState, turn_log: TurnLog, answer: str
    ) -> None:
        if state.pending_summary is not None:
            conversation.commit_summary(*state.pending_summary)
        messages = tuple(state.turn_messages)
        conversation.commit_turn(
            ConversationTurn(
                index=index,
                messages=messages,
                tier=turn_log.tier or "",
                cost_usd=turn_log.total_cost_usd,
                tokens=sum(m.tokens for m in messages),
            ),
            added_cost_usd=turn_log.total_cost_usd or 0.0,
        )
        self.memory.add(
            MemoryItem(
                kind="episodic",
                text=f"User: {messages[0].content[:400]}\nAssistant: {answer[:400]}",
                persona_id=self.persona.id,
                conversation_id=conversation.id,
                created_at=self.clock.now().timestamp(),
            )
        )

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


def _escalated(attempt: Attempt) -> Attempt:
    return replace(attempt, outcome="escalated")
