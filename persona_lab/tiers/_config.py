"""Tier configuration: which model answers for a tier, and how to reach it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from persona_lab.core import ConfigError, InvalidArgument

if TYPE_CHECKING:
    from persona_lab.core import Backend

__all__ = ["ModelConfig", "Price", "Secret", "TierConfig", "split_model_ref"]


def split_model_ref(ref: str) -> tuple[str, str]:
    """``"provider/model"`` → ``(provider, model)``; the model part may hold more slashes."""
    provider, sep, model = ref.strip().partition("/")
    if not sep or not provider or not model:
        raise ConfigError(f"model {ref!r}: write it as provider/model, e.g. 'openai/gpt-4.1-mini' or "
                          "'anthropic/claude-3-5-haiku-latest'")
    return provider, model


class Secret:
    """A string that never shows itself in a repr, str, log or notebook output."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens."""

    input_per_mtok: float
    output_per_mtok: float
    cache_read_per_mtok: float | None = None


@dataclass(frozen=True, slots=True)
class ModelConfig:
    """One model a tier can call.

    ``price`` overrides the bundled price list; ``usd_per_hour`` prices a local model by compute
    time instead of tokens. ``backend`` injects a ready backend (tests, replays) instead of
    building one for ``provider``.

    Bounded waits (docs/reliability.md): ``timeout_s`` is one HTTP attempt's connect/read timeout
    and a running stream's idle timeout; ``max_retries`` more attempts follow a retryable failure
    before any answer text; ``deadline_s`` bounds everything before the answer starts (attempts,
    backoff starting at ``backoff_s``, ``Retry-After`` waits), so a provider fault costs at most
    ``deadline_s`` before the next tier is tried.
    """

    provider: str
    model: str
    api_key: Secret | None = field(default=None, repr=False)
    base_url: str | None = None
    context_window: int = 128_000
    max_output_tokens: int = 1024
    temperature: float | None = None
    supports_tools: bool = True
    price: Price | None = None
    usd_per_hour: float | None = None
    max_retries: int = 2
    timeout_s: float = 10.0
    deadline_s: float = 25.0
    backoff_s: float = 0.5
    latency_s: float | None = None
    backend: Backend | None = field(default=None, repr=False, compare=False)
    priced_as: str | None = None
    """``"provider/model"`` whose list price this model is charged at (a local model or a test
    double priced as an API model); its turn logs say ``price_source="priced-as"``."""

    def __post_init__(self) -> None:
        if isinstance(self.api_key, str):
            object.__setattr__(self, "api_key", Secret(self.api_key))
        for name in ("timeout_s", "deadline_s", "backoff_s"):
            value = getattr(self, name)
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not number or not math.isfinite(value) or value <= 0:
                raise InvalidArgument(f"{self.ref}: {name} must be a positive number of seconds, got {value!r}")
        retries = self.max_retries
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise InvalidArgument(f"{self.ref}: max_retries must be a whole number, 0 or more, got {retries!r}")
        if self.context_window <= self.max_output_tokens:
            raise InvalidArgument(
                f"{self.provider}/{self.model}: context_window ({self.context_window}) must exceed "
                f"max_output_tokens ({self.max_output_tokens})"
            )

    @classmethod
    def of(cls, ref: str | ModelConfig, **settings: Any) -> ModelConfig:
        """A model from its ``"provider/model"`` name (``"openai/gpt-4.1-mini"``), other fields as keywords."""
        if isinstance(ref, ModelConfig):
            return replace(ref, **settings) if settings else ref
        provider, model = split_model_ref(ref)
        return cls(provider=provider, model=model, **settings)

    @property
    def ref(self) -> str:
        """``provider/model``, as shown in logs."""
        return f"{self.provider}/{self.model}"

    @property
    def prompt_budget(self) -> int:
        """Tokens a prompt may use: the context window minus the room kept for the answer."""
        return self.context_window - self.max_output_tokens

    def with_backend(self, backend: Backend) -> ModelConfig:
        return replace(self, backend=backend)


@dataclass(frozen=True, slots=True)
class TierConfig:
    """A tier: one or more models, tried in order before the tier itself falls back."""

    models: tuple[ModelConfig, ...]

    def __post_init__(self) -> None:
        if not self.models:
            raise InvalidArgument("a TierConfig needs at least one model: pass models=[ModelConfig(...), ...]")

    @classmethod
    def of(cls, *models: ModelConfig) -> TierConfig:
        return cls(tuple(models))

    @property
    def primary(self) -> ModelConfig:
        return self.models[0]
