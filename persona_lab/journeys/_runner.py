"""Run journeys on the ordinary conversation loop.

Each turn of an active journey is an ordinary loop turn with :class:`TurnExtras`: the step's
instructions, the journey tools plus the step's allowed tools, the step's tier preference,
and labels (journey, step, fields collected, transitions, intent) in the turn log. The runner
keeps no state: the caller passes the :class:`JourneyState` in and gets the new one back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from persona_lab.core import Conversation, LoopEvent, TurnDone, TurnLog, run_sync
from persona_lab.journeys._intent import IntentDecision, IntentRouter
from persona_lab.journeys._state import JourneyError, JourneyState
from persona_lab.journeys._tools import GO_TO_STEP, RECORD_FIELD, JourneyTools, JourneyWork
from persona_lab.loops import ConversationLoop, TurnExtras
from persona_lab.persona import Journey

__all__ = ["JourneyBox", "JourneyRunner", "JourneyTurn", "step_instructions"]


def step_instructions(journey: Journey, state: JourneyState) -> str:
    """The system-prompt block of the state's current step."""
    step = journey.step(state.step)
    position = journey.step_names.index(step.name) + 1
    lines = [
        f'You are guiding the user through "{journey.name}": {journey.description}',
        f"Current step {position} of {len(journey.steps)}: {step.name}. {step.instructions}",
    ]
    wanted = [f for f in step.fields if f.name not in state.fields]
    if wanted:
        lines.append(
            "Ask for: "
            + "; ".join(
                f"{f.name} ({'one of ' + ', '.join(f.choices) if f.choices else f.type}"
                f"{'' if f.required else ', optional'}){': ' + f.description if f.description else ''}"
                for f in wanted
            )
            + f". Record each value with {RECORD_FIELD} as soon as the user gives it."
        )
    if state.fields:
        lines.append("Collected so far: " + ", ".join(f"{k}={v!r}" for k, v in state.fields.items()) + ".")
    if step.transitions:
        lines.append(f"When this step is done, call {GO_TO_STEP} with one of: {', '.join(step.transitions)}.")
    return "\n".join(lines)


@dataclass(slots=True)
class JourneyBox:
    """Receives the outcome of :meth:`JourneyRunner.turn` (async generators cannot return)."""

    state: JourneyState | None = None
    intent: IntentDecision | None = None
    turn_log: TurnLog | None = None
    answer: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class JourneyTurn:
    """One journey turn: the answer, its turn log, the new state and the intent decision (if any)."""

    answer: str
    turn_log: TurnLog
    state: JourneyState | None
    intent: IntentDecision | None = None
    events: tuple[LoopEvent, ...] = field(default=(), repr=False)


class JourneyRunner:
    """Runs a persona's journeys on ``loop``.

    Parameters
    ----------
    loop:
        The conversation loop; every turn is still routed, answered and logged by it.
    journeys:
        Default: the loop persona's ``journeys``.
    intents:
        Picks a journey when none is active; ``None`` means journeys start only with :meth:`start`.
    """

    def __init__(
        self,
        loop: ConversationLoop,
        *,
        journeys: Sequence[Journey] | None = None,
        intents: IntentRouter | None = None,
    ):
        self.loop = loop
        found = tuple(journeys) if journeys is not None else tuple(loop.persona.journeys)
        self.journeys: dict[str, Journey] = {j.name: j for j in found}
        self.intents = intents
        self._tools = {name: JourneyTools(j) for name, j in self.journeys.items()}

    def __repr__(self) -> str:
        return f"JourneyRunner(journeys={list(self.journeys)}, intents={self.intents!r})"

    def journey(self, name: str) -> Journey:
        try:
            return self.journeys[name]
        except KeyError:
            known = ", ".join(self.journeys) or "none"
            raise JourneyError(f"unknown journey {name!r}; journeys: {known}") from None

    def start(self, name: str) -> JourneyState:
        """A fresh state at the journey's first step."""
        return JourneyState.start(self.journey(name))

    def resume(self, data: JourneyState | Mapping[str, Any], *, strict: bool = False) -> JourneyState:
        """A saved state (``state.to_dict()``) checked against the current definition."""
        state = data if isinstance(data, JourneyState) else JourneyState.from_dict(data)
        return state.check(self.journey(state.journey), strict=strict)

    async def turn(
        self,
        conversation: Conversation,
        state: JourneyState | None,
        text: str,
        *,
        box: JourneyBox,
        metadata: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[LoopEvent]:
        """Run one turn, streaming the loop's events; ``box`` receives the new state and the decision.

        With no active journey and an intent router, the router first decides whether ``text``
        starts one. On a failed turn (the loop raises) the state is unchanged.
        """
        intent: IntentDecision | None = None
        if (state is None or not state.active) and self.intents is not None:
            intent = await self.intents.choose(text)
            if intent.journey is not None:
                state = self.start(intent.journey)
        box.intent, box.state = intent, state
        extras: TurnExtras | None = None
        work: JourneyWork | None = None
        intent_labels = intent.labels() if intent is not None else {}
        if state is not None and state.active:
            journey = self.journey(state.journey)
            step = journey.step(state.step)
            work = JourneyWork(journey, state, conversation.turn_count)
            bound = work

            def labels() -> dict[str, str]:
                return {**intent_labels, **bound.labels()}

            extras = TurnExtras(
                instructions=step_instructions(journey, state),
                tools=self._tools[journey.name].bind(work),
                allowed_tools=step.tools,
                tier_preference=step.tier,
                tier_reason=f"journey {journey.name} step {step.name} prefers {step.tier}",
                labels=labels,
            )
        elif intent_labels:
            extras = TurnExtras(labels=lambda: intent_labels)
        async for event in self.loop.turn(conversation, text, metadata=metadata, extras=extras):
            if isinstance(event, TurnDone):
                box.turn_log, box.answer = event.turn_log, event.answer
                if work is not None:
                    box.state = replace(work.finish(), turns=work.state.turns + 1) if event.turn_log.ok else state
            yield event

    async def achat(
        self,
        conversation: Conversation,
        state: JourneyState | None,
        text: str,
        *,
        metadata: Mapping[str, Any] | None = None,
    ) -> JourneyTurn:
        """Run a turn and collect it."""
        box = JourneyBox()
        events = [e async for e in self.turn(conversation, state, text, box=box, metadata=metadata)]
        assert box.turn_log is not None
        return JourneyTurn(
            answer=box.answer, turn_log=box.turn_log, state=box.state, intent=box.intent, events=tuple(events)
        )

    def chat(
        self,
        conversation: Conversation,
        state: JourneyState | None,
        text: str,
        *,
        metadata: Mapping[str, Any] | None = None,
    ) -> JourneyTurn:
        """Sync :meth:`achat` for scripts and notebooks."""
        return run_sync(self.achat(conversation, state, text, metadata=metadata))
