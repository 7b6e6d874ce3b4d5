"""Cost of a call in USD, from overrides, compute time, or the offline ``genai-prices`` list.

Lookups are cached per model; an unknown model (a local one) costs ``None`` with source
``"unknown"``, never an exception mid-turn.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Literal

from persona_lab.core import Usage
from persona_lab.tiers._config import ModelConfig, Price

__all__ = ["Cost", "PriceBook", "PriceSource"]

logger = logging.getLogger("persona_lab.tiers")

PriceSource = Literal["override", "genai-prices", "priced-as", "compute-time", "recorded", "unknown"]

_GENAI_PROVIDERS = MappingProxyType({"openai": "openai", "anthropic": "anthropic"})
_PROBE_TOKENS = 1_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Cost:
    usd: float | None
    source: PriceSource


class PriceBook:
    """Prices models; holds a cache of looked-up prices and nothing else."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str, str | None], Price | None] = {}

    def price_of(self, config: ModelConfig) -> tuple[Price | None, PriceSource]:
        if config.price is not None:
            return config.price, "override"
        if config.priced_as is not None:
            from persona_lab.tiers._config import split_model_ref

            provider, model = split_model_ref(config.priced_as)
            price, _ = self.price_of(ModelConfig(provider=provider, model=model))
            return price, ("priced-as" if price is not None else "unknown")
        if config.usd_per_hour is not None:
            return None, "compute-time"
        key = (config.provider, config.model, config.base_url)
        if key not in self._cache:
            self._cache[key] = _lookup(config)
        price = self._cache[key]
        return price, ("genai-prices" if price is not None else "unknown")

    def cost(self, config: ModelConfig, usage: Usage, *, duration_s: float = 0.0) -> Cost:
        """Cost of one call; compute-time prices use ``duration_s``."""
        if config.price is None and config.priced_as is None and config.usd_per_hour is not None:
            return Cost(usd=config.usd_per_hour * duration_s / 3600.0, source="compute-time")
        price, source = self.price_of(config)
        if price is None:
            return Cost(usd=None, source="unknown")
        return Cost(usd=cost_from_price(price, usage), source=source)

    def context_window_of(self, config: ModelConfig) -> int | None:
        """The price list's context window for a model, when it knows one."""
        try:
            from genai_prices import Usage as GUsage
            from genai_prices import calc_price

            result = calc_price(
                GUsage(input_tokens=1, output_tokens=1),
                model_ref=config.model,
                provider_id=_GENAI_PROVIDERS.get(config.provider),
            )
        except Exception:
            return None
        window = getattr(result.model, "context_window", None)
        return int(window) if window else None


def cost_from_price(price: Price, usage: Usage) -> float:
    inp = usage.input_tokens or 0
    cached = usage.cache_read_input_tokens or 0
    cache_rate = price.cache_read_per_mtok if price.cache_read_per_mtok is not None else price.input_per_mtok
    return (
        (inp - cached) * price.input_per_mtok
        + cached * cache_rate
        + (usage.output_tokens or 0) * price.output_per_mtok
    ) / 1_000_000


def _as_float(value: object) -> float | None:
    if isinstance(value, (Decimal, int, float)):
        return float(value)
    return None


def _lookup(config: ModelConfig) -> Price | None:
    if config.base_url and config.provider not in _GENAI_PROVIDERS:
        return None
    try:
        from genai_prices import Usage as GUsage
        from genai_prices import calc_price

        # priced at a typical request size: tiered prices (Gemini 1.5: double above 128k prompt
        # tokens) must give the base tier, not the price of a 1M-token prompt
        result = calc_price(
            GUsage(input_tokens=_PROBE_TOKENS, output_tokens=_PROBE_TOKENS),
            model_ref=config.model,
            provider_id=_GENAI_PROVIDERS.get(config.provider),
        )
    except LookupError:
        logger.debug("no price known for %s", config.ref)
        return None
    except Exception as exc:  # the price list must never break a turn
        logger.warning("price lookup for %s failed: %s", config.ref, exc)
        return None
    mp = result.model_price
    inp, out = _as_float(mp.input_mtok), _as_float(mp.output_mtok)
    if inp is None or out is None:  # tiered prices: the per-token price of a typical request
        scale = 1_000_000 / _PROBE_TOKENS
        inp = float(result.input_price) * scale
        out = float(result.output_price) * scale
    return Price(inp, out, _as_float(mp.cache_read_mtok))
