"""Replay the rest of a conversation's user turns on a branch through another loop."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from persona_lab.branching._fork import Branch, fork
from persona_lab.core import Conversation, PersonaLabError, TurnDone, TurnLog, UsageError, run_sync
from persona_lab.loops import ConversationLoop

__all__ = ["BranchRun", "replay", "replay_sync", "what_if"]


@dataclass(frozen=True, slots=True, kw_only=True)
class BranchRun:
    """A replayed branch: the branch, the turn log of every replayed turn, and their answers.

    A turn that failed (every tier failed) keeps its turn log (with the error) and an empty
    answer; the replay goes on with the next user turn.
    """

    branch: Branch
    turn_logs: tuple[TurnLog, ...]
    answers: tuple[str, ...]

    @property
    def cost_usd(self) -> float:
        return sum(t.total_cost_usd or 0.0 for t in self.turn_logs)


async def replay(
    branch: Branch,
    original: Conversation,
    loop: ConversationLoop,
    *,
    metadata: Mapping[str, Any] | None = None,
    on_turn: Callable[[TurnLog, str], None] | None = None,
) -> BranchRun:
    """Send ``original``'s user turns after the fork point to ``loop`` on ``branch``.

    ``metadata`` reaches the router like any turn's, with ``branch_of`` (the parent's id),
    ``branch_at_turn`` and ``branch_label`` added (string metadata become turn-log labels);
    ``on_turn(turn_log, answer)`` is called after each replayed turn (progress bars, widgets).
    """
    if original.id != branch.origin.parent_id:
        raise UsageError(f"branch {branch.id} was forked from {branch.origin.parent_id}, not from {original.id}")
    if branch.conversation.persona_id != loop.persona.id:
        raise UsageError(
            f"branch {branch.id} belongs to persona {branch.conversation.persona_id!r} but the loop runs "
            f"{loop.persona.id!r}; fork with persona_id={loop.persona.id!r}"
        )
    origin = branch.origin
    labelled = {**(metadata or {}), "branch_of": origin.parent_id, "branch_at_turn": str(origin.at_turn)}
    if origin.label:
        labelled["branch_label"] = origin.label
    logs: list[TurnLog] = []
    answers: list[str] = []
    for turn in original.turns[origin.at_turn :]:
        done: TurnDone | None = None
        try:
            async for event in loop.turn(branch.conversation, turn.user_text, metadata=labelled):
                if isinstance(event, TurnDone):
                    done = event
        except PersonaLabError:
            if done is None:
                raise
        assert done is not None
        logs.append(done.turn_log)
        answers.append(done.answer)
        if on_turn is not None:
            on_turn(done.turn_log, done.answer)
    return BranchRun(branch=branch, turn_logs=tuple(logs), answers=tuple(answers))


def replay_sync(
    branch: Branch, original: Conversation, loop: ConversationLoop, *, metadata: Mapping[str, Any] | None = None
) -> BranchRun:
    """:func:`replay` for scripts and notebooks (works inside Jupyter's running loop)."""
    return run_sync(replay(branch, original, loop, metadata=metadata))


async def what_if(
    original: Conversation,
    *,
    at_turn: int,
    loop: ConversationLoop,
    label: str = "",
    metadata: Mapping[str, Any] | None = None,
) -> BranchRun:
    """Fork ``original`` at ``at_turn`` for ``loop``'s persona and replay the rest through ``loop``."""
    branch = fork(original, at_turn=at_turn, persona_id=loop.persona.id, label=label)
    return await replay(branch, original, loop, metadata=metadata)
