"""Errors a user can meet come from the project's tree and name what is wrong (and what would do)."""

from __future__ import annotations

import pytest

from persona_lab import InvalidArgument, Persona, PersonaLabError, UnknownName
from persona_lab.bench import RateLimiter, default_routers, fold_assignment
from persona_lab.memory import SqliteMemoryStore
from persona_lab.metrics import apgr
from tests.helpers import EXAMPLES


def test_an_unknown_router_label_is_named_with_the_known_ones() -> None:
    with pytest.raises(UnknownName) as info:
        default_routers(only=["heuristic", "nope"])
    error = info.value
    assert isinstance(error, PersonaLabError) and isinstance(error, KeyError)  # old `except KeyError` still works
    assert error.name == "nope" and "heuristic" in error.known and "knn" in error.known
    assert str(error).startswith("unknown router label 'nope'; known: ") and "heuristic" in str(error)
    assert error.code == "persona_lab.config.unknown_name"


def test_an_unknown_journey_lists_the_persona_journeys() -> None:
    persona = Persona.from_yaml(EXAMPLES / "tenancy_advisor.yaml")
    with pytest.raises(UnknownName, match=r"unknown journey 'teleport'; known: ") as info:
        persona.journey("teleport")
    assert info.value.known == tuple(j.name for j in persona.journeys)


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: fold_assignment(3, 5, seed=0), "folds: 3 items cannot be split into 5 folds"),
        (lambda: fold_assignment(10, 1, seed=0), "at least 2 folds, got 1"),
        (lambda: RateLimiter(0), "must be positive, got 0"),
        (lambda: SqliteMemoryStore(episode_window=0), "episode_window must be at least 1, got 0"),
        (lambda: apgr([0.0, 0.5], [0.0]), r"same length, got shapes \(2,\) and \(1,\)"),
        (lambda: apgr([0.0, 1.5], [0.0, 1.0]), r"\[0, 1\], got values from 0 to 1.5"),
    ],
)
def test_bad_arguments_raise_invalid_argument_naming_the_value(call: object, words: str) -> None:
    with pytest.raises(InvalidArgument, match=words) as info:
        call()  # type: ignore[operator]
    assert isinstance(info.value, ValueError)  # callers catching ValueError keep working


def test_an_unknown_journey_step_lists_the_steps() -> None:
    persona = Persona.from_yaml(EXAMPLES / "tenancy_advisor.yaml")
    if not persona.journeys:
        pytest.skip("the example persona declares no journeys")
    journey = persona.journeys[0]
    with pytest.raises(UnknownName, match=r"unknown step 'nowhere'; known: ") as info:
        journey.step("nowhere")
    assert info.value.known == tuple(journey.step_names)


def test_a_tool_with_star_args_is_an_invalid_argument() -> None:
    from persona_lab.loops import tool

    def anything(*args: str) -> str:
        """Takes anything."""
        return ""

    with pytest.raises(InvalidArgument, match=r"tool anything: \*args and \*\*kwargs cannot be described"):
        tool(anything)
