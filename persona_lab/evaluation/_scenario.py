"""Scenario suites: conversations to run against a persona, and what to expect of the answers.

A suite is a versioned YAML file (``docs/evaluation.md``)::

    format: persona-lab/scenarios
    version: 1
    suite: tenancy-basics
    scenarios:
      - id: mould
        turns:
          - user: There is black mould in my bedroom. Who has to fix it?
            expect: {mentions: [landlord], constraints: [no_legal_certainty]}

:func:`load_scenarios` validates it; every error names the file, the line and the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from persona_lab.core import TIER_NAMES
from persona_lab.evaluation._errors import ScenarioError
from persona_lab.evaluation._yaml_lines import line_of, load_with_lines

__all__ = [
    "SCENARIO_FORMAT",
    "SCENARIO_FORMAT_VERSION",
    "Expectations",
    "JudgeSpec",
    "Scenario",
    "ScenarioSuite",
    "SimulatedUser",
    "UserTurn",
    "load_scenarios",
]

SCENARIO_FORMAT: Literal["persona-lab/scenarios"] = "persona-lab/scenarios"
SCENARIO_FORMAT_VERSION = 1
"""The version this code reads and writes (the file's ``version`` key)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _tier(value: str) -> str:
    if value not in TIER_NAMES:
        raise ValueError(f"unknown tier {value!r}; expected one of: {', '.join(TIER_NAMES)}")
    return value


class JudgeSpec(_Frozen):
    """An LLM judge: a rubric graded on a 1–10 scale or pass/fail by a model on ``tier``."""

    rubric: str = Field(min_length=1)
    scale: Literal["1-10", "pass/fail"] = "1-10"
    tier: str = "mid"
    pass_at: float = Field(default=7.0, ge=1.0, le=10.0)
    """On the 1–10 scale, the lowest rating that passes."""

    @field_validator("tier")
    @classmethod
    def _known_tier(cls, value: str) -> str:
        return _tier(value)


class Expectations(_Frozen):
    """What to check; each key present becomes one grader (see ``docs/evaluation.md``)."""

    mentions: tuple[str, ...] = ()
    not_mentions: tuple[str, ...] = ()
    regex: str | None = None
    not_regex: str | None = None
    min_chars: int | None = Field(default=None, ge=0)
    max_chars: int | None = Field(default=None, ge=1)
    tools_called: tuple[str, ...] = ()
    tools_not_called: tuple[str, ...] = ()
    constraints: tuple[str, ...] = ()
    judge: JudgeSpec | None = None

    @field_validator("regex", "not_regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            import re

            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value

    @field_validator("constraints")
    @classmethod
    def _known_constraints(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from persona_lab.evaluation._rules import CONSTRAINT_CHECKS

        for name in value:
            if name not in CONSTRAINT_CHECKS:
                raise ValueError(f"unknown constraint check {name!r}; known: {', '.join(sorted(CONSTRAINT_CHECKS))}")
        return value

    @model_validator(mode="after")
    def _length_order(self) -> Expectations:
        if self.min_chars is not None and self.max_chars is not None and self.min_chars > self.max_chars:
            raise ValueError(f"min_chars ({self.min_chars}) is larger than max_chars ({self.max_chars})")
        return self

    @property
    def empty(self) -> bool:
        return self == Expectations()

    @property
    def tools(self) -> tuple[str, ...]:
        return (*self.tools_called, *self.tools_not_called)


class UserTurn(_Frozen):
    """One fixed user message and what to expect of the answer to it."""

    user: str = Field(min_length=1)
    expect: Expectations = Field(default_factory=Expectations)


class SimulatedUser(_Frozen):
    """A user played by a model on ``tier``: it pursues ``goal`` in ``style`` for at most ``max_turns``."""

    goal: str = Field(min_length=1)
    style: str = "plain and brief"
    tier: str = "small"
    max_turns: int = Field(default=3, ge=1, le=50)
    opening: str | None = None
    """The first message as written; later ones come from the model (all of them when unset)."""

    @field_validator("tier")
    @classmethod
    def _known_tier(cls, value: str) -> str:
        return _tier(value)


class Scenario(_Frozen):
    """One conversation (``kind: chat``) or agent task (``kind: task``) to run against each persona variant."""

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")
    description: str = ""
    kind: Literal["chat", "task"] = "chat"
    personas: tuple[str, ...] | None = None
    """Persona ids (or variant labels) this scenario is for; unset = every persona."""
    turns: tuple[UserTurn, ...] = ()
    simulated_user: SimulatedUser | None = None
    each_turn: Expectations = Field(default_factory=Expectations)
    """Expectations applied to every turn (simulated users' turns in particular)."""
    task: str | None = None
    user_answers: tuple[str, ...] = ()
    """Task scenarios: answers to the agent's questions, in order (afterwards it proceeds alone)."""
    tools: tuple[str, ...] = ()
    """Tools the scenario needs (also every tool named in its expectations)."""
    expect: Expectations = Field(default_factory=Expectations)
    """Per-conversation expectations (graded once, on the whole conversation)."""

    @model_validator(mode="after")
    def _one_source_of_user_turns(self) -> Scenario:
        if self.kind == "task":
            if not self.task:
                raise ValueError("a task scenario needs 'task' (the agent's task text)")
            if self.turns or self.simulated_user:
                raise ValueError("a task scenario takes 'task', not 'turns' or 'simulated_user'")
            if not self.each_turn.empty:
                raise ValueError("a task scenario is graded as a whole: put its expectations under 'expect'")
        else:
            if self.task is not None:
                raise ValueError("'task' belongs to kind: task scenarios; this one is kind: chat")
            if bool(self.turns) == (self.simulated_user is not None):
                raise ValueError("a chat scenario needs exactly one of 'turns' (fixed) or 'simulated_user'")
        return self

    @property
    def expectations(self) -> tuple[Expectations, ...]:
        return (self.each_turn, self.expect, *(t.expect for t in self.turns))

    @property
    def tools_needed(self) -> tuple[str, ...]:
        """Every tool the scenario names, in first-mention order."""
        names = [*self.tools, *(n for e in self.expectations for n in e.tools)]
        return tuple(dict.fromkeys(names))

    @property
    def judge_tiers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(e.judge.tier for e in self.expectations if e.judge is not None))


class ScenarioSuite(_Frozen):
    """A versioned set of scenarios (one YAML file)."""

    format: Literal["persona-lab/scenarios"] = SCENARIO_FORMAT
    version: int
    suite: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    personas: tuple[str, ...] | None = None
    """Persona ids (or variant labels) every scenario is for, unless it names its own."""
    scenarios: tuple[Scenario, ...] = Field(min_length=1)
    source: str | None = Field(default=None, exclude=True)
    _lines: dict[tuple[str | int, ...], int] = PrivateAttr(default_factory=dict)

    @field_validator("version")
    @classmethod
    def _supported(cls, value: int) -> int:
        if value != SCENARIO_FORMAT_VERSION:
            raise ValueError(f"unsupported version {value}; this persona-lab reads version {SCENARIO_FORMAT_VERSION}")
        return value

    @model_validator(mode="after")
    def _unique_ids(self) -> ScenarioSuite:
        seen: set[str] = set()
        for scenario in self.scenarios:
            if scenario.id in seen:
                raise ValueError(f"duplicate scenario id {scenario.id!r}")
            seen.add(scenario.id)
        return self

    def personas_for(self, scenario: Scenario) -> tuple[str, ...] | None:
        """The personas ``scenario`` runs on: its own list, else the suite's, else None (every persona)."""
        return scenario.personas if scenario.personas is not None else self.personas

    def where(self, *path: str | int) -> str:
        """``file:line`` of a path in the suite file (``where("scenarios", 2, "personas")``)."""
        line = line_of(self._lines, path) if self._lines else None
        source = self.source or f"suite {self.suite}"
        return f"{source}:{line}" if line else source

    def __len__(self) -> int:
        return len(self.scenarios)

    def select(self, ids: Iterable[str]) -> ScenarioSuite:
        """A suite with only the scenarios ``ids`` (in this suite's order); unknown ids are an error."""
        wanted = set(ids)
        unknown = wanted - {s.id for s in self.scenarios}
        if unknown:
            raise ScenarioError(f"suite {self.suite!r} has no scenario {sorted(unknown)[0]!r}; "
                                f"it has: {', '.join(s.id for s in self.scenarios)}", source=self.source)
        return self.model_copy(update={"scenarios": tuple(s for s in self.scenarios if s.id in wanted)})

    @classmethod
    def from_yaml(cls, path: str | Path) -> ScenarioSuite:
        """Load and validate a suite file."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScenarioError(f"{path}: cannot read scenario file: {exc}", source=str(path)) from exc
        return cls.from_yaml_text(text, source=str(path))

    @classmethod
    def from_yaml_text(cls, text: str, *, source: str = "<string>") -> ScenarioSuite:
        try:
            data, lines = load_with_lines(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark else None
            where = f"{source}:{line}" if line else source
            raise ScenarioError(f"{where}: not valid YAML: {exc}", source=source, line=line) from exc
        if not isinstance(data, dict):
            raise ScenarioError(f"{source}: a scenario file must be a mapping, got {type(data).__name__}",
                                source=source, line=1)
        if "version" not in data:
            raise ScenarioError(f"{source}:1: version: missing; add 'version: {SCENARIO_FORMAT_VERSION}'",
                                source=source, line=1, field="version")
        _check_unique_ids(data, lines, source)
        try:
            suite = cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = [p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
            field = ".".join(str(p) for p in loc) or "<root>"
            line = line_of(lines, loc)
            others = len(exc.errors()) - 1
            more = f" (and {others} more problem{'s' if others > 1 else ''})" if others else ""
            message = first["msg"].removeprefix("Value error, ")
            raise ScenarioError(f"{source}:{line}: {field}: {message}{more}", source=source, line=line,
                                field=field) from exc
        loaded = suite.model_copy(update={"source": source})
        loaded._lines = lines
        return loaded


def _check_unique_ids(data: dict[str, object], lines: dict[tuple[str | int, ...], int], source: str) -> None:
    """A repeated scenario id, reported on the line of its second use."""
    scenarios = data.get("scenarios")
    if not isinstance(scenarios, list):
        return
    first: dict[str, int] = {}
    for n, item in enumerate(scenarios):
        sid = item.get("id") if isinstance(item, dict) else None
        if not isinstance(sid, str):
            continue
        if sid in first:
            line = line_of(lines, ("scenarios", n, "id"))
            where = f"{source}:{line}" if line else source
            raise ScenarioError(
                f"{where}: scenarios.{n}.id: duplicate scenario id {sid!r} (first used by scenarios.{first[sid]})",
                source=source, line=line, field=f"scenarios.{n}.id")
        first[sid] = n


def load_scenarios(
    sources: str | Path | ScenarioSuite | Sequence[str | Path | ScenarioSuite],
) -> list[ScenarioSuite]:
    """Suites from files, folders (every ``*.yaml``/``*.yml`` in them, sorted) or loaded suites."""
    items: Sequence[str | Path | ScenarioSuite] = (
        [sources] if isinstance(sources, str | Path | ScenarioSuite) else sources
    )
    suites: list[ScenarioSuite] = []
    for item in items:
        if isinstance(item, ScenarioSuite):
            suites.append(item)
            continue
        path = Path(item)
        if path.is_dir():
            files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
            if not files:
                raise ScenarioError(f"{path}: no *.yaml scenario files in this folder", source=str(path))
            suites.extend(ScenarioSuite.from_yaml(f) for f in files)
        else:
            suites.append(ScenarioSuite.from_yaml(path))
    names = [s.suite for s in suites]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise ScenarioError(f"two scenario suites are both named {duplicate!r}; suite names must be unique")
    return suites


