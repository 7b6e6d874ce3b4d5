"""Rolling history compaction, counted in turns.

When more than ``compact_after`` turns are unsummarised, the oldest of them (all but the last
``keep_recent``) are folded into the rolling summary, which is itself re-summarised and capped
at ``max_summary_chars`` so it never grows without bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from persona_lab.core import Conversation, ConversationTurn, InvalidArgument, Message
from persona_lab.loops._summary_text import bound_summary, cut

__all__ = ["HistoryCompactor"]

_INSTRUCTIONS = (
    "You maintain a running summary of a conversation between a user and an assistant. "
    "Merge the earlier summary with the new turns into one summary of at most {words} words. "
    "Keep names, facts, decisions, open questions and commitments; drop pleasantries. "
    "Reply with the summary only."
)


@dataclass(frozen=True, slots=True)
class HistoryCompactor:
    """Decides when and what to summarise; the loop makes the call on the small tier."""

    compact_after: int = 10
    keep_recent: int = 5
    max_summary_chars: int = 2000
    tier: str = "small"
    max_output_tokens: int = 400
    enabled: bool = True

    @classmethod
    def off(cls) -> HistoryCompactor:
        """A compactor that never summarises: the whole history is sent, within the model's budget."""
        return cls(enabled=False)

    def __post_init__(self) -> None:
        if not 0 < self.keep_recent < self.compact_after:
            raise InvalidArgument(f"HistoryCompactor: need 0 < keep_recent < compact_after, got keep_recent="
                                  f"{self.keep_recent}, compact_after={self.compact_after}")

    def due(self, conversation: Conversation) -> bool:
        return self.enabled and conversation.turn_count - conversation.summarized_turns > self.compact_after

    def to_summarize(self, conversation: Conversation) -> Sequence[ConversationTurn]:
        return conversation.turns[conversation.summarized_turns : conversation.turn_count - self.keep_recent]

    def prompt(self, previous_summary: str, turns: Sequence[ConversationTurn]) -> tuple[str, tuple[Message, ...]]:
        """System text and messages for the summary call."""
        lines = [f"Earlier summary:\n{previous_summary or '(none yet)'}", "", "New turns:"]
        for t in turns:
            lines.append(f"User: {cut(t.user_text, 600)}")
            lines.append(f"Assistant: {cut(t.answer, 600)}")
        words = max(50, self.max_summary_chars // 7)
        return _INSTRUCTIONS.format(words=words), (Message.user("\n".join(lines)),)

    def clean(self, text: str) -> str:
        """The summary cut to ``max_summary_chars``, at a sentence end where one is near."""
        return bound_summary(text, self.max_summary_chars)
