"""One chat turn while it runs: its prompt and routing context, and its write-back (commit, memory,
and the history compaction a turn makes due)."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from persona_lab.core import (
    Conversation,
    ConversationTurn,
    LoopEvent,
    Message,
    PersonaLabError,
    RoutingContext,
    TierInfo,
    estimate_tokens,
)
from persona_lab.loops._engine import TurnTally
from persona_lab.loops._extras import TurnExtras
from persona_lab.loops._model_call import CallBox
from persona_lab.loops._prompt import FittedPrompt, PromptParts
from persona_lab.loops._tools import Toolbox
from persona_lab.memory import MemoryItem

if TYPE_CHECKING:
    from persona_lab.loops._conversation import ConversationLoop

__all__ = ["ChatTurn", "prepare", "write_back"]

logger = logging.getLogger("persona_lab.loops")


@dataclass(slots=True)
class ChatTurn:
    """One turn while it runs: where it is, what it has said and spent."""

    conversation: Conversation
    index: int
    toolbox: Toolbox
    parts: PromptParts
    whole: FittedPrompt
    context: RoutingContext
    messages: list[Message]
    tally: TurnTally = field(default_factory=TurnTally)

    @property
    def id(self) -> str:
        return self.conversation.id


def prepare(
    loop: ConversationLoop,
    conversation: Conversation,
    text: str,
    metadata: Mapping[str, Any],
    extras: TurnExtras | None,
    infos: Mapping[str, TierInfo],
) -> ChatTurn:
    """Memory, the prompt (from the summary as it stands) and the routing context of a turn."""
    hits = loop.memory.search(text, persona_id=loop.persona.id, k=loop.memory_k)
    toolbox, persona_block, persona_tokens = loop.toolbox, loop.persona_block, loop.persona_tokens
    if extras is not None:
        toolbox = extras.toolbox(toolbox)
        if extras.instructions:
            persona_block = f"{persona_block}\n\n{extras.instructions}"
            persona_tokens += estimate_tokens(extras.instructions)
    user = Message.user(text)
    parts = PromptParts(
        persona_block=persona_block,
        persona_tokens=persona_tokens,
        summary=conversation.summary,
        memories=tuple(hits),
        history=conversation.turns[conversation.summarized_turns :],
        current=(user,),
    )
    whole = parts.fit(None)
    context = RoutingContext(
        conversation_id=conversation.id,
        turn_index=conversation.turn_count,
        message=text,
        history=conversation.history(),
        prompt_tokens=whole.tokens,
        tools_needed=len(toolbox) > 0,
        tool_names=toolbox.names,
        preferences=loop.persona.routing,
        session_cost_usd=conversation.cost_usd,
        tiers=infos,
        persona_id=loop.persona.id,
        constraints=loop.persona.identity.constraints,
        metadata=metadata,
    )
    return ChatTurn(conversation, conversation.turn_count, toolbox, parts, whole, context, [user])


async def write_back(turn: ChatTurn, *, loop: ConversationLoop) -> AsyncGenerator[LoopEvent, None]:
    """Commit the turn and remember it; then compact the history when the turn made it due."""
    conversation, tally = turn.conversation, turn.tally
    result = tally.last
    assert result is not None
    messages = tuple(turn.messages)
    _, total = tally.costs()
    conversation.commit_turn(
        ConversationTurn(
            index=turn.index,
            messages=messages,
            tier=result.tier,
            cost_usd=total,
            tokens=sum(m.tokens for m in messages),
        ),
        added_cost_usd=total or 0.0,
    )
    loop.memory.add(
        MemoryItem(
            kind="episodic",
            text=f"User: {messages[0].content[:400]}\nAssistant: {result.text[:400]}",
            persona_id=loop.persona.id,
            conversation_id=conversation.id,
            created_at=loop.clock.now().timestamp(),
        )
    )
    if loop.compactor.due(conversation):
        async with aclosing(_compact(turn, loop)) as compacting:
            async for event in compacting:
                yield event

async def _compact(turn: ChatTurn, loop: ConversationLoop) -> AsyncGenerator[LoopEvent, None]:
    """Fold the oldest unsummarised turns into the summary; paid by this turn. A failure leaves
    the history as it is (the next turn tries again), never the answer."""
    conversation, compactor = turn.conversation, loop.compactor
    turns = compactor.to_summarize(conversation)
    system, messages = compactor.prompt(conversation.summary, turns)
    box = CallBox()
    try:
        summarising = loop.engine.summarise(
            id=turn.id,
            index=turn.index,
            tier=compactor.tier,
            system=system,
            messages=messages,
            max_output_tokens=compactor.max_output_tokens,
            temperature=None,
            box=box,
        )
        async with aclosing(summarising) as events:
            async for event in events:
                yield event
    except PersonaLabError as exc:
        logger.warning("compaction of conversation %s failed (%s); the history stays verbatim", turn.id, exc)
        return
    result = box.result
    assert result is not None
    summary = compactor.clean(result.text)
    yield loop.engine.record_compaction(
        turn.tally, result, id=turn.id, index=turn.index, summarized=len(turns), summary=summary
    )
    conversation.commit_summary(
        summary, conversation.summarized_turns + len(turns), added_cost_usd=result.cost.usd or 0.0
    )
