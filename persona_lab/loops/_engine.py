"""The turn engine both loops run on: route → model call with fallback → tool calls → turn log.

A chat turn (:class:`ConversationLoop`) and an agent step (:class:`AgenticLoop`) are policies
around this engine: they decide what the prompt is, how many calls and tool rounds a turn makes
and when it ends. The engine does what they share, the same way for both:

- :meth:`TurnEngine.route`: the router's decision for a context (a router that raises becomes a
  :class:`RouterError`, a bad tier name an :class:`UnknownTier`), then :meth:`TurnEngine.resolve`
  maps it onto the nearest configured tier and announces it (:class:`TierChosen`);
- :meth:`TurnEngine.call`: one model call with fallback over the tier's models and the nearest
  tiers (text deltas and retries streamed), every attempt recorded in the turn's :class:`TurnTally`;
- :meth:`TurnEngine.summarise` / :meth:`TurnEngine.record_compaction`: a history-compaction call,
  paid and logged by the turn that made it;
- :meth:`TurnEngine.tool_calling` / :meth:`TurnEngine.tool_done`: a tool call announced, its
  outcome recorded (the record, the tool-result message, the event);
- :func:`build_turn_log`: the one turn-log builder (costs, tokens, fallback, timing).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Literal

from persona_lab.core import (
    Attempt,
    ChatRequest,
    Clock,
    Compacted,
    CompactionCall,
    LoopEvent,
    Message,
    PersonaLabError,
    Router,
    RouterError,
    RoutingContext,
    RoutingDecision,
    TierChosen,
    ToolCall,
    ToolCalling,
    ToolCallRecord,
    ToolResult,
    TurnLog,
    check_tier,
    router_name,
)
from persona_lab.loops._model_call import CallBox, CallResult, ModelCaller, RequestBuilder
from persona_lab.loops._tools import ToolOutcome
from persona_lab.tiers import ModelConfig, TierRegistry

__all__ = ["TurnEngine", "TurnIdentity", "TurnTally", "build_turn_log"]

logger = logging.getLogger("persona_lab.loops")


@dataclass(slots=True)
class TurnTally:
    """What one turn (or agent step) has done so far: its paid calls, tools and compactions."""

    attempts: list[Attempt] = field(default_factory=list)
    tools: list[ToolCallRecord] = field(default_factory=list)
    compactions: list[CompactionCall] = field(default_factory=list)
    review_costs: list[float] = field(default_factory=list)
    last: CallResult | None = None
    first_text_at: float | None = None
    tokens_estimated: bool = False
    fallback_reason: str | None = None

    def record_call(self, result: CallResult) -> None:
        """An accepted call: its attempts (failed ones first), timing and fallback."""
        self.attempts.extend(result.attempts)
        self.last = result
        self.tokens_estimated |= result.tokens_estimated
        if result.fallback_reason:
            self.fallback_reason = result.fallback_reason
        if self.first_text_at is None:
            self.first_text_at = result.first_text_at

    def paid(self) -> list[Attempt]:
        """The attempts that were paid for: accepted, escalated, or billed by estimate when cut short."""
        return [a for a in self.attempts if a.outcome != "failed" or a.cost_usd is not None]

    def costs(self, *, failed: bool = False, paid: list[Attempt] | None = None) -> tuple[float | None, float | None]:
        """``(cost_usd, total_cost_usd)`` of the turn, as :func:`build_turn_log` records them.

        ``cost_usd`` sums the paid attempts; ``None`` when one has no price, ``0`` when nothing
        was paid and the turn did not fail. ``total_cost_usd`` adds compactions and reviews and
        is ``None`` when any part is unknown.
        """
        answer_costs = [a.cost_usd for a in (self.paid() if paid is None else paid)]
        cost: float | None
        if not answer_costs:
            cost = None if failed else 0.0
        elif any(c is None for c in answer_costs):
            cost = None
        else:
            cost = sum(c for c in answer_costs if c is not None)
        extra = [c.cost_usd for c in self.compactions]
        if cost is None or any(c is None for c in extra):
            return cost, None
        return cost, cost + sum(c for c in extra if c is not None) + sum(self.review_costs)

    def known_cost(self) -> float:
        """What the turn has spent so far where prices are known (attempts, compactions, reviews)."""
        costs = [a.cost_usd for a in self.attempts if a.cost_usd is not None]
        costs += [c.cost_usd for c in self.compactions if c.cost_usd is not None]
        return sum(costs) + sum(self.review_costs)


@dataclass(frozen=True, slots=True, kw_only=True)
class TurnIdentity:
    """Who and what a turn log is about (everything it records that the tally does not)."""

    conversation_id: str
    turn_index: int
    timestamp: str
    persona_id: str
    router_name: str
    user_text: str
    kind: Literal["chat", "agent_step"] = "chat"
    run_id: str | None = None
    step_index: int | None = None
    labels: Mapping[str, str] = field(default_factory=dict)


def build_turn_log(
    tally: TurnTally,
    who: TurnIdentity,
    *,
    decision: RoutingDecision | None,
    started: float,
    latency_s: float,
    writeback_s: float = 0.0,
    prompt_tokens: int = 0,
    memory_hits: int = 0,
    answer_chars: int | None = None,
    error: BaseException | None = None,
    interrupted: bool = False,
) -> TurnLog:
    """The turn log of a finished, failed or interrupted turn (costs: :meth:`TurnTally.costs`)."""
    last = tally.last
    paid = tally.paid()
    cost, total = tally.costs(failed=error is not None or interrupted, paid=paid)
    used_tier = last.tier if last is not None else None
    fallback_from = decision.tier if decision and used_tier and used_tier != decision.tier else None
    if error is None and interrupted:
        error_text: str | None = "run cancelled during this step"
        error_type: str | None = "RunCancelled"
    else:
        error_text = None if error is None else str(error) or type(error).__name__
        error_type = None if error is None else type(error).__name__
    return TurnLog(
        conversation_id=who.conversation_id,
        turn_index=who.turn_index,
        timestamp=who.timestamp,
        persona_id=who.persona_id,
        router_name=who.router_name,
        requested_tier=decision.tier if decision else "",
        tier=used_tier,
        decision_reason=decision.reason if decision else "",
        latency_s=latency_s,
        writeback_s=writeback_s,
        kind=who.kind,
        user_text=who.user_text[:4000],
        decision_scores=dict(decision.scores) if decision else {},
        decision_features=dict(decision.features) if decision else {},
        fallback_from=fallback_from,
        fallback_to=used_tier if fallback_from else None,
        fallback_reason=tally.fallback_reason if (fallback_from or tally.fallback_reason) else None,
        gen_ai_provider_name=last.config.provider if last else None,
        gen_ai_request_model=last.config.model if last else None,
        gen_ai_response_model=(last.response_model or last.config.model) if last else None,
        gen_ai_usage_input_tokens=sum(a.input_tokens or 0 for a in paid) if paid else None,
        gen_ai_usage_output_tokens=sum(a.output_tokens or 0 for a in paid) if paid else None,
        gen_ai_usage_cache_read_input_tokens=last.usage.cache_read_input_tokens if last else None,
        gen_ai_response_time_to_first_chunk=last.time_to_first_chunk_s if last else None,
        ttft_s=None if tally.first_text_at is None else tally.first_text_at - started,
        cost_usd=cost,
        total_cost_usd=total,
        price_source=last.cost.source if last else "unknown",
        tokens_estimated=tally.tokens_estimated or (interrupted and last is None),
        prompt_tokens_estimate=prompt_tokens,
        memory_hits=memory_hits,
        answer_chars=(len(last.text) if last else 0) if answer_chars is None else answer_chars,
        tool_calls=tuple(tally.tools),
        compactions=tuple(tally.compactions),
        attempts=tuple(tally.attempts),
        error=error_text,
        error_type=error_type,
        run_id=who.run_id,
        step_index=who.step_index,
        labels=dict(who.labels),
    )


class TurnEngine:
    """Routing, model calls, tool calls, compaction calls and turn logs, for both loops."""

    def __init__(self, tiers: TierRegistry, router: Router, clock: Clock):
        self.tiers = tiers
        self.router = router
        self.clock = clock
        self.router_name = router_name(router)
        self.caller = ModelCaller(tiers, clock)

    def __repr__(self) -> str:
        return f"TurnEngine(tiers={self.tiers!r}, router={self.router!r})"

    # -- routing ---------------------------------------------------------------------------------

    def route(self, context: RoutingContext) -> RoutingDecision:
        """The router's decision; its failures become :class:`RouterError`, its tier is checked."""
        try:
            decision = self.router.route(context)
        except PersonaLabError:
            raise
        except Exception as exc:
            raise RouterError(f"router {self.router_name} failed: {type(exc).__name__}: {exc}") from exc
        check_tier(decision.tier, where=f"decision of router {self.router_name}")
        return decision

    def resolve(
        self, decision: RoutingDecision, tally: TurnTally, *, id: str, index: int
    ) -> tuple[str, ModelConfig, TierChosen]:
        """The configured tier nearest the decision, its primary model, and the event saying so."""
        tier = self.tiers.nearest(decision.tier)
        if tier != decision.tier:
            tally.fallback_reason = f"tier {decision.tier!r} is not configured"
        primary = self.tiers.config(tier).primary
        event = TierChosen(
            id=id,
            index=index,
            tier=tier,
            provider=primary.provider,
            model=primary.model,
            reason=decision.reason,
            router=self.router_name,
            scores=decision.scores,
        )
        return tier, primary, event

    # -- model calls -----------------------------------------------------------------------------

    async def call(
        self,
        *,
        id: str,
        index: int,
        tier: str,
        build: RequestBuilder,
        tally: TurnTally,
        box: CallBox | None = None,
        emit_text: bool = True,
    ) -> AsyncGenerator[LoopEvent, None]:
        """One model call with fallback, recorded in ``tally`` (failed attempts too, also when cut short)."""
        box = box if box is not None else CallBox()
        try:
            calling = self.caller.stream(id=id, index=index, tier=tier, build=build, box=box, emit_text=emit_text)
            async with aclosing(calling) as events:  # a stopped turn closes the HTTP response at once
                async for event in events:
                    yield event
        except BaseException:
            tally.attempts.extend(box.failed_attempts)
            raise
        assert box.result is not None
        tally.record_call(box.result)

    async def summarise(
        self,
        *,
        id: str,
        index: int,
        tier: str,
        system: str,
        messages: tuple[Message, ...],
        max_output_tokens: int,
        temperature: float | None,
        box: CallBox,
    ) -> AsyncGenerator[LoopEvent, None]:
        """A compaction call on the configured tier nearest ``tier``; no text is streamed."""

        def build(cand_tier: str, config: ModelConfig) -> ChatRequest:
            return ChatRequest(
                model=config.model,
                system=system,
                messages=messages,
                max_output_tokens=min(max_output_tokens, config.max_output_tokens),
                temperature=config.temperature if temperature is None else temperature,
            )

        calling = self.caller.stream(
            id=id, index=index, tier=self.tiers.nearest(tier), build=build, box=box, emit_text=False
        )
        async with aclosing(calling) as events:
            async for event in events:
                yield event

    @staticmethod
    def record_compaction(
        tally: TurnTally, result: CallResult, *, id: str, index: int, summarized: int, summary: str
    ) -> Compacted:
        """Pay and log a compaction call in the turn that made it; the event announcing it."""
        tally.compactions.append(
            CompactionCall(
                tier=result.tier,
                model=result.config.model,
                summarized=summarized,
                input_tokens=result.usage.input_tokens,
                output_tokens=result.usage.output_tokens,
                cost_usd=result.cost.usd,
                tokens_estimated=result.tokens_estimated,
                summary_chars=len(summary),
            )
        )
        return Compacted(id=id, index=index, summarized=summarized, tier=result.tier, cost_usd=result.cost.usd)

    # -- tools -------------------------------------------------------------------------------------

    @staticmethod
    def tool_calling(call: ToolCall, *, id: str, index: int) -> ToolCalling:
        return ToolCalling(id=id, index=index, call_id=call.id, name=call.name, arguments=call.arguments)

    @staticmethod
    def tool_done(
        tally: TurnTally, messages: list[Message], call: ToolCall, outcome: ToolOutcome, *, id: str, index: int
    ) -> ToolResult:
        """Record a tool's outcome (the record, the tool-result message); the event announcing it."""
        tally.tools.append(
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
        messages.append(Message.tool_result(call, outcome.content))
        return ToolResult(
            id=id,
            index=index,
            call_id=call.id,
            name=call.name,
            content=outcome.content,
            is_error=outcome.is_error,
            cached=outcome.cached,
        )
