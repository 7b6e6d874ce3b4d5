from pathlib import Path

from persona_lab import Persona
from persona_lab.memory import MemoryItem, MemoryStore, SqliteMemoryStore, fts_query, seed_persona_memories


def test_bm25_ranks_the_most_relevant_memory_first() -> None:
    store = SqliteMemoryStore()
    store.add(MemoryItem(kind="fact", text="Deposits must be protected within 30 days.", persona_id="p"))
    store.add(
        MemoryItem(kind="fact", text="Black mould in the bathroom is a damp and mould repair issue.", persona_id="p")
    )
    store.add(MemoryItem(kind="fact", text="The tribunal hears rent disputes.", persona_id="p"))
    hits = store.search("my flat has mould and damp", persona_id="p", k=2)
    assert hits[0].item.text.startswith("Black mould")
    assert len(hits) == 1 or hits[0].score >= hits[1].score


def test_personas_do_not_see_each_others_memories() -> None:
    store = SqliteMemoryStore()
    store.add(MemoryItem(kind="fact", text="mould report", persona_id="a"))
    assert store.search("mould", persona_id="b") == []
    assert len(store.search("mould", persona_id="a")) == 1


def test_queries_are_sanitised_for_fts() -> None:
    assert fts_query('what about "quotes" AND (parens)? OR') == '"quotes" OR "parens"'
    assert fts_query("a ok !!") == ""
    store = SqliteMemoryStore()
    store.add(MemoryItem(kind="fact", text="x", persona_id="p"))
    assert store.search('"; DROP TABLE memories; --', persona_id="p") == []


def test_seeding_adds_facts_worldview_and_episodes(persona: Persona, tmp_path: Path) -> None:
    store = SqliteMemoryStore(tmp_path / "mem.sqlite")
    added = seed_persona_memories(store, persona)
    assert added == len(persona.self_facts) + len(persona.worldview) + len(persona.memories)
    assert store.count(persona_id=persona.id) == added
    kinds = {h.item.kind for h in store.search("repair landlord mould", persona_id=persona.id, k=10)}
    assert "worldview" in kinds
    store.close()
    reopened = SqliteMemoryStore(tmp_path / "mem.sqlite")
    assert reopened.count() == added
    assert isinstance(reopened, MemoryStore)


def test_episode_window_bounds_search_and_archives_the_rest() -> None:
    store = SqliteMemoryStore(episode_window=3)
    store.add(MemoryItem(kind="fact", text="mould is a repair issue", persona_id="p"))
    for i in range(40):
        store.add(MemoryItem(kind="episodic", text=f"episode {i} about mould", persona_id="p", conversation_id="c"))
    searchable = store.count(persona_id="p") - 1
    archived = [m.text for m in store.archived_episodes(persona_id="p")]
    assert 3 <= searchable < 3 + 16  # trimmed in batches
    assert searchable + len(archived) == 40  # nothing lost
    assert archived[:2] == ["episode 0 about mould", "episode 1 about mould"]
    texts = [h.item.text for h in store.search("mould", persona_id="p", k=50)]
    assert "mould is a repair issue" in texts and "episode 39 about mould" in texts
    assert "episode 0 about mould" not in texts
