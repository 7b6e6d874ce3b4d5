"""The built-in journey tools: record a field, move to a step.

A wrong call (unknown field, wrong type, undeclared transition, missing required fields)
becomes an error result the model reads and can correct; it never ends the turn. The tool
specs are built once per journey step; each turn binds them to that turn's working state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from pydantic import BaseModel, ConfigDict

from persona_lab.core import UsageError
from persona_lab.journeys._state import JourneyState, Transition
from persona_lab.loops import Tool
from persona_lab.persona import Journey, JourneyStep, check_field_value

__all__ = ["GO_TO_STEP", "RECORD_FIELD", "JourneyToolError", "JourneyTools", "JourneyWork"]

RECORD_FIELD = "record_field"
GO_TO_STEP = "go_to_step"


class JourneyToolError(ValueError):
    """A journey tool call the model must correct (its message is what the model reads)."""


class _RecordArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str
    value: Any


class _MoveArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    step: str


def _describe_field(journey: Journey, name: str) -> str:
    spec = journey.field(name)
    assert spec is not None
    kind = f"one of {', '.join(spec.choices)}" if spec.choices else spec.type
    need = "required" if spec.required else "optional"
    about = f": {spec.description}" if spec.description else ""
    return f"{name} ({kind}, {need}){about}"


class JourneyWork:
    """One turn's working journey state; the journey tools of the turn act on it."""

    __slots__ = ("journey", "moves", "recorded", "rejected", "state", "turn_index")

    def __init__(self, journey: Journey, state: JourneyState, turn_index: int):
        self.journey = journey
        self.state = state
        self.turn_index = turn_index
        self.recorded: list[str] = []
        self.moves: list[Transition] = []
        self.rejected = 0

    def _step(self) -> JourneyStep:
        return self.journey.step(self.state.step)

    def _missing(self, step: JourneyStep) -> list[str]:
        return [n for n in step.required if n not in self.state.fields]

    def record_field(self, field: str, value: Any) -> str:
        step = self._step()
        if not self.state.active:
            return self._reject(f"journey {self.journey.name!r} is already completed; nothing more to record")
        names = [f.name for f in step.fields]
        spec = next((f for f in step.fields if f.name == field), None)
        if spec is None:
            collects = ", ".join(names) or "nothing"
            return self._reject(f"step {step.name!r} does not collect {field!r}; it collects: {collects}")
        try:
            clean = check_field_value(spec, value)
        except ValueError as exc:
            return self._reject(str(exc))
        self.state = replace(self.state, fields={**self.state.fields, field: clean}).settled(self.journey)
        self.recorded.append(field)
        missing = self._missing(step)
        if self.state.status == "completed":
            return f"recorded {field} = {clean!r}. The journey is complete."
        if missing:
            return f"recorded {field} = {clean!r}. Still needed in step {step.name!r}: {', '.join(missing)}."
        if step.transitions:
            return (
                f"recorded {field} = {clean!r}. Step {step.name!r} has everything it needs; "
                f"call {GO_TO_STEP} with one of: {', '.join(step.transitions)}."
            )
        return f"recorded {field} = {clean!r}."

    def go_to_step(self, step: str) -> str:
        here = self._step()
        if not self.state.active:
            return self._reject(f"journey {self.journey.name!r} is already completed")
        if step not in here.transitions:
            allowed = ", ".join(here.transitions) or "none (this is the last step)"
            return self._reject(f"cannot move from {here.name!r} to {step!r}; declared transitions: {allowed}")
        missing = self._missing(here)
        if missing:
            return self._reject(f"step {here.name!r} still needs: {', '.join(missing)}; record them first")
        move = Transition(source=here.name, target=step, turn_index=self.turn_index)
        done = here.name if here.name not in self.state.completed_steps else None
        self.state = replace(
            self.state,
            step=step,
            transitions=(*self.state.transitions, move),
            completed_steps=(*self.state.completed_steps, done) if done else self.state.completed_steps,
        )
        self.moves.append(move)
        target = self.journey.step(step)
        collect = "; ".join(_describe_field(self.journey, f.name) for f in target.fields) or "nothing"
        return f"moved to step {step!r}. {target.instructions} Collect: {collect}."

    def _reject(self, message: str) -> str:
        self.rejected += 1
        raise JourneyToolError(message)

    def finish(self) -> JourneyState:
        """End the turn: a turn that ran in a final step with its required fields completes the journey.

        A step reached by a move during the turn has not run yet (its instructions come with the
        next turn), so it completes only through a recorded field or a later turn.
        """
        if not self.moves:
            self.state = self.state.settled(self.journey)
        return self.state

    def labels(self) -> dict[str, str]:
        """The turn log labels of this turn's journey work (the turn is over when they are read)."""
        state = self.finish()
        return {
            "journey": self.journey.name,
            "journey_step": self.moves[0].source if self.moves else state.step,
            "journey_next_step": state.step,
            "journey_status": state.status,
            "journey_fields": ",".join(self.recorded),
            "journey_fields_total": str(len(state.fields)),
            "journey_transitions": ",".join(f"{m.source}>{m.target}" for m in self.moves),
            "journey_rejected_calls": str(self.rejected),
        }


def _tool(name: str, description: str, parameters: dict[str, Any], model: type[BaseModel]) -> Tool:
    return Tool(
        name=name,
        description=description,
        parameters=parameters,
        fn=_unbound,
        arguments_model=model,
        cache_errors=False,
    )


def _unbound(**_: Any) -> str:
    raise UsageError("journey tool used without a turn: call it through the loop that runs the journey")


class JourneyTools:
    """The journey tools' specs for every step of one journey, built once."""

    def __init__(self, journey: Journey):
        self.journey = journey
        self._by_step: dict[str, tuple[Tool, ...]] = {s.name: self._build(s) for s in journey.steps}

    def _build(self, step: JourneyStep) -> tuple[Tool, ...]:
        tools: list[Tool] = []
        later = [f.name for t in step.transitions for f in self.journey.step(t).fields]
        if step.fields or later:  # a step reached during the turn may collect fields too
            fields = "; ".join(_describe_field(self.journey, f.name) for f in step.fields) or "none in this step"
            tools.append(
                _tool(
                    RECORD_FIELD,
                    f"Record a value the user gave for this step. Fields: {fields}.",
                    {
                        "type": "object",
                        "properties": {
                            "field": {"type": "string", "enum": [*(f.name for f in step.fields), *later]},
                            "value": {"description": "the value, in the field's type"},
                        },
                        "required": ["field", "value"],
                        "additionalProperties": False,
                    },
                    _RecordArgs,
                )
            )
        if step.transitions:
            tools.append(
                _tool(
                    GO_TO_STEP,
                    f"Move the journey to the next step once this one is done. Allowed: {', '.join(step.transitions)}.",
                    {
                        "type": "object",
                        "properties": {"step": {"type": "string", "enum": list(step.transitions)}},
                        "required": ["step"],
                        "additionalProperties": False,
                    },
                    _MoveArgs,
                )
            )
        return tuple(tools)

    def bind(self, work: JourneyWork) -> tuple[Tool, ...]:
        """The current step's tools, acting on ``work``."""
        if not work.state.active:
            return ()
        fns: dict[str, Callable[..., Any]] = {RECORD_FIELD: work.record_field, GO_TO_STEP: work.go_to_step}
        return tuple(replace(t, fn=fns[t.name]) for t in self._by_step[work.state.step])
