"""The tier registry: which model serves small / mid / frontier, and the fallback order."""

from __future__ import annotations

import importlib
import math
import os
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from persona_lab.core import (
    TIER_NAMES,
    Backend,
    ChatRequest,
    ConfigError,
    TierInfo,
    TierNotConfigured,
    check_tier,
    fallback_order,
)
from persona_lab.tiers._config import ModelConfig, Price, Secret, TierConfig
from persona_lab.tiers._prices import PriceBook
from persona_lab.tiers._scripted import ScriptedBackend, ScriptedResponse

__all__ = ["PROVIDER_LOADERS", "TierRegistry"]

BackendLoader = Callable[[ModelConfig], Backend]

PROVIDER_LOADERS: Mapping[str, str] = MappingProxyType({
    "openai": "persona_lab.tiers._openai:OpenAIBackend",
    "anthropic": "persona_lab.tiers._anthropic:AnthropicBackend",
    "openai-compatible": "persona_lab.tiers._openai:OpenAIBackend",
    "vllm": "persona_lab.tiers._openai:OpenAIBackend",
    "ollama": "persona_lab.tiers._openai:OpenAIBackend",
    "llama.cpp": "persona_lab.tiers._openai:OpenAIBackend",
    "groq": "persona_lab.tiers._openai:OpenAIBackend",
    "deepseek": "persona_lab.tiers._openai:OpenAIBackend",
    "llama-cpp": "persona_lab.tiers._llama_cpp:LlamaCppBackend",
})
"""Provider name → ``module:Class`` of its backend, imported only when a tier is built."""

_NEEDS_BASE_URL = frozenset({"openai-compatible", "vllm", "ollama", "llama.cpp", "groq", "deepseek"})
_SDK_KEY_VARS = MappingProxyType({"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"})

TierValue = TierConfig | ModelConfig | str | Sequence[ModelConfig | str]
"""What a tier may be given as: a config, a model, a ``"provider/model"`` name, or a list of them."""


def _as_tier_config(value: TierValue) -> TierConfig:
    if isinstance(value, TierConfig):
        return value
    if isinstance(value, (ModelConfig, str)):
        return TierConfig((ModelConfig.of(value),))
    return TierConfig(tuple(ModelConfig.of(v) for v in value))


Script = str | Sequence[str | ScriptedResponse] | Callable[[ChatRequest], str | ScriptedResponse] | ScriptedBackend


class TierRegistry:
    """Configured tiers, their backends (built lazily, cached) and prices.

    Fallback goes to the nearest configured tier, never skipping a level:
    frontier → mid → small, small → mid → frontier, mid → frontier → small.
    """

    def __init__(
        self,
        tiers: Mapping[str, TierValue],
        *,
        prices: PriceBook | None = None,
        loaders: Mapping[str, str | BackendLoader] | None = None,
    ):
        self._tiers: dict[str, TierConfig] = {}
        for name, value in tiers.items():
            check_tier(name, where="TierRegistry")
            self._tiers[name] = _as_tier_config(value)
        self._loaders: dict[str, str | BackendLoader] = {**PROVIDER_LOADERS, **(loaders or {})}
        for name, tier in self._tiers.items():
            for model in tier.models:
                if model.backend is None and model.provider not in self._loaders:
                    known = ", ".join(sorted(self._loaders))
                    raise ConfigError(
                        f"tier {name!r}: unknown provider {model.provider!r} (known: {known})"
                    )
        self.prices = prices or PriceBook()
        self._backends: dict[int, Backend] = {}
        self._infos: Mapping[str, TierInfo] | None = None

    @classmethod
    def scripted(
        cls,
        scripts: Mapping[str, Script],
        *,
        priced_as: str | Mapping[str, str] | None = None,
        chunk_chars: int = 16,
        time_per_chunk_s: float = 0.0,
    ) -> TierRegistry:
        """Test doubles for prototyping, in one call: each tier answers from a script, no model runs.

        ``scripts``: ``{tier: answer}``, where an answer is a string, a list of answers (used in
        turn, then again from the start), a function of the request, or a ready
        :class:`ScriptedBackend`. The models are named ``scripted/scripted-<tier>`` and
        :meth:`describe` calls them test doubles. ``priced_as`` charges them at an API model's list
        price (one ``"provider/model"`` for every tier, or ``{tier: "provider/model"}``), so cost
        charts show realistic numbers; without it their cost is unknown.
        """
        tiers: dict[str, ModelConfig] = {}
        for tier, script in scripts.items():
            check_tier(tier, where="TierRegistry.scripted")
            if isinstance(script, ScriptedBackend):
                backend = script
            else:
                answers: Any = [script] if isinstance(script, str) else script
                backend = ScriptedBackend(answers, name=f"scripted-{tier}", chunk_chars=chunk_chars,
                                          cycle=not callable(answers), time_per_chunk_s=time_per_chunk_s)
            price_ref = priced_as.get(tier) if isinstance(priced_as, Mapping) else priced_as
            tiers[tier] = ModelConfig(provider="scripted", model=f"scripted-{tier}", backend=backend,
                                      priced_as=price_ref)
        return cls(tiers)

    @classmethod
    def local(cls, priced_as: Mapping[str, str] | None = None, **settings: Any) -> TierRegistry:
        """The bundled local model (the ``[local]`` extra) behind the tiers of ``priced_as``, loaded once.

        ``priced_as``: ``{tier: "provider/model"}``; each tier is charged at that API model's list
        price (labelled ``priced as …`` in :meth:`describe`, ``price_source="priced-as"`` in turn
        logs), so offline cost charts show what the same routing would cost with those models. Without
        it, the model is the small tier, priced by compute time. ``settings`` go to
        ``local_model_config`` (``max_output_tokens``, ``temperature``…). :meth:`aclose` closes the model.
        """
        module = importlib.import_module("persona_lab.tiers._local")
        config: ModelConfig = module.local_model_config(**settings)
        if not priced_as:
            return cls({"small": config})
        models = {tier: replace(config, priced_as=ref) for tier, ref in priced_as.items()}
        registry = cls(models)
        shared = registry.backend(next(iter(models.values())))
        for model in models.values():
            registry._backends[id(model)] = shared
        return registry

    # -- construction from the environment -------------------------------------------------

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        local_default: bool = True,
    ) -> TierRegistry:
        """Read ``PERSONA_{SMALL|MID|FRONTIER}_*`` with ``PERSONA_*`` as every tier's fallback.

        With nothing configured and the ``[local]`` extra installed (``local_default``), the
        small tier is the bundled local model.
        """
        env = dict(os.environ if env is None else env)
        tiers: dict[str, TierConfig] = {}
        for tier in TIER_NAMES:
            config = _tier_from_env(tier, env)
            if config is not None:
                tiers[tier] = config
        if not tiers and local_default:
            local = _local_default_tier(env)
            if local is not None:
                tiers["small"] = local
        return cls(tiers)

    # -- queries -------------------------------------------------------------------------

    @property
    def configured(self) -> tuple[str, ...]:
        """Configured tier names, cheapest first."""
        return tuple(t for t in TIER_NAMES if t in self._tiers)

    def is_configured(self, tier: str) -> bool:
        return check_tier(tier) in self._tiers

    def config(self, tier: str) -> TierConfig:
        check_tier(tier)
        if tier not in self._tiers:
            raise TierNotConfigured(f"tier {tier!r} is not configured (configured: {self._names()})")
        return self._tiers[tier]

    def _names(self) -> str:
        return ", ".join(self.configured) or "none"

    def nearest(self, tier: str) -> str:
        """The configured tier that serves a request for ``tier``."""
        chain = self.fallback_chain(tier)
        if not chain:
            raise TierNotConfigured(
                "no tier is configured: set PERSONA_PROVIDER and PERSONA_MODEL (or "
                "PERSONA_SMALL_*, PERSONA_MID_*, PERSONA_FRONTIER_*), or install persona-lab[local]"
            )
        return chain[0]

    def fallback_chain(self, tier: str) -> tuple[str, ...]:
        """Configured tiers to try for ``tier``, nearest first."""
        return tuple(t for t in fallback_order(tier) if t in self._tiers)

    def candidates(self, tier: str) -> list[tuple[str, ModelConfig]]:
        """Every (tier, model) to try for ``tier``: the tier's models in order, then the next tier's."""
        return [(t, m) for t in self.fallback_chain(tier) for m in self._tiers[t].models]

    def info(self, tier: str) -> TierInfo:
        model = self.config(tier).primary
        price, source = self.prices.price_of(model)
        return TierInfo(
            name=tier,
            provider=model.provider,
            model=model.model,
            context_window=model.context_window,
            max_output_tokens=model.max_output_tokens,
            supports_tools=model.supports_tools,
            input_per_mtok=price.input_per_mtok if price else None,
            output_per_mtok=price.output_per_mtok if price else None,
            price_source=source,
            usd_per_hour=model.usd_per_hour,
            latency_s=model.latency_s,
            local=model.provider == "llama-cpp"
            or bool(model.base_url and ("127.0.0.1" in model.base_url or "localhost" in model.base_url)),
        )

    def infos(self) -> Mapping[str, TierInfo]:
        """Every configured tier's metadata (computed once; the registry does not change)."""
        if self._infos is None:
            self._infos = types.MappingProxyType({t: self.info(t) for t in self.configured})
        return self._infos

    def backend(self, model: ModelConfig) -> Backend:
        """The backend for ``model``, built on first use and cached."""
        if model.backend is not None:
            return model.backend
        key = id(model)
        if key not in self._backends:
            loader = self._loaders[model.provider]
            if isinstance(loader, str):
                module_name, _, attr = loader.partition(":")
                try:
                    module = importlib.import_module(module_name)
                except ImportError as exc:
                    raise ConfigError(
                        f"provider {model.provider!r} needs an optional dependency: {exc}. "
                        "Install it with: pip install 'persona-lab[local]'"
                    ) from exc
                factory: BackendLoader = getattr(module, attr)
            else:
                factory = loader
            self._backends[key] = factory(model)
        return self._backends[key]

    def describe(self) -> str:
        """A table saying which tiers are real and which are unconfigured."""
        lines = []
        for tier in TIER_NAMES:
            if tier not in self._tiers:
                lines.append(f"{tier:<9} unconfigured (falls back to {self._fallback_text(tier)})")
                continue
            refs = " → ".join(m.ref for m in self._tiers[tier].models)
            info = self.info(tier)
            primary = self._tiers[tier].primary
            where = "test double" if primary.provider == "scripted" else ("local" if info.local else "remote")
            price = info.price_source
            if primary.priced_as is not None:
                price = f"priced as {primary.priced_as}"
            elif info.usd_per_hour is not None:
                price += f" ${info.usd_per_hour:g}/h"
            lines.append(f"{tier:<9} {refs}  [{where}, price: {price}]")
        return "\n".join(lines)

    def _fallback_text(self, tier: str) -> str:
        chain = self.fallback_chain(tier)
        return chain[0] if chain else "nothing: no tier configured"

    def __repr__(self) -> str:
        inner = ", ".join(
            f"{t}={'|'.join(m.ref for m in self._tiers[t].models)}" for t in self.configured
        )
        return f"TierRegistry({inner or 'no tiers configured'})"

    async def aclose(self) -> None:
        """Close every backend this registry built (injected backends are the caller's)."""
        backends, self._backends = list({id(b): b for b in self._backends.values()}.values()), {}
        for backend in backends:
            await backend.aclose()


# -- environment parsing -------------------------------------------------------------------


def _local_default_tier(env: Mapping[str, str]) -> TierConfig | None:
    try:
        module = importlib.import_module("persona_lab.tiers._local")
    except ImportError:
        return None
    result: TierConfig | None = module.local_small_tier(env)
    return result


def _get(env: Mapping[str, str], tier: str, key: str, *, fallback: bool = True) -> tuple[str | None, str]:
    specific = f"PERSONA_{tier.upper()}_{key}"
    if env.get(specific):
        return env[specific], specific
    general = f"PERSONA_{key}"
    if fallback and env.get(general):
        return env[general], general
    return None, specific


def _number(env: Mapping[str, str], tier: str, key: str, kind: type[float] | type[int]) -> float | int | None:
    raw, var = _get(env, tier, key)
    if raw is None:
        return None
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"{var}={raw!r} is not a valid {kind.__name__}") from None


def _waits(env: Mapping[str, str], tier: str) -> dict[str, Any]:
    """``TIMEOUT``, ``MAX_RETRIES`` and ``DEADLINE`` for a tier (docs/reliability.md); only those set."""
    waits: dict[str, Any] = {}
    for key, field_name in (("TIMEOUT", "timeout_s"), ("DEADLINE", "deadline_s")):
        value = _number(env, tier, key, float)
        if value is None:
            continue
        if not math.isfinite(value) or value <= 0:
            _, var = _get(env, tier, key)
            raise ConfigError(f"{var}={value!r} must be a positive, finite number of seconds")
        waits[field_name] = float(value)
    retries = _number(env, tier, "MAX_RETRIES", int)
    if retries is not None:
        if retries < 0 or retries > 10:
            _, var = _get(env, tier, "MAX_RETRIES")
            raise ConfigError(f"{var}={retries!r} must be a whole number from 0 to 10")
        waits["max_retries"] = int(retries)
    return waits


def _tier_from_env(tier: str, env: Mapping[str, str]) -> TierConfig | None:
    prefix = f"PERSONA_{tier.upper()}_"
    specific = sorted(k for k, v in env.items() if k.startswith(prefix) and v)
    provider, provider_var = _get(env, tier, "PROVIDER")
    model, model_var = _get(env, tier, "MODEL")
    if provider is None and model is None and not specific:
        return None
    missing = [var for value, var in ((provider, provider_var), (model, model_var)) if value is None]
    if missing:
        set_vars = ", ".join(specific) or "PERSONA_* variables"
        raise ConfigError(
            f"tier {tier!r} is half-configured ({set_vars} set) but {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing"
        )
    assert provider is not None and model is not None
    base_url, _ = _get(env, tier, "BASE_URL")
    key, key_var = _get(env, tier, "API_KEY")
    if key is None and provider in _SDK_KEY_VARS:
        key = env.get(_SDK_KEY_VARS[provider]) or None
    if key is None and base_url is None and provider in _SDK_KEY_VARS:
        raise ConfigError(
            f"tier {tier!r} uses provider {provider!r} but {key_var} is missing "
            f"(or set PERSONA_API_KEY or {_SDK_KEY_VARS[provider]})"
        )
    if provider in _NEEDS_BASE_URL and base_url is None:
        raise ConfigError(f"tier {tier!r} uses provider {provider!r}, which needs {prefix}BASE_URL")
    supports_raw, _ = _get(env, tier, "SUPPORTS_TOOLS")
    in_price = _number(env, tier, "INPUT_PRICE", float)
    out_price = _number(env, tier, "OUTPUT_PRICE", float)
    if (in_price is None) != (out_price is None):
        raise ConfigError(f"set both {prefix}INPUT_PRICE and {prefix}OUTPUT_PRICE (USD per million tokens)")
    max_out = _number(env, tier, "MAX_OUTPUT_TOKENS", int)
    window = _number(env, tier, "CONTEXT_WINDOW", int)
    temperature = _number(env, tier, "TEMPERATURE", float)
    per_hour = _number(env, tier, "USD_PER_HOUR", float)
    waits = _waits(env, tier)
    primary = ModelConfig(
        provider=provider,
        model=model,
        api_key=Secret(key) if key else None,
        base_url=base_url,
        max_output_tokens=int(max_out) if max_out is not None else 1024,
        temperature=float(temperature) if temperature is not None else None,
        supports_tools=(supports_raw or "true").lower() not in ("0", "false", "no"),
        price=Price(float(in_price), float(out_price)) if in_price is not None and out_price is not None else None,
        usd_per_hour=float(per_hour) if per_hour is not None else None,
        context_window=int(window) if window is not None else _default_window(provider, model, base_url),
        **waits,
    )
    models = [primary]
    chain, chain_var = _get(env, tier, "FALLBACK_MODELS", fallback=False)
    for ref in (chain or "").split(","):
        ref = ref.strip()
        if not ref:
            continue
        other_provider, sep, other_model = ref.partition("/")
        if not sep:
            raise ConfigError(f"{chain_var}: {ref!r} must be written provider/model")
        other_key = env.get(_SDK_KEY_VARS.get(other_provider, ""), "") or None
        models.append(
            ModelConfig(
                provider=other_provider,
                model=other_model,
                api_key=Secret(other_key) if other_key else None,
                max_output_tokens=primary.max_output_tokens,
                context_window=_default_window(other_provider, other_model, None),
                **waits,
            )
        )
    return TierConfig(tuple(models))


def _default_window(provider: str, model: str, base_url: str | None) -> int:
    window = PriceBook().context_window_of(ModelConfig(provider=provider, model=model, base_url=base_url))
    return window or 8192
