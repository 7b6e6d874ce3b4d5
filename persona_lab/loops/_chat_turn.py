"""One chat turn while it runs, and its write-back: commit, memory, and compaction when due."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from persona_lab.core import Conversation, ConversationTurn, LoopEvent, Message, PersonaLabError, RoutingContext
from persona_lab.loops._engine import TurnTally
from persona_lab.loops._model_call import CallBox
from persona_lab.loops._prompt import FittedPrompt, PromptParts
from persona_lab.loops._tools import Toolbox
from persona_lab.memory import MemoryItem

if TYPE_CHECKING:
    from persona_lab.loops._conversation import ConversationLoop

__all__ = ["ChatTurn", "write_back"]

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


async def write_back(turn: ChatTurn, *, loop: ConversationLoop) -> AsyncIterator[LoopEvent]:
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
        async for event in _compact(turn, loop):
            yield event

async def _compact(turn: ChatTurn, loop: ConversationLoop) -> AsyncIterator[LoopEvent]:
    """Fold the oldest unsummarised turns into the summary; paid by this turn. A failure leaves
    the history as it is (the next turn tries again), never the answer."""
    conversation, compactor = turn.conversation, loop.compactor
    turns = compactor.to_summarize(conversation)
    system, messages = compactor.prompt(conversation.summary, turns)
    box = CallBox()
    try:
        async for event in loop.engine.summarise(
            id=turn.id,
            index=turn.index,
            tier=compactor.tier,
            system=system,
            messages=messages,
            max_output_tokens=compactor.max_output_tokens,
            temperature=None,
            box=box,
        ):
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
