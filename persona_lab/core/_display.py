"""How numbers and files are shown: the one USD formatter, plotly's USD axis format, file links.

Money never gets SI prefixes ("$0.00082", not "820μ"): :func:`format_usd` for text and tables,
:data:`USD_TICKFORMAT` / :data:`USD_HOVER` for plotly axes and hovers. :class:`FileLinks` shows
paths as clickable links in a notebook instead of ``PosixPath(...)`` reprs.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

__all__ = ["TIER_COLOURS", "USD_HOVER", "USD_TICKFORMAT", "FileLink", "FileLinks", "format_usd"]

TIER_COLOURS: Mapping[str, str] = MappingProxyType({"small": "#2e7d32", "mid": "#1565c0", "frontier": "#6a1b9a"})
"""Badge and chart colour of each tier."""

USD_TICKFORMAT = "$,.3~r"
"""d3 format for USD axes: dollars, three significant digits, decimal notation (no SI prefix)."""

USD_HOVER = "$,.3~r"
"""The same format for ``%{y:...}`` in plotly hover templates."""


def format_usd(value: float | None, *, missing: str = "unknown") -> str:
    """A cost as text: ``$1,234.50``, ``$0.0123``, ``$0.00082``, ``$0``; ``missing`` for None/NaN.

    At least a cent: two decimals; under a dollar: four; under a cent: two significant digits.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return missing
    value = float(value)
    if value == 0:
        return "$0"
    sign = "-" if value < 0 else ""
    size = abs(value)
    if size >= 1:
        return f"{sign}${size:,.2f}"
    if size >= 0.01:
        return f"{sign}${size:.4f}"
    decimals = -math.floor(math.log10(size)) + 1
    return f"{sign}${size:.{decimals}f}"


class FileLinks(dict[str, Path]):
    """``{name: path}`` that a notebook shows as clickable links (relative to its working directory)."""

    def _link(self, path: Path) -> str:
        try:
            shown = os.path.relpath(path)
        except ValueError:  # another drive (Windows)
            shown = str(path)
        href = Path(shown).as_posix()
        return f'<a href="{html.escape(href)}" target="_blank">{html.escape(shown)}</a>'

    def _repr_html_(self) -> str:
        items = "".join(f"<li>{html.escape(name)}: {self._link(path)}</li>" for name, path in self.items())
        return f"<ul>{items}</ul>"

    def link(self, name: str) -> FileLink:
        """One entry as a link object (``paths.link("report_html")`` in a notebook cell)."""
        return FileLink(self[name])

    @classmethod
    def of(cls, paths: Mapping[str, Path]) -> FileLinks:
        return cls({name: Path(path) for name, path in paths.items()})


class FileLink:
    """One path shown as a link in a notebook; ``str()`` and ``.path`` give the path."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __fspath__(self) -> str:
        return str(self.path)

    def __str__(self) -> str:
        return str(self.path)

    def __repr__(self) -> str:
        return f"FileLink({str(self.path)!r})"

    def _repr_html_(self) -> str:
        return FileLinks()._link(self.path)
