"""bound_summary and cut: exact bounds, and an over-long summary keeps its newest facts."""

from __future__ import annotations

import random

import pytest

from persona_lab.loops._summary_text import ELLIPSIS, bound_summary, cut

FACTS = " ".join(f"Fact {n}: the user said thing number {n} about topic{n % 7}." for n in range(60))


def test_short_text_only_has_its_whitespace_folded() -> None:
    assert bound_summary("  a   b\n\nc ", 10) == "a b c"


def test_over_long_summary_keeps_the_newest_facts() -> None:
    bounded = bound_summary(FACTS, 200)
    assert len(bounded) <= 200
    assert bounded.endswith("Fact 59: the user said thing number 59 about topic3.")
    assert "Fact 0:" not in bounded
    assert bounded.startswith("Fact ")  # cut at a sentence start: no broken first fact


def test_a_mid_word_cut_stays_within_the_bound_and_is_marked() -> None:
    text = "alpha " * 40 + "omega"  # no sentence ends: the cut falls inside a word
    for limit in (10, 11, 12, 13, 50):
        bounded = bound_summary(text, limit)
        assert len(bounded) <= limit
        assert bounded.startswith(ELLIPSIS) and bounded.endswith("omega")
        assert bounded[1:].split(" ")[0] in ("alpha", "omega")  # starts at a whole word


@pytest.mark.parametrize("seed", range(5))
def test_the_bound_is_exact_for_every_length(seed: int) -> None:
    rng = random.Random(seed)
    words = ["a", "bb", "ccc", "fact.", "x" * 30, "end.", "Mid", "tail"]
    text = " ".join(rng.choice(words) for _ in range(120))
    folded = " ".join(text.split())
    for limit in range(0, len(folded) + 5):
        bounded = bound_summary(text, limit)
        assert len(bounded) <= limit, (limit, bounded)
        if len(folded) <= limit:
            assert bounded == folded
        elif limit >= 40:
            kept = bounded.removeprefix(ELLIPSIS)
            assert folded.endswith(kept) and len(kept) >= limit // 2 - 1  # the end, not too little of it


def test_cut_is_exact() -> None:
    assert cut("abcdef", 6) == "abcdef"
    assert cut("abcdef", 4) == "abc" + ELLIPSIS
    assert cut("abcdef", 0) == ""
    for limit in range(0, 12):
        assert len(cut("0123456789", limit)) <= limit
