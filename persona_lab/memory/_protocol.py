"""The memory protocol: add items, search the top-k for a query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

__all__ = ["MemoryHit", "MemoryItem", "MemoryKind", "MemoryStore"]

MemoryKind = Literal["fact", "worldview", "episodic"]


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryItem:
    kind: MemoryKind
    text: str
    persona_id: str
    conversation_id: str | None = None
    created_at: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryHit:
    """A retrieved memory; higher ``score`` is more relevant."""

    item: MemoryItem
    score: float


@runtime_checkable
class MemoryStore(Protocol):
    """Where a persona's facts, worldview and episodes live; swap in a vector store freely."""

    def add(self, item: MemoryItem) -> None: ...

    def search(self, query: str, *, persona_id: str, k: int = 5) -> list[MemoryHit]: ...

    def close(self) -> None: ...
