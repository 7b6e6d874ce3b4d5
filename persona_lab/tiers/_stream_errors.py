"""Errors both SDK backends raise the same way: a stream cut off, a key echoed back."""

from __future__ import annotations

from persona_lab.core import ProviderError, StreamInterrupted
from persona_lab.tiers._config import ModelConfig

__all__ = ["cut_off_error", "redact_keys"]


def cut_off_error(config: ModelConfig, *, started: bool, stop_field: str) -> ProviderError:
    """The error for a stream that ended without its stop marker (``stop_field``)."""
    if started:
        return StreamInterrupted(
            f"stream broke part-way: {config.ref}: the stream ended without a {stop_field}",
            provider=config.provider,
            model=config.model,
        )
    return ProviderError(
        f"{config.ref}: the stream ended before any answer", provider=config.provider, model=config.model
    )


def redact_keys(text: str, config: ModelConfig, client: object) -> str:
    """``text`` without the API key (some servers echo the key they were sent)."""
    keys = (config.api_key.reveal() if config.api_key else "", getattr(client, "api_key", ""))
    for key in keys:
        if isinstance(key, str) and key:
            text = text.replace(key, "********")
    return text
