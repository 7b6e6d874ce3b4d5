"""Shared fixtures: scripted tiers (test doubles) and the example persona."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from persona_lab import Persona
from persona_lab.tiers import ModelConfig, Price, ScriptedBackend, TierRegistry

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "personas"


@pytest.fixture
def persona() -> Persona:
    return Persona.from_yaml(EXAMPLES / "tenancy_advisor.yaml")


DEFAULT_PRICE = Price(1.0, 2.0)


def scripted_tier(
    backend: ScriptedBackend, *, model: str, price: Price | None = DEFAULT_PRICE, **kw: Any
) -> ModelConfig:
    """A tier served by a scripted backend (a test double) with a known price ($1 / $2 per Mtok)."""
    return ModelConfig(provider="scripted", model=model, backend=backend, price=price, **kw)


@pytest.fixture
def make_tiers() -> Callable[..., TierRegistry]:
    def make(**backends: ScriptedBackend) -> TierRegistry:
        return TierRegistry({tier: scripted_tier(b, model=f"{tier}-model") for tier, b in backends.items()})

    return make
