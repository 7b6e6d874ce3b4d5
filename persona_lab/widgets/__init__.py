"""Notebook widgets: streaming chat, agent-run viewer with ask-user prompts, turn-log views.

Widgets start turns and runs as background tasks on the kernel's event loop and return at
once (``widget.task`` keeps the handle). Importing this subpackage imports ipywidgets; the
``persona-lab[widgets]`` extra installs it with plotly and anywidget.
"""

try:
    import ipywidgets as _ipywidgets  # noqa: F401
except ImportError as _exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "persona_lab.widgets needs ipywidgets (and plotly, anywidget for the cost chart): "
        "pip install 'persona-lab[widgets]'"
    ) from _exc

from persona_lab.widgets._ask_user import AskUserPanel
from persona_lab.widgets._chat import ChatWidget
from persona_lab.widgets._markdown import render_markdown
from persona_lab.widgets._render import (
    TIER_COLOURS,
    format_usd,
    render_assistant_html,
    render_event_html,
    render_turn_html,
    render_user_html,
    tier_badge_html,
)
from persona_lab.widgets._run_view import RunWidget, render_run_status_html, render_step_html
from persona_lab.widgets._stream import ThrottledView
from persona_lab.widgets._turn_logs import (
    CostChart,
    CostSeries,
    TurnLogPanel,
    TurnLogTable,
    cost_series,
    render_turn_table_html,
)

__all__ = [
    "TIER_COLOURS",
    "AskUserPanel",
    "ChatWidget",
    "CostChart",
    "CostSeries",
    "RunWidget",
    "ThrottledView",
    "TurnLogPanel",
    "TurnLogTable",
    "cost_series",
    "format_usd",
    "render_assistant_html",
    "render_event_html",
    "render_markdown",
    "render_run_status_html",
    "render_step_html",
    "render_turn_html",
    "render_turn_table_html",
    "render_user_html",
    "tier_badge_html",
]
