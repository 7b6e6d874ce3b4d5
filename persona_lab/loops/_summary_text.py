"""Text helpers both compactors use to keep summaries bounded."""

from __future__ import annotations

__all__ = ["bound_summary", "cut"]


def bound_summary(text: str, max_chars: int) -> str:
    """``text`` with whitespace folded, cut to ``max_chars`` at a sentence end where one is near."""
    text = " ".join(text.split())
    if len(text) <= max_chars:
        return text
    head = text[:max_chars]
    end = head.rfind(". ")
    return head[: end + 1] if end > max_chars // 2 else head.rstrip() + "…"


def cut(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[:limit] + "…"
