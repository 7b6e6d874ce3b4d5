"""Journey definitions: guided multi-step conversations declared in a persona's YAML or in Python.

A journey has steps; each step has instructions for the model, the tools it may use, the typed
fields it collects, the steps it may move to, and optionally a preferred tier. A step with no
transitions is final: the journey completes there once the step's required fields are in.
Definitions validate like the rest of the persona; a bad one names the field
(``journeys.0.steps.1.transitions: unknown step 'photo'; steps: intake, details, done``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from persona_lab.core import UnknownName

__all__ = ["FIELD_TYPES", "Journey", "JourneyField", "JourneyStep", "check_field_value"]

FIELD_TYPES: tuple[str, ...] = ("string", "integer", "number", "boolean", "date", "email", "choice")
"""The types a journey field may have."""

_NAME = r"^[a-z][a-z0-9_]*$"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class JourneyField(_Frozen):
    """A typed value a step collects. ``choice`` fields list their ``choices``."""

    name: str = Field(pattern=_NAME)
    type: str = "string"
    description: str = ""
    required: bool = True
    choices: tuple[str, ...] = ()

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in FIELD_TYPES:
            raise ValueError(f"unknown field type {value!r}; expected one of: {', '.join(FIELD_TYPES)}")
        return value

    @model_validator(mode="after")
    def _choices_match_type(self) -> JourneyField:
        if self.type == "choice" and not self.choices:
            raise ValueError(f"field {self.name!r} has type 'choice' but no choices")
        if self.choices and self.type != "choice":
            raise ValueError(f"field {self.name!r} lists choices but its type is {self.type!r}, not 'choice'")
        return self


def check_field_value(spec: JourneyField, value: Any) -> str | int | float | bool:
    """``value`` converted to ``spec``'s type, or ``ValueError`` saying what was expected."""
    kind = spec.type
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "yes", "false", "no"):
            return value.strip().lower() in ("true", "yes")
        raise ValueError(f"{spec.name} must be a boolean (true or false), got {value!r}")
    if kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ValueError(f"{spec.name} must be an integer, got {value!r}")
    if kind == "number":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        try:
            return float(str(value).strip())
        except ValueError:
            raise ValueError(f"{spec.name} must be a number, got {value!r}") from None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{spec.name} must be a non-empty {kind}, got {value!r}")
    text = value.strip()
    if kind == "date":
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise ValueError(f"{spec.name} must be a date as YYYY-MM-DD, got {value!r}") from None
    if kind == "email" and not _EMAIL.match(text):
        raise ValueError(f"{spec.name} must be an email address, got {value!r}")
    if kind == "choice":
        match = next((c for c in spec.choices if c.lower() == text.lower()), None)
        if match is None:
            raise ValueError(f"{spec.name} must be one of: {', '.join(spec.choices)}; got {value!r}")
        return match
    return text


class JourneyStep(_Frozen):
    """One step: what the model is told, which tools it may use, what it collects, where it may go."""

    name: str = Field(pattern=_NAME)
    instructions: str = Field(min_length=1)
    tools: tuple[str, ...] = ()
    fields: tuple[JourneyField, ...] = ()
    transitions: tuple[str, ...] = ()
    tier: Literal["small", "mid", "frontier"] | None = None

    @property
    def final(self) -> bool:
        return not self.transitions

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)


class Journey(_Frozen):
    """A guided multi-step conversation.

    ``intents`` are words or phrases that pick this journey from a user's message (the
    rule-based :class:`~persona_lab.journeys.IntentRouter`); ``description`` tells an intent
    model what the journey is for. ``start`` defaults to the first step.
    """

    name: str = Field(pattern=_NAME)
    description: str = Field(min_length=1)
    steps: tuple[JourneyStep, ...] = Field(min_length=1)
    start: str | None = None
    intents: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Journey:
        names = [s.name for s in self.steps]
        known = ", ".join(names)
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name in seen:
                raise ValueError(f"steps.{i}.name: step {name!r} is declared twice")
            seen.add(name)
        if self.start is not None and self.start not in seen:
            raise ValueError(f"start: unknown step {self.start!r}; steps: {known}")
        fields: dict[str, str] = {}
        for i, step in enumerate(self.steps):
            for target in step.transitions:
                if target not in seen:
                    raise ValueError(f"steps.{i}.transitions: unknown step {target!r}; steps: {known}")
            for j, f in enumerate(step.fields):
                if f.name in fields:
                    raise ValueError(
                        f"steps.{i}.fields.{j}.name: field {f.name!r} is already collected in step {fields[f.name]!r}"
                    )
                fields[f.name] = step.name
        return self

    @property
    def first(self) -> str:
        return self.start or self.steps[0].name

    def step(self, name: str) -> JourneyStep:
        for s in self.steps:
            if s.name == name:
                return s
        raise UnknownName("step", name, self.step_names, hint=f" (journey {self.name!r})")

    @property
    def step_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.steps)

    def field(self, name: str) -> JourneyField | None:
        for s in self.steps:
            for f in s.fields:
                if f.name == name:
                    return f
        return None

    def shape(self) -> dict[str, Any]:
        """What a saved state depends on: steps, their field names and types, their transitions."""
        return {
            s.name: {
                "fields": {f.name: f.type + (f"[{'|'.join(f.choices)}]" if f.choices else "") for f in s.fields},
                "transitions": list(s.transitions),
            }
            for s in self.steps
        }

    @property
    def version(self) -> str:
        """A short hash of :meth:`shape`: changes when a saved state may no longer fit."""
        text = json.dumps(self.shape(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Journey:
        return cls.model_validate(data)
