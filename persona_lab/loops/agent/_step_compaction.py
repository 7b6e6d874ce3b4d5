"""Compaction of an agent run's step history, counted in tokens against the model's budget.

When the prompt passes ``threshold`` (80%) of the chosen model's prompt budget, the middle of
the history is summarised on the small tier: the task block stays verbatim, and so do the most
recent steps that fit in ``keep_recent`` of the budget. The cut is made between steps, and a
step holds a tool call together with its result, so a call is never separated from its result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from persona_lab.core import InvalidArgument, Message
from persona_lab.loops._summary_text import bound_summary, cut

__all__ = ["StepCompactor"]

_INSTRUCTIONS = (
    "You keep notes on an agent's progress on a task. Merge the earlier notes with the new "
    "steps into one summary of at most {words} words. Keep facts found, tool results that "
    "matter, the user's answers, decisions and what is still open; drop repetition. Reply "
    "with the summary only."
)


@dataclass(frozen=True, slots=True)
class StepCompactor:
    """Decides when and which steps to summarise; the loop makes the call on ``tier``."""

    threshold: float = 0.8
    keep_recent: float = 0.4
    min_keep_steps: int = 1
    tier: str = "small"
    max_output_tokens: int = 400
    max_summary_chars: int = 2000

    def __post_init__(self) -> None:
        if not 0 < self.keep_recent < self.threshold <= 1:
            raise InvalidArgument(f"need 0 < keep_recent < threshold <= 1, got keep_recent={self.keep_recent}, "
                                  f"threshold={self.threshold}")
        if self.min_keep_steps < 1:
            raise InvalidArgument(f"min_keep_steps must be at least 1 (the latest step stays verbatim), "
                                  f"got {self.min_keep_steps}")

    def due(self, prompt_tokens: int, budget: int) -> bool:
        return prompt_tokens > self.threshold * budget

    def split(self, step_tokens: Sequence[int], start: int, budget: int) -> int:
        """The first step kept verbatim: steps ``start .. result - 1`` are summarised.

        Walks back from the newest step while the kept steps fit in ``keep_recent`` of the
        budget, keeping at least ``min_keep_steps``. Equal to ``start`` when nothing can go.
        """
        room = self.keep_recent * budget
        kept_tokens = 0
        first = len(step_tokens)
        while first > start:
            tokens = step_tokens[first - 1]
            if len(step_tokens) - first >= self.min_keep_steps and kept_tokens + tokens > room:
                break
            kept_tokens += tokens
            first -= 1
        return first

    def prompt(
        self, task: str, previous_summary: str, steps: Sequence[Sequence[Message]], first_index: int
    ) -> tuple[str, tuple[Message, ...]]:
        """System text and messages for the summary call."""
        lines = [f"Task: {cut(task, 800)}", "", f"Earlier notes:\n{previous_summary or '(none yet)'}", ""]
        lines.append("New steps:")
        for offset, messages in enumerate(steps):
            lines.append(f"Step {first_index + offset + 1}:")
            for m in messages:
                lines.extend(_describe(m))
        words = max(50, self.max_summary_chars // 7)
        return _INSTRUCTIONS.format(words=words), (Message.user("\n".join(lines)),)

    def clean(self, text: str) -> str:
        """The summary cut to ``max_summary_chars``, at a sentence end where one is near."""
        return bound_summary(text, self.max_summary_chars)


def _describe(message: Message) -> list[str]:
    lines = []
    if message.role == "assistant":
        if message.content:
            lines.append(f"  Agent: {cut(message.content, 600)}")
        lines.extend(f"  Agent called {c.name}({cut(c.arguments, 300)})" for c in message.tool_calls)
    elif message.role == "tool":
        lines.append(f"  Result of {message.name}: {cut(message.content, 600)}")
    elif message.content:
        lines.append(f"  User: {cut(message.content, 600)}")
    return lines
