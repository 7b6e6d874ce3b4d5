"""Replay tiers: each tier is a recorded model that streams its recorded answer.

A :class:`ReplayBackend` implements the Backend protocol. It finds the item a request
continues from the user messages in the request (the harness may also say which item it is
running, to tell apart items whose prompts are identical) and streams that model's recorded
response for the current turn, or a clearly marked placeholder when the set records none.
Token counts come from the record when it has them; otherwise the loop estimates them from
the texts (and marks the turn log ``tokens_estimated``). Prices are the recorded models' real
prices: recorded in the set, or looked up in the offline ``genai-prices`` list.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from persona_lab.bench._format import BenchmarkItem, BenchmarkSet
from persona_lab.core import BenchmarkFormatError, ChatRequest, Chunk, ProviderError, Usage
from persona_lab.memory import MemoryHit, MemoryItem
from persona_lab.persona import Persona
from persona_lab.tiers import ModelConfig, Price, PriceBook, PriceSource, TierRegistry

__all__ = [
    "BENCHMARK_PERSONA",
    "NullMemoryStore",
    "ReplayBackend",
    "ReplayPriceBook",
    "ReplayTiers",
    "replay_tiers",
]

BENCHMARK_PERSONA = Persona.from_dict(
    {
        "id": "benchmark-assistant",
        "identity": {
            "name": "Benchmark assistant",
            "role": "a helpful assistant answering benchmark questions",
            "background": "Answers each question as well as it can; replayed from recorded model outputs.",
        },
    },
    source="persona_lab.bench",
)
"""The persona benchmark items run under (the recorded answers do not depend on it)."""

PLACEHOLDER = "[replay placeholder: the set records no response text for {model}]"


class NullMemoryStore:
    """A memory store that remembers nothing: benchmark items must not leak into each other.

    Also the cheap choice for replay speed (no SQLite write per turn).
    """

    def add(self, item: MemoryItem) -> None:
        return None

    def search(self, query: str, *, persona_id: str, k: int = 5) -> list[MemoryHit]:
        return []

    def close(self) -> None:
        return None

    def __repr__(self) -> str:
        return "NullMemoryStore()"


class _ReplayIndex:
    """Maps the user messages of a conversation so far to (item, turn); shared by the backends."""

    def __init__(self, benchmark: BenchmarkSet):
        self.by_prefix: dict[tuple[str, ...], list[tuple[BenchmarkItem, int]]] = {}
        self.by_text: dict[str, list[tuple[BenchmarkItem, int]]] = {}
        for item in benchmark.items:
            for k in range(len(item.turns)):
                self.by_prefix.setdefault(item.turns[: k + 1], []).append((item, k))
                self.by_text.setdefault(item.turns[k], []).append((item, k))
        self.hint: tuple[str, int] | None = None

    def find(self, request: ChatRequest) -> tuple[BenchmarkItem, int] | None:
        users = tuple(m.content for m in request.messages if m.role == "user")
        matches = self.by_prefix.get(users)
        if matches is None and users:  # older turns were dropped to fit the budget: match the last one
            matches = self.by_text.get(users[-1])
        if not matches:
            return None
        if len(matches) > 1 and self.hint is not None:
            for item, k in matches:
                if (item.id, k) == self.hint:
                    return item, k
        return matches[0]


class ReplayBackend:
    """Streams one recorded model's answers (a Backend; never calls a provider)."""

    def __init__(self, model: str, index: _ReplayIndex, *, chunk_chars: int | None = None):
        self.name = f"replay:{model}"
        self.model = model
        self._index = index
        self._chunk_chars = chunk_chars

    def __repr__(self) -> str:
        return f"ReplayBackend({self.model!r})"

    async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        found = self._index.find(request)
        if found is None:
            raise ProviderError(f"replay of {self.model}: no recorded item matches this conversation",
                                provider="replay", model=self.model, retryable=False)
        item, turn = found
        outcome = item.outcomes.get(self.model)
        if outcome is None:
            raise ProviderError(f"replay: item {item.id!r} records no outcome for {self.model}",
                                provider="replay", model=self.model, retryable=False)
        record = outcome[turn]
        text = record.response if record.response is not None else PLACEHOLDER.format(model=self.model)
        size = self._chunk_chars or len(text) or 1
        for start in range(0, len(text), size):
            yield Chunk(delta=text[start : start + size])
        yield Chunk(
            usage=Usage(input_tokens=record.input_tokens, output_tokens=record.output_tokens),
            finish_reason="stop",
            response_model=self.model,
            final=True,
        )

    async def aclose(self) -> None:
        return None


class ReplayPriceBook(PriceBook):
    """Prices the recorded models by name (recorded, genai-prices or override); others as usual."""

    def __init__(self, prices: Mapping[str, tuple[Price | None, PriceSource]]):
        super().__init__()
        self._replay = dict(prices)

    def price_of(self, config: ModelConfig) -> tuple[Price | None, PriceSource]:
        if config.price is None and config.usd_per_hour is None and config.model in self._replay:
            return self._replay[config.model]
        return super().price_of(config)


@dataclass(frozen=True, slots=True)
class ReplayTiers:
    """A replay tier set: the registry to run a loop on, and who plays which tier."""

    registry: TierRegistry
    models: Mapping[str, str]
    prices: Mapping[str, tuple[Price | None, PriceSource]]
    _index: _ReplayIndex

    def expect(self, item_id: str | None, turn: int = 0) -> None:
        """Tell the backends which item runs next (only needed when prompts repeat across items)."""
        self._index.hint = None if item_id is None else (item_id, turn)

    def describe(self) -> str:
        lines = []
        for tier, model in self.models.items():
            price, source = self.prices[model]
            cost = f"${price.input_per_mtok:g}/${price.output_per_mtok:g} per Mtok" if price else "price unknown"
            lines.append(f"{tier:<9} {model}  [replay, {cost}, {source}]")
        return "\n".join(lines)


def _resolve_price(name: str, recorded: Price | None, ref: str | None, override: Price | None,
                   book: PriceBook) -> tuple[Price | None, PriceSource]:
    if override is not None:
        return override, "override"
    if recorded is not None:
        return recorded, "recorded"
    for candidate in (ref, name):
        if candidate:
            price, source = book.price_of(ModelConfig(provider="replay", model=candidate))
            if price is not None:
                return price, source
    return None, "unknown"


def replay_tiers(
    benchmark: BenchmarkSet,
    *,
    prices: Mapping[str, Price] | None = None,
    chunk_chars: int | None = None,
    max_output_tokens: int = 1024,
) -> ReplayTiers:
    """The replay tier set of ``benchmark``: one tier per recorded model (weak → small, strong → frontier).

    ``prices`` overrides the price of a model by name (source ``override``).
    """
    prices = dict(prices or {})
    unknown = sorted(set(prices) - set(benchmark.models))
    if unknown:
        raise BenchmarkFormatError(
            f"{benchmark.suite}: price override for unknown model {unknown[0]!r} (the set records: "
            f"{', '.join(benchmark.models)})", source=benchmark.path, field="models")
    index = _ReplayIndex(benchmark)
    lookup = PriceBook()
    resolved: dict[str, tuple[Price | None, PriceSource]] = {}
    tiers: dict[str, ModelConfig] = {}
    models: dict[str, str] = {}
    for tier, model in benchmark.tier_models.items():
        spec = benchmark.models[model]
        resolved[model] = _resolve_price(model, spec.price, spec.price_ref, prices.get(model), lookup)
        tiers[tier] = ModelConfig(
            provider="replay",
            model=model,
            context_window=spec.context_window,
            max_output_tokens=min(max_output_tokens, spec.context_window // 2),
            supports_tools=False,
            backend=ReplayBackend(model, index, chunk_chars=chunk_chars),
        )
        models[tier] = model
    registry = TierRegistry(tiers, prices=ReplayPriceBook(resolved))
    return ReplayTiers(registry, models, resolved, index)
