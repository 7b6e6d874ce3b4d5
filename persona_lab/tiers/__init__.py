"""Tiers: provider backends, tier configuration, prices and the registry."""

from persona_lab.tiers._config import TIER_NAMES, ModelConfig, Price, Secret, TierConfig, check_tier
from persona_lab.tiers._local import (
    LocalModelServer,
    local_model_available,
    local_model_config,
    local_small_tier,
    smollm2_model_path,
)
from persona_lab.tiers._prices import Cost, PriceBook, PriceSource
from persona_lab.tiers._protocol import (
    Backend,
    ChatRequest,
    Chunk,
    Completion,
    ToolCallDelta,
    ToolSpec,
    Usage,
    fold_stream,
)
from persona_lab.tiers._registry import PROVIDER_LOADERS, TierInfo, TierRegistry
from persona_lab.tiers._scripted import ScriptedBackend, ScriptedResponse

__all__ = [
    "PROVIDER_LOADERS",
    "TIER_NAMES",
    "Backend",
    "ChatRequest",
    "Chunk",
    "Completion",
    "Cost",
    "LocalModelServer",
    "ModelConfig",
    "Price",
    "PriceBook",
    "PriceSource",
    "ScriptedBackend",
    "ScriptedResponse",
    "Secret",
    "TierConfig",
    "TierInfo",
    "TierRegistry",
    "ToolCallDelta",
    "ToolSpec",
    "Usage",
    "check_tier",
    "fold_stream",
    "local_model_available",
    "local_model_config",
    "local_small_tier",
    "smollm2_model_path",
]
