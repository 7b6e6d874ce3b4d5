"""Helpers shared by the tests (no tests here): paths, scripted tiers (test doubles)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from persona_lab.tiers import ModelConfig, Price, ScriptedBackend

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "personas"

DEFAULT_PRICE = Price(1.0, 2.0)


def scripted_tier(
    backend: ScriptedBackend, *, model: str, price: Price | None = DEFAULT_PRICE, **kw: Any
) -> ModelConfig:
    """A tier served by a scripted backend (a test double) with a known price ($1 / $2 per Mtok)."""
    return ModelConfig(provider="scripted", model=model, backend=backend, price=price, **kw)
