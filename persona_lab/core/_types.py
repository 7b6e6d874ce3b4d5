"""Type aliases shared by the records."""

from __future__ import annotations

__all__ = ["Feature"]

Feature = float | int | str | bool | None
"""One routing feature value, as a router reports it and a turn log stores it (JSON-safe)."""
