"""A notebook-friendly journey session: one conversation and its journey state in one object.

It behaves like the loop for widgets (``persona``, ``router``, ``tiers``, ``new_conversation``,
``turn(conversation, text)``; everything else is the loop's), so ``ChatWidget(session)`` runs
journeys. Scripts that persist state keep using :class:`JourneyRunner` directly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from persona_lab.core import Conversation, LoopEvent, TurnLog
from persona_lab.journeys._intent import IntentDecision
from persona_lab.journeys._runner import JourneyBox, JourneyRunner
from persona_lab.journeys._state import JourneyState

__all__ = ["JourneySession"]


class JourneySession:
    """``runner`` plus the caller's current journey state; listeners hear about every finished turn."""

    def __init__(self, runner: JourneyRunner, state: JourneyState | None = None):
        self.runner = runner
        self.state = state
        self.last_intent: IntentDecision | None = None
        self.turn_logs: list[TurnLog] = []
        self._listeners: list[Callable[[JourneySession], None]] = []

    def __repr__(self) -> str:
        where = f"{self.state.journey}:{self.state.step} ({self.state.status})" if self.state else "no journey"
        return f"JourneySession({where}, turns={len(self.turn_logs)})"

    def __getattr__(self, name: str) -> Any:  # persona, router, tiers, … come from the loop
        return getattr(self.runner.loop, name)

    def on_change(self, listener: Callable[[JourneySession], None]) -> None:
        """Call ``listener(session)`` after every finished turn (a widget's progress line)."""
        self._listeners.append(listener)

    def new_conversation(self, id: str | None = None) -> Conversation:
        return self.runner.loop.new_conversation(id)

    async def turn(
        self, conversation: Conversation, text: str, *, metadata: Mapping[str, Any] | None = None
    ) -> AsyncIterator[LoopEvent]:
        box = JourneyBox()
        try:
            async for event in self.runner.turn(conversation, self.state, text, box=box, metadata=metadata):
                yield event
        finally:
            if box.turn_log is not None:
                self.turn_logs.append(box.turn_log)
                if box.turn_log.ok:
                    self.state = box.state
                self.last_intent = box.intent
                for listener in self._listeners:
                    listener(self)
