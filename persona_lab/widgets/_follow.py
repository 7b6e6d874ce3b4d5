"""Scroll boxes that follow the newest entry unless the user scrolled up, and static copies of widgets.

:func:`scroll_box` wraps children in a bounded, scrollable box. A tiny ``anywidget`` inside it
(no data, a few lines of JavaScript) scrolls the box to the end whenever its content changes,
as long as the user has not scrolled up; scrolling back to the end resumes following.

:class:`StaticCopy` keeps a ``text/html`` rendering of a widget as a separate output next to it,
updated after each turn or run: while the widget is alive its stylesheet hides the copy; once
the kernel is gone the saved notebook still shows the transcript or timeline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import ipywidgets as w

from persona_lab.core import FileLink

__all__ = ["FOLLOW_ESM", "LIVE_CSS", "StaticCopy", "html_page", "scroll_box"]

FOLLOW_ESM = """
function render({ el }) {
  el.style.display = "none";
  let tries = 0;
  const attach = () => {
    const box = el.closest(".plab-scroll");
    if (!box) { if (tries++ < 600) { requestAnimationFrame(attach); } return; }
    let follow = true;
    const atEnd = () => box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    const toEnd = () => { box.scrollTop = box.scrollHeight; };
    box.dataset.follow = "1";
    box.addEventListener("scroll", () => { follow = atEnd(); box.dataset.follow = follow ? "1" : "0"; });
    new MutationObserver(() => { if (follow) { toEnd(); } })
      .observe(box, { childList: true, subtree: true, characterData: true });
    toEnd();
  };
  attach();
}
export default { render };
"""
"""The follower's JavaScript: pinned to the end until the user scrolls up, pinned again at the end."""

LIVE_CSS = "<style>.plab-static{display:none}</style>"
"""Carried by live widgets only: hides the static copies while the widgets themselves render."""


def _follower() -> w.Widget | None:
    try:
        import anywidget
    except ImportError:  # pragma: no cover - anywidget comes with the widgets extra
        return None

    class ScrollFollower(anywidget.AnyWidget):  # type: ignore[misc]
        _esm = FOLLOW_ESM

    follower: w.Widget = ScrollFollower()
    return follower


def scroll_box(children: Sequence[w.Widget], *, max_height: str, css_class: str) -> w.Box:
    """A bounded box that scrolls, following its newest content unless the user scrolled up."""
    follower = _follower()
    parts = (*children, follower) if follower is not None else tuple(children)
    box = w.Box(parts, layout=w.Layout(max_height=max_height, overflow="hidden auto", display="block",
                                       width="100%"))
    box.add_class("plab-scroll")
    box.add_class(css_class)
    return box


class StaticCopy:
    """A ``text/html`` output showing ``render()``, refreshed with :meth:`refresh` (needs IPython)."""

    def __init__(self, render: Callable[[], str]):
        self.render = render
        self._handle: Any = None

    def display(self) -> None:
        from IPython.display import HTML, display

        self._handle = display(HTML(self.render()), display_id=True)  # type: ignore[no-untyped-call]

    def refresh(self) -> None:
        if self._handle is None:
            return
        from IPython.display import HTML

        try:
            self._handle.update(HTML(self.render()))  # type: ignore[no-untyped-call]
        except Exception:  # a copy that cannot refresh must never break a turn
            self._handle = None


class StaticCopyDisplay:
    """Mixin (before the ipywidgets base) for widgets that keep a static copy of themselves.

    The class provides ``static_html()`` and ``page_title()`` and holds ``_static`` (a
    :class:`StaticCopy`); this adds ``to_html(path)``, the ``text/html`` entry of the widget's
    display data, and showing the static copy under the live widget.
    """

    _static: StaticCopy

    def static_html(self) -> str:
        raise NotImplementedError

    def page_title(self) -> str:
        raise NotImplementedError

    def to_html(self, path: str | Path) -> FileLink:
        """Write the static copy as a standalone HTML page (offline, no scripts); returns a link to it."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html_page(self.page_title(), self.static_html()), encoding="utf-8")
        return FileLink(path)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        bundle: dict[str, Any] | None = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]
        if bundle is not None:
            bundle["text/html"] = self.static_html()
        return bundle

    def _ipython_display_(self, **kwargs: Any) -> None:
        from IPython.display import display

        display(self._repr_mimebundle_(), raw=True)  # type: ignore[no-untyped-call]
        self._static.display()


def html_page(title: str, body: str) -> str:
    """A standalone page around a widget's static rendering (works offline: no scripts, no links)."""
    import html

    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head>"
        "<body style='font-family:system-ui,sans-serif;max-width:900px;margin:2em auto'>"
        f"{body}</body></html>"
    )
