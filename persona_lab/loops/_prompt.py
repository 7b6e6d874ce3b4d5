"""Prompt assembly within a model's real budget.

Over budget, retrieved memories go first (least relevant first), then the oldest verbatim
turns; the persona block and the current message are never dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from persona_lab.core import MESSAGE_OVERHEAD_TOKENS, ConversationTurn, Message, estimate_tokens
from persona_lab.memory import MemoryHit

__all__ = ["FittedPrompt", "PromptParts"]

_MEMORY_HEADER = "\n\nWhat you remember (most relevant first):"
_SUMMARY_HEADER = "\n\nSummary of the conversation so far:\n"


@dataclass(frozen=True, slots=True)
class FittedPrompt:
    system: str
    messages: tuple[Message, ...]
    tokens: int
    dropped_memories: int
    dropped_turns: int


@dataclass(frozen=True, slots=True)
class PromptParts:
    """The pieces of one prompt, each with its token estimate computed once."""

    persona_block: str
    persona_tokens: int
    summary: str
    memories: tuple[MemoryHit, ...]
    history: Sequence[ConversationTurn]
    current: tuple[Message, ...]

    @property
    def total_tokens(self) -> int:
        """Tokens of the whole prompt, nothing dropped."""
        return self.fit(None).tokens

    def fit(self, budget: int | None) -> FittedPrompt:
        fixed = self.persona_tokens + MESSAGE_OVERHEAD_TOKENS + sum(m.tokens for m in self.current)
        if self.summary:
            fixed += estimate_tokens(self.summary) + 8
        memory_lines = [f"\n- {h.item.text}" for h in self.memories]
        memory_tokens = [estimate_tokens(line) for line in memory_lines]
        turn_tokens = [t.tokens for t in self.history]
        keep_memories, keep_from = len(memory_lines), 0
        total = fixed + sum(memory_tokens) + sum(turn_tokens) + (8 if memory_lines else 0)
        if budget is not None:
            while total > budget and keep_memories > 0:
                keep_memories -= 1
                total -= memory_tokens[keep_memories] + (8 if keep_memories == 0 else 0)
            while total > budget and keep_from < len(turn_tokens):
                total -= turn_tokens[keep_from]
                keep_from += 1
        system = self.persona_block
        if keep_memories:
            system += _MEMORY_HEADER + "".join(memory_lines[:keep_memories])
        if self.summary:
            system += _SUMMARY_HEADER + self.summary
        messages = tuple(m for t in self.history[keep_from:] for m in t.messages) + self.current
        return FittedPrompt(system, messages, total, len(memory_lines) - keep_memories, keep_from)
