"""The journey state: a serialisable value the caller owns, like a ``Conversation``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from persona_lab.core import PersonaLabError
from persona_lab.persona import Journey, check_field_value

__all__ = ["FieldValue", "JourneyError", "JourneyState", "JourneyStateMismatch", "Transition"]

FieldValue = str | int | float | bool


class JourneyError(PersonaLabError):
    """A journey used the wrong way (an unknown journey, a state that does not fit)."""

    code = "persona_lab.journey"


class JourneyStateMismatch(JourneyError):
    """A saved journey state no longer fits the journey's definition; the message names the mismatch."""

    code = "persona_lab.journey.state_mismatch"

    def __init__(self, message: str, *, problems: tuple[str, ...] = ()):
        super().__init__(message)
        self.problems = problems


@dataclass(frozen=True, slots=True, kw_only=True)
class Transition:
    """A move from one step to another, made in turn ``turn_index``."""

    source: str
    target: str
    turn_index: int

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "target": self.target, "turn_index": self.turn_index}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Transition:
        return cls(source=str(data["source"]), target=str(data["target"]), turn_index=int(data["turn_index"]))


@dataclass(frozen=True, slots=True, kw_only=True)
class JourneyState:
    """Where a journey stands: its step, the fields collected, the transitions made.

    ``version`` is the journey definition's :attr:`~Journey.version` when the state was made;
    :meth:`check` (and :meth:`JourneyRunner.resume`) compare it with the current definition.
    """

    journey: str
    version: str
    step: str
    fields: Mapping[str, FieldValue] = field(default_factory=dict)
    completed_steps: tuple[str, ...] = ()
    transitions: tuple[Transition, ...] = ()
    status: Literal["active", "completed"] = "active"
    turns: int = 0

    @classmethod
    def start(cls, journey: Journey) -> JourneyState:
        return cls(journey=journey.name, version=journey.version, step=journey.first)

    @property
    def active(self) -> bool:
        return self.status == "active"

    def settled(self, journey: Journey) -> JourneyState:
        """This state, marked completed when it stands on a final step with every required field."""
        step = journey.step(self.step)
        done = step.final and all(name in self.fields for name in step.required)
        if done and self.status != "completed":
            return _replace(self, status="completed", completed_steps=(*self.completed_steps, step.name))
        return self

    def check(self, journey: Journey, *, strict: bool = False) -> JourneyState:
        """This state if it fits ``journey``; :class:`JourneyStateMismatch` naming every misfit otherwise.

        A state fits when its journey name matches, its step and completed steps still exist, and
        every collected field still exists and accepts its value. ``strict`` also rejects any
        change of the definition's shape (steps, fields, types, transitions).
        """
        if self.journey != journey.name:
            raise JourneyStateMismatch(f"this state belongs to journey {self.journey!r}, not {journey.name!r}")
        problems: list[str] = []
        names = set(journey.step_names)
        if self.step not in names:
            problems.append(f"current step {self.step!r} no longer exists (steps: {', '.join(journey.step_names)})")
        for done in self.completed_steps:
            if done not in names:
                problems.append(f"completed step {done!r} no longer exists")
        for key, value in self.fields.items():
            spec = journey.field(key)
            if spec is None:
                problems.append(f"field {key!r} is no longer collected by any step")
                continue
            try:
                check_field_value(spec, value)
            except ValueError as exc:
                problems.append(f"field {key!r} is now of type {spec.type!r}: {exc}")
        if strict and not problems and self.version != journey.version:
            problems.append("the definition's steps, fields or transitions changed")
        if problems:
            raise JourneyStateMismatch(
                f"journey state for {journey.name!r} was saved with definition {self.version}, "
                f"the journey is now {journey.version}: " + "; ".join(problems),
                problems=tuple(problems),
            )
        return self if self.version == journey.version else _replace(self, version=journey.version)

    def to_dict(self) -> dict[str, Any]:
        return {
            "journey": self.journey,
            "version": self.version,
            "step": self.step,
            "fields": dict(self.fields),
            "completed_steps": list(self.completed_steps),
            "transitions": [t.to_dict() for t in self.transitions],
            "status": self.status,
            "turns": self.turns,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JourneyState:
        try:
            status = data.get("status", "active")
            if status not in ("active", "completed"):
                raise ValueError(f"status must be 'active' or 'completed', got {status!r}")
            return cls(
                journey=str(data["journey"]),
                version=str(data["version"]),
                step=str(data["step"]),
                fields=dict(data.get("fields") or {}),
                completed_steps=tuple(str(s) for s in data.get("completed_steps") or ()),
                transitions=tuple(Transition.from_dict(t) for t in data.get("transitions") or ()),
                status=status,
                turns=int(data.get("turns") or 0),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise JourneyStateMismatch(f"not a journey state: {type(exc).__name__}: {exc}") from exc


def _replace(state: JourneyState, **changes: Any) -> JourneyState:
    from dataclasses import replace

    return replace(state, **changes)
