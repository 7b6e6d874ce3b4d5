"""An embedded memory store: SQLite FTS5 with BM25 ranking."""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path

from persona_lab._persona import Persona
from persona_lab.memory._protocol import MemoryHit, MemoryItem, MemoryKind

__all__ = ["SqliteMemoryStore", "seed_persona_memories"]

_WORD = re.compile(r"[^\W_]{3,}", re.UNICODE)
_STOPWORDS = frozenset(
    [
        "the",
        "and",
        "for",
        "are",
        "but",
        "not",
        "you",
        "your",
        "with",
        "this",
        "that",
        "have",
        "from",
        "they",
        "what",
        "when",
        "where",
        "which",
        "who",
        "will",
        "would",
        "there",
        "their",
        "about",
        "can",
        "could",
        "should",
        "how",
        "does",
        "did",
        "was",
        "were",
        "been",
        "has",
        "had",
        "its",
        "just",
        "into",
        "than",
        "then",
        "them",
        "these",
        "those",
        "our",
        "out",
        "also",
        "any",
        "all",
        "some",
        "such",
        "very",
        "more",
        "most",
    ]
)
_MAX_TERMS = 8


def fts_query(text: str) -> str:
    """An FTS5 query OR-ing the distinct content words of ``text`` (empty if there are none)."""
    terms: list[str] = []
    seen: set[str] = set()
    for word in _WORD.findall(text.lower()):
        if word in _STOPWORDS or word in seen:
            continue
        seen.add(word)
        terms.append(f'"{word}"')
        if len(terms) == _MAX_TERMS:
            break
    return " OR ".join(terms)


class SqliteMemoryStore:
    """Memories in one SQLite file (or ``:memory:``), searched with FTS5 BM25.

    Calls are synchronous and take microseconds, so the async loop calls them directly.
    """

    def __init__(self, path: str | Path = ":memory:"):
        self.path = str(path)
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS memories USING fts5("
            "text, kind UNINDEXED, persona_id UNINDEXED, conversation_id UNINDEXED, "
            "created_at UNINDEXED, tokenize='porter unicode61')"
        )

    def __repr__(self) -> str:
        return f"SqliteMemoryStore({self.path!r})"

    def add(self, item: MemoryItem) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO memories(text, kind, persona_id, conversation_id, created_at) VALUES (?, ?, ?, ?, ?)",
                (item.text, item.kind, item.persona_id, item.conversation_id, item.created_at or time.time()),
            )

    def search(self, query: str, *, persona_id: str, k: int = 5) -> list[MemoryHit]:
        match = fts_query(query)
        if not match or k <= 0:
            return []
        rows = self._db.execute(
            "SELECT text, kind, conversation_id, created_at, bm25(memories) AS score "
            "FROM memories WHERE memories MATCH ? AND persona_id = ? ORDER BY score LIMIT ?",
            (match, persona_id, k),
        ).fetchall()
        return [
            MemoryHit(MemoryItem(_kind(kind), text, persona_id, conv, float(created)), -float(score))
            for text, kind, conv, created, score in rows
        ]

    def count(self, *, persona_id: str | None = None) -> int:
        if persona_id is None:
            return int(self._db.execute("SELECT count(*) FROM memories").fetchone()[0])
        return int(self._db.execute("SELECT count(*) FROM memories WHERE persona_id = ?", (persona_id,)).fetchone()[0])

    def close(self) -> None:
        self._db.close()


def _kind(value: str) -> MemoryKind:
    if value in ("fact", "worldview", "episodic"):
        return value  # type: ignore[return-value]
    return "episodic"


def seed_persona_memories(store: SqliteMemoryStore | object, persona: Persona) -> int:
    """Add a persona's self facts, worldview claims and seed memories; returns how many."""
    from persona_lab.memory._protocol import MemoryStore

    assert isinstance(store, MemoryStore)
    items: list[MemoryItem] = [MemoryItem("fact", f, persona.id) for f in persona.self_facts]
    items += [
        MemoryItem("worldview", f"{c.claim} (domain: {c.domain}, confidence {c.confidence:.2f})", persona.id)
        for c in persona.worldview
    ]
    items += [MemoryItem("episodic", f"{m.when}: {m.text}" if m.when else m.text, persona.id) for m in persona.memories]
    for item in items:
        store.add(item)
    return len(items)
