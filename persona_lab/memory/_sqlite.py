"""An embedded memory store: SQLite FTS5 with BM25 ranking."""

from __future__ import annotations

import hashlib
import re
import sqlite3
import time
from collections import deque
from pathlib import Path

from persona_lab.core import InvalidArgument
from persona_lab.memory._protocol import MemoryHit, MemoryItem, MemoryKind, MemoryStore
from persona_lab.persona import Persona

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

    Knowledge (facts, worldview, seed memories) is always searched. Episodes written back by
    the loop are searched over the most recent ``episode_window`` per persona, which keeps a
    search flat in cost however long a conversation runs (BM25 scores every matching row);
    older episodes move to an archive table, kept and readable with :meth:`archived_episodes`,
    and the rolling summary carries their gist. Calls are synchronous and take microseconds,
    so the async loop calls them directly.
    """

    def __init__(self, path: str | Path = ":memory:", *, episode_window: int = 64):
        if episode_window < 1:
            raise InvalidArgument(f"episode_window must be at least 1, got {episode_window}")
        self.path = str(path)
        self.episode_window = episode_window
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS memories USING fts5("
            "text, ptag, kind UNINDEXED, persona_id UNINDEXED, conversation_id UNINDEXED, "
            "created_at UNINDEXED, tokenize='porter unicode61')"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS episode_archive("
            "text TEXT, persona_id TEXT, conversation_id TEXT, created_at REAL)"
        )
        self._episode_rowids: dict[str, deque[int]] = {}
        self._trimmed = 0

    def __repr__(self) -> str:
        return f"SqliteMemoryStore({self.path!r}, episode_window={self.episode_window})"

    def _rowids(self, persona_id: str) -> deque[int]:
        if persona_id not in self._episode_rowids:
            rows = self._db.execute(
                "SELECT rowid FROM memories WHERE persona_id = ? AND kind = 'episodic' AND conversation_id IS NOT NULL "
                "ORDER BY rowid",
                (persona_id,),
            ).fetchall()
            self._episode_rowids[persona_id] = deque(r[0] for r in rows)
        return self._episode_rowids[persona_id]

    def add(self, item: MemoryItem) -> None:
        row = (
            item.text,
            _persona_tag(item.persona_id),
            item.kind,
            item.persona_id,
            item.conversation_id,
            item.created_at or time.time(),
        )
        with self._db:
            if item.kind != "episodic" or item.conversation_id is None:
                self._db.execute(_INSERT, row)
                return
            rowids = self._rowids(item.persona_id)
            cursor = self._db.execute(_INSERT, row)
            rowids.append(int(cursor.lastrowid or 0))
            # trim in batches of 16: fewer statements per turn, the window overshoots by < 16
            if len(rowids) >= self.episode_window + _TRIM_BATCH:
                cut = rowids[len(rowids) - self.episode_window - 1]
                while rowids and rowids[0] <= cut:
                    rowids.popleft()
                bounds = (item.persona_id, cut)
                self._db.execute(_ARCHIVE, bounds)
                self._db.execute(_TRIM, bounds)
                self._trimmed += _TRIM_BATCH
            if self._trimmed >= 4 * self.episode_window:
                # deletes leave tombstones that every search reads; merging them keeps search flat
                self._db.execute("INSERT INTO memories(memories) VALUES ('optimize')")
                self._trimmed = 0

    def search(self, query: str, *, persona_id: str, k: int = 5) -> list[MemoryHit]:
        match = fts_query(query)
        if not match or k <= 0:
            return []
        hits: list[MemoryHit] = []
        # the persona is matched through the index (an indexed tag), not by filtering rows
        scoped = f'ptag : "{_persona_tag(persona_id)}" AND text : ({match})'
        rows = self._db.execute(_SEARCH, (scoped, k)).fetchall()
        hits += [
            MemoryHit(
                item=MemoryItem(
                    kind=_kind(kind), text=text, persona_id=persona_id, conversation_id=conv, created_at=float(created)
                ),
                score=-float(score),
            )
            for text, kind, conv, created, score in rows
        ]
        return hits

    def archived_episodes(self, *, persona_id: str) -> list[MemoryItem]:
        """Episodes that left the search window, oldest first."""
        rows = self._db.execute(
            "SELECT text, conversation_id, created_at FROM episode_archive WHERE persona_id = ? ORDER BY rowid",
            (persona_id,),
        ).fetchall()
        return [
            MemoryItem(
                kind="episodic", text=text, persona_id=persona_id, conversation_id=conv, created_at=float(created)
            )
            for text, conv, created in rows
        ]

    def count(self, *, persona_id: str | None = None) -> int:
        """Searchable memories (knowledge plus the episode window)."""
        if persona_id is None:
            return int(self._db.execute("SELECT count(*) FROM memories").fetchone()[0])
        sql = "SELECT count(*) FROM memories WHERE persona_id = ?"
        return int(self._db.execute(sql, (persona_id,)).fetchone()[0])

    def close(self) -> None:
        self._db.close()


_INSERT = "INSERT INTO memories(text, ptag, kind, persona_id, conversation_id, created_at) VALUES (?, ?, ?, ?, ?, ?)"
_SEARCH = (
    "SELECT text, kind, conversation_id, created_at, bm25(memories, 1.0, 0.0) AS score "
    "FROM memories WHERE memories MATCH ? ORDER BY score LIMIT ?"
)


_TRIM_BATCH = 16
_EPISODES = "FROM memories WHERE persona_id = ? AND kind = 'episodic' AND conversation_id IS NOT NULL AND rowid <= ?"
_ARCHIVE = (
    f"INSERT INTO episode_archive SELECT text, persona_id, conversation_id, created_at {_EPISODES} ORDER BY rowid"
)
_TRIM = f"DELETE {_EPISODES}"


def _persona_tag(persona_id: str) -> str:
    return "p" + hashlib.sha1(persona_id.encode("utf-8")).hexdigest()[:16]


def _kind(value: str) -> MemoryKind:
    if value in ("fact", "worldview", "episodic"):
        return value  # type: ignore[return-value]
    return "episodic"


def seed_persona_memories(store: MemoryStore, persona: Persona) -> int:
    """Add a persona's self facts, worldview claims and seed memories; returns how many."""
    items: list[MemoryItem] = [MemoryItem(kind="fact", text=f, persona_id=persona.id) for f in persona.self_facts]
    items += [
        MemoryItem(
            kind="worldview",
            text=f"{c.claim} (domain: {c.domain}, confidence {c.confidence:.2f})",
            persona_id=persona.id,
        )
        for c in persona.worldview
    ]
    items += [
        MemoryItem(kind="episodic", text=f"{m.when}: {m.text}" if m.when else m.text, persona_id=persona.id)
        for m in persona.memories
    ]
    for item in items:
        store.add(item)
    return len(items)
