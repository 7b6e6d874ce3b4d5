"""Tiers: provider backends, tier configuration, prices and the registry.

The backend protocol and its values (``Backend``, ``ChatRequest``, ``Chunk``, ``Usage``) and
the tier names live in :mod:`persona_lab.core`.
"""

from persona_lab.tiers._anthropic import AnthropicBackend
from persona_lab.tiers._config import ModelConfig, Price, Secret, TierConfig
from persona_lab.tiers._llama_cpp import LlamaCppBackend
from persona_lab.tiers._local import (
    LocalModelServer,
    local_model_available,
    local_model_config,
    local_small_tier,
    smollm2_model_path,
)
from persona_lab.tiers._openai import OpenAIBackend
from persona_lab.tiers._prices import Cost, PriceBook, PriceSource
from persona_lab.tiers._registry import PROVIDER_LOADERS, TierRegistry
from persona_lab.tiers._scripted import ScriptedBackend, ScriptedResponse

__all__ = [
    "PROVIDER_LOADERS",
    "AnthropicBackend",
    "Cost",
    "LlamaCppBackend",
    "LocalModelServer",
    "ModelConfig",
    "OpenAIBackend",
    "Price",
    "PriceBook",
    "PriceSource",
    "ScriptedBackend",
    "ScriptedResponse",
    "Secret",
    "TierConfig",
    "TierRegistry",
    "local_model_available",
    "local_model_config",
    "local_small_tier",
    "smollm2_model_path",
]
