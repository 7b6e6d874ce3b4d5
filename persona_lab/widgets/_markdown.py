"""Markdown → safe HTML for answers shown in widgets.

Raw HTML in a model's answer is escaped, never rendered, and ``javascript:``-style links are
neutralised: the HTML widget puts its value into the page as markup, so the answer must not be
able to inject any. mistune 3 (installed with JupyterLab through nbconvert) does the parsing;
without it a tiny renderer keeps paragraphs, fenced code, inline code and bold.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

__all__ = ["render_markdown"]


def _renderer() -> Callable[[str], str]:
    """mistune's renderer, built per call (about 30 µs: no module-level cache needed)."""
    try:
        import mistune
    except ImportError:
        return _tiny_markdown
    markdown = mistune.create_markdown(escape=True, plugins=["strikethrough", "table"])

    def render(text: str) -> str:
        return str(markdown(text))

    return render


def render_markdown(text: str) -> str:
    """``text`` (Markdown) as HTML with every raw tag escaped."""
    if not text:
        return ""
    return _renderer()(text)


_FENCE = re.compile(r"```[^\n]*\n(.*?)(?:```|\Z)", re.S)
_CODE = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"\*\*([^*\n]+)\*\*")


def _inline(escaped: str) -> str:
    escaped = _CODE.sub(r"<code>\1</code>", escaped)
    return _BOLD.sub(r"<strong>\1</strong>", escaped)


def _tiny_markdown(text: str) -> str:
    """Fallback: escape first, then paragraphs, fenced code, inline code and bold."""
    out: list[str] = []
    position = 0
    for match in _FENCE.finditer(text):
        out.extend(_paragraphs(text[position : match.start()]))
        out.append(f"<pre><code>{html.escape(match.group(1))}</code></pre>")
        position = match.end()
    out.extend(_paragraphs(text[position:]))
    return "\n".join(out)


def _paragraphs(text: str) -> list[str]:
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text)]
    return [f"<p>{_inline(html.escape(b)).replace(chr(10), '<br>')}</p>" for b in blocks if b]
