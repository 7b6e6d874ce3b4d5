"""Text helpers both compactors use to keep summaries bounded."""

from __future__ import annotations

__all__ = ["ELLIPSIS", "bound_summary", "cut"]

ELLIPSIS = "…"


def bound_summary(text: str, max_chars: int) -> str:
    """``text`` with whitespace folded, at most ``max_chars`` characters, keeping its *end*.

    A running summary grows at its end, so the newest facts are last: an over-long one loses its
    oldest part. The kept part starts at a sentence start when one is near (else at a word start,
    marked with a leading ``…``); the result is never longer than ``max_chars``.
    """
    text = " ".join(text.split())
    if len(text) <= max_chars:
        return text
    if max_chars <= 0:
        return ""
    tail = text[len(text) - max_chars:]
    sentence = tail.find(". ")
    if 0 <= sentence < max_chars // 2:  # drop the broken first sentence
        return tail[sentence + 2:]
    tail = tail[1:]  # room for the ellipsis
    if text[len(text) - len(tail) - 1] != " ":  # the cut falls mid-word: start at the next word
        space = tail.find(" ")
        if 0 <= space < len(tail) // 2:
            tail = tail[space + 1:]
    return ELLIPSIS + tail


def cut(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, the last one an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)] + ELLIPSIS if limit > 0 else ""
