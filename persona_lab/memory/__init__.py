"""Memory: an embedded SQLite FTS5 store behind a small protocol."""

from persona_lab.memory._protocol import MemoryHit, MemoryItem, MemoryKind, MemoryStore
from persona_lab.memory._sqlite import SqliteMemoryStore, fts_query, seed_persona_memories

__all__ = [
    "MemoryHit",
    "MemoryItem",
    "MemoryKind",
    "MemoryStore",
    "SqliteMemoryStore",
    "fts_query",
    "seed_persona_memories",
]
