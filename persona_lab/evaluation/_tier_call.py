"""One plain model call on a tier (with the tier's fallbacks): what judges and simulated users use.

The reply says which tier and model answered, whether it was a local model, and what it cost,
so a report can label what answered and count the cost in the evaluation.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from persona_lab.core import AllTiersFailed, ChatRequest, Message, Usage, estimate_tokens, fold_stream
from persona_lab.tiers import TierRegistry

__all__ = ["TierReply", "call_tier"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TierReply:
    """A model's reply and who gave it: tier, provider, model, local or not, cost (None = unknown price)."""

    text: str
    tier: str
    provider: str
    model: str
    local: bool
    cost_usd: float | None
    input_tokens: int | None
    output_tokens: int | None
    latency_s: float

    @property
    def answered_by(self) -> str:
        return f"{self.tier}: {self.provider}/{self.model}" + (" (local)" if self.local else "")


async def call_tier(
    tiers: TierRegistry,
    tier: str,
    *,
    system: str,
    messages: Sequence[Message],
    max_output_tokens: int = 256,
    temperature: float | None = 0.0,
) -> TierReply:
    """Ask the nearest configured tier to ``tier``; each candidate model is tried in turn."""
    errors: list[str] = []
    for name, config in tiers.candidates(tier):
        request = ChatRequest(model=config.model, system=system, messages=tuple(messages),
                              max_output_tokens=min(max_output_tokens, config.max_output_tokens),
                              temperature=temperature)
        started = time.perf_counter()
        try:
            completion = await fold_stream(tiers.backend(config).stream(request))
        except Exception as exc:  # the next candidate may work
            errors.append(f"{name}/{config.model}: {type(exc).__name__}: {exc}")
            continue
        elapsed = time.perf_counter() - started
        usage = completion.usage
        if usage.input_tokens is None or usage.output_tokens is None:
            prompt = system + "".join(m.content for m in messages)
            usage = Usage(input_tokens=estimate_tokens(prompt), output_tokens=estimate_tokens(completion.text))
        cost = tiers.prices.cost(config, usage, duration_s=elapsed)
        info = tiers.info(name)
        return TierReply(text=completion.text, tier=name, provider=config.provider, model=config.model,
                         local=info.local, cost_usd=cost.usd, input_tokens=usage.input_tokens,
                         output_tokens=usage.output_tokens, latency_s=elapsed)
    raise AllTiersFailed(f"every model for tier {tier!r} failed: " + (" | ".join(errors) or "none configured"))
