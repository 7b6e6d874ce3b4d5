"""Shared fixtures: scripted tiers (test doubles) and the example persona (helpers: tests/helpers.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from persona_lab import Persona
from persona_lab.tiers import ScriptedBackend, TierRegistry
from tests.helpers import EXAMPLES, scripted_tier


@pytest.fixture
def persona() -> Persona:
    return Persona.from_yaml(EXAMPLES / "tenancy_advisor.yaml")


@pytest.fixture
def make_tiers() -> Callable[..., TierRegistry]:
    def make(**backends: ScriptedBackend) -> TierRegistry:
        return TierRegistry({tier: scripted_tier(b, model=f"{tier}-model") for tier, b in backends.items()})

    return make
