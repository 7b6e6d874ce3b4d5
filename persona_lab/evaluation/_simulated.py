"""A simulated user: a model on a chosen tier plays the user, pursuing a goal in a style.

It writes the next user message from the conversation so far and stops (``None``) when it
writes ``[[DONE]]`` or the scenario's turn cap is reached. Every call's cost and model are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from persona_lab.core import Message
from persona_lab.evaluation._scenario import SimulatedUser
from persona_lab.evaluation._tier_call import TierReply, call_tier
from persona_lab.tiers import TierRegistry

__all__ = ["UserSimulator"]

_DONE = "[[DONE]]"


def _system(spec: SimulatedUser) -> str:
    return (
        "You are role-playing a person talking to an assistant. Write only that person's next message: "
        "one short message, no quotes, no labels, never the assistant's part.\n"
        f"Your goal: {spec.goal.strip()}\nYour style: {spec.style.strip()}\n"
        f"When your goal is met or the conversation is over, reply with exactly {_DONE}."
    )


@dataclass(slots=True)
class UserSimulator:
    """Plays one simulated user through one conversation (a fresh one per scenario × variant)."""

    tiers: TierRegistry
    spec: SimulatedUser
    max_output_tokens: int = 96
    replies: list[TierReply] = field(default_factory=list)

    @property
    def cost_usd(self) -> float:
        return sum(r.cost_usd or 0.0 for r in self.replies)

    @property
    def answered_by(self) -> str:
        return ", ".join(dict.fromkeys(r.answered_by for r in self.replies))

    async def next_message(self, transcript: list[tuple[str, str]]) -> str | None:
        """The user's next message after ``transcript`` (``(user, answer)`` pairs), or None to stop.

        A first message the model leaves empty (or ends at once) falls back to the goal text.
        """
        if len(transcript) >= self.spec.max_turns:
            return None
        if not transcript and self.spec.opening:
            return self.spec.opening
        # the simulator sees the conversation from the user's side: its own lines are "assistant"
        messages: list[Message] = [Message.user("(The conversation starts. Write your first message.)")]
        for user, answer in transcript:
            messages.append(Message.assistant(user))
            messages.append(Message.user(answer or "(no answer)"))
        reply = await call_tier(self.tiers, self.spec.tier, system=_system(self.spec), messages=messages,
                                max_output_tokens=self.max_output_tokens, temperature=0.7)
        self.replies.append(reply)
        text = reply.text.strip()
        if not transcript and (not text or _DONE in text):
            return self.spec.goal.strip()  # a conversation needs a first message: the goal itself
        if not text or _DONE in text:
            return None
        return text
