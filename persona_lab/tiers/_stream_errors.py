"""Errors both SDK backends raise the same way: a stream cut off, a key echoed back, a redacted cause."""

from __future__ import annotations

from persona_lab.core import ProviderError, StreamInterrupted
from persona_lab.tiers._config import ModelConfig

__all__ = ["ProviderFault", "cut_off_error", "redact_keys", "redacted_cause"]


class ProviderFault(Exception):
    """What the provider SDK raised, as a redacted summary: its type, status code and message
    with every API key removed. Chained as the ``__cause__`` of persona-lab's provider errors in
    place of the SDK exception, so a printed traceback (Jupyter prints the whole chain) never
    shows a key a server echoed back."""

    def __init__(self, sdk_type: str, message: str, *, status_code: int | None = None):
        status = f" (HTTP {status_code})" if status_code is not None else ""
        super().__init__(f"{sdk_type}{status}: {message}")
        self.sdk_type = sdk_type
        self.status_code = status_code


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


def redacted_cause(exc: BaseException, config: ModelConfig, client: object) -> ProviderFault:
    """A :class:`ProviderFault` standing in for the SDK exception ``exc`` (never chained itself)."""
    status = getattr(exc, "status_code", None)
    return ProviderFault(
        type(exc).__name__,
        redact_keys(str(exc), config, client),
        status_code=status if isinstance(status, int) else None,
    )
