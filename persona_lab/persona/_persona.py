"""The persona: identity plus constraints, knowledge, skills, tools, routing and autonomy.

Loaded from YAML and validated; a malformed file raises :class:`PersonaError` naming the file
and the field or line (``tenancy.yaml:3: identity.name: Field required``). Numbers and
booleans are strict (``max_steps: "10"`` and ``max_steps: true`` are refused), limits finite.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, ValidationError, field_validator

from persona_lab.core import PersonaError, RoutingPreferences, UnknownName
from persona_lab.persona._journey import Journey
from persona_lab.persona._yaml import MAX_BYTES, decode_persona_bytes, line_of, load_persona_yaml

__all__ = [
    "Autonomy",
    "Identity",
    "Persona",
    "SeedMemory",
    "Skill",
    "WorldviewClaim",
]

class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Identity(_Frozen):
    name: str = Field(min_length=1)
    role: str = Field(min_length=1)
    background: str = ""
    language: str = "en"
    constraints: tuple[str, ...] = ()


class WorldviewClaim(_Frozen):
    claim: str = Field(min_length=1)
    domain: str = "general"
    confidence: StrictFloat = Field(default=0.8, ge=0.0, le=1.0, allow_inf_nan=False)


class SeedMemory(_Frozen):
    """An episodic memory the persona starts with."""

    text: str = Field(min_length=1)
    when: str | None = None


class Skill(_Frozen):
    name: str = Field(min_length=1)
    description: str
    instructions: str = ""


class Autonomy(_Frozen):
    """What an agent run may do on its own."""

    max_questions: StrictInt = Field(default=2, ge=0, le=1_000)
    max_steps: StrictInt = Field(default=12, ge=1, le=10_000)


class Persona(_Frozen):
    """A validated persona definition."""

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    identity: Identity
    self_facts: tuple[str, ...] = ()
    worldview: tuple[WorldviewClaim, ...] = ()
    memories: tuple[SeedMemory, ...] = ()
    tools: tuple[str, ...] = ()
    skills: tuple[Skill, ...] = ()
    routing: RoutingPreferences = Field(default_factory=RoutingPreferences)
    autonomy: Autonomy = Field(default_factory=Autonomy)
    journeys: tuple[Journey, ...] = ()

    @field_validator("journeys")
    @classmethod
    def _unique_journeys(cls, value: tuple[Journey, ...]) -> tuple[Journey, ...]:
        names = [j.name for j in value]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"journey {name!r} is declared twice")
        return value

    def journey(self, name: str) -> Journey:
        """The journey called ``name``; :class:`UnknownName` (a ``KeyError``) naming the known ones otherwise."""
        for j in self.journeys:
            if j.name == name:
                return j
        raise UnknownName("journey", name, [j.name for j in self.journeys], hint=f" (persona {self.id!r})")

    @classmethod
    def from_yaml(cls, path: str | Path) -> Persona:
        """Load and validate a persona file (UTF-8 YAML, at most 1 MiB)."""
        path = Path(path)
        source = str(path)
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_BYTES + 1)
        except OSError as exc:
            raise PersonaError(f"{path}: cannot read persona file: {exc}", source=source) from exc
        return cls.from_yaml_text(decode_persona_bytes(data, source=source), source=source)

    @classmethod
    def from_yaml_text(cls, text: str, *, source: str = "<string>") -> Persona:
        data, node = load_persona_yaml(text, source=source)
        if not isinstance(data, dict):
            raise PersonaError(
                f"{source}: a persona file must be a mapping, got {type(data).__name__}", source=source, line=1
            )
        return cls._validate(data, source=source, node=node)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<dict>") -> Persona:
        return cls._validate(data, source=source, node=None)

    @classmethod
    def _validate(cls, data: Mapping[str, Any], *, source: str, node: Any) -> Persona:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "<root>"
            msg = first["msg"]
            nested = re.match(r"Value error, ([\w.]+): (.*)", msg, re.DOTALL)  # a validator naming a sub-field
            msg = msg.removeprefix("Value error, ")
            if nested:
                field, msg = f"{field}.{nested.group(1)}", nested.group(2)
            others = len(exc.errors()) - 1
            more = f" (and {others} more problem{'s' if others > 1 else ''})" if others else ""
            line = line_of(node, first["loc"]) if node is not None else None
            where = f"{source}:{line}" if line is not None else source
            raise PersonaError(
                f"{where}: {field}: {msg}{more}", source=source, field=field, line=line
            ) from None

    def system_prompt(self) -> str:
        """The persona block that opens every prompt; never dropped for budget."""
        ident = self.identity
        parts = [f"You are {ident.name}, {ident.role}."]
        if ident.background:
            parts.append(ident.background.strip())
        if ident.language and ident.language != "en":
            parts.append(f"Answer in the language with code {ident.language!r} unless asked otherwise.")
        if ident.constraints:
            parts.append("Always follow these rules:\n" + "\n".join(f"- {c}" for c in ident.constraints))
        if self.self_facts:
            parts.append("About you:\n" + "\n".join(f"- {f}" for f in self.self_facts))
        if self.skills:
            parts.append(
                "Your skills:\n"
                + "\n".join(
                    f"- {s.name}: {s.description}" + (f" ({s.instructions.strip()})" if s.instructions else "")
                    for s in self.skills
                )
            )
        return "\n\n".join(parts)
