"""The journey chat widget: the chat widget with the journey's progress line and collected fields."""

from __future__ import annotations

import html
from typing import Any, cast

from persona_lab.journeys._session import JourneySession
from persona_lab.journeys._state import JourneyState
from persona_lab.persona import Journey

__all__ = ["JourneyChatWidget", "render_journey_html"]

_DONE, _CURRENT, _PENDING = "#2e7d32", "#1565c0", "#9e9e9e"


def render_journey_html(journey: Journey | None, state: JourneyState | None) -> str:
    """The progress line (done / current / pending steps) and the collected fields, as HTML."""
    if journey is None or state is None:
        return '<div class="plab-journey" style="color:#757575">No journey yet: plain chat.</div>'
    pills = []
    for step in journey.steps:
        if step.name in state.completed_steps:
            status, colour, mark = "done", _DONE, "✓ "
        elif step.name == state.step and state.active:
            status, colour, mark = "current", _CURRENT, "▶ "
        else:
            status, colour, mark = "pending", _PENDING, ""
        weight = "bold" if status == "current" else "normal"
        pills.append(
            f'<span data-status="{status}" style="border:1px solid {colour};color:{colour};font-weight:{weight};'
            f'border-radius:10px;padding:1px 8px;margin-right:4px">{mark}{html.escape(step.name)}</span>'
        )
    headline = "completed" if state.status == "completed" else f"step: {html.escape(state.step)}"
    rows = []
    for step in journey.steps:
        for f in step.fields:
            value = state.fields.get(f.name)
            shown = html.escape(str(value)) if value is not None else '<span style="color:#9e9e9e">—</span>'
            rows.append(f"<tr><td><code>{html.escape(f.name)}</code></td><td>{shown}</td></tr>")
    table = f'<table style="margin-top:4px">{"".join(rows)}</table>' if rows else ""
    return (
        f'<div class="plab-journey"><b>{html.escape(journey.name)}</b> · {headline}'
        f'<div style="margin-top:4px">{"→".join(pills)}</div>{table}</div>'
    )


def _render(session: JourneySession) -> str:
    state = session.state
    journey = session.runner.journeys.get(state.journey) if state is not None else None
    return render_journey_html(journey, state)


class JourneyChatWidget:
    """``ChatWidget(session)`` under a progress line that follows the session's journey state.

    ``widget.view`` is the ipywidgets box to display; ``widget.chat`` the chat widget.
    """

    def __init__(self, session: JourneySession, **chat_options: Any):
        import ipywidgets as w

        from persona_lab.widgets import ChatWidget

        self.session = session
        self.progress = w.HTML(_render(session))
        self.chat = ChatWidget(cast(Any, session), **chat_options)  # the session behaves like the loop
        self.view = w.VBox([self.progress, self.chat])
        session.on_change(self.refresh)

    def refresh(self, session: JourneySession | None = None) -> None:
        self.progress.value = _render(self.session)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.view)  # type: ignore[no-untyped-call]
