"""The chat widget: a persona conversation with streamed answers, tiers, costs and a Stop button."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as w

from persona_lab.core import (
    Compacted,
    Conversation,
    ErrorOccurred,
    LoopEvent,
    Retrying,
    TextDelta,
    TierChosen,
    ToolCalling,
    ToolResult,
    TurnDone,
    TurnLog,
    router_name,
)
from persona_lab.loops import ConversationLoop
from persona_lab.widgets._background import TaskSlot
from persona_lab.widgets._render import (
    WIDGET_CSS,
    BubbleStatus,
    format_usd,
    render_assistant_html,
    render_cost_total_html,
    render_error_html,
    render_event_html,
    render_notice_html,
    render_user_html,
)
from persona_lab.widgets._stream import FLUSH_INTERVAL_S, ThrottledView
from persona_lab.widgets._turn_logs import TurnLogPanel

__all__ = ["ChatWidget"]


@dataclass(slots=True)
class _Bubble:
    """What one assistant bubble shows while its turn streams (mutable, private to the widget)."""

    answer: str = ""
    tier: str | None = None
    model: str | None = None
    notes: list[str] = field(default_factory=list)
    turn_log: TurnLog | None = None
    status: BubbleStatus = "streaming"
    error: str | None = None
    detail: str | None = None

    def render(self) -> str:
        return render_assistant_html(
            self.answer,
            tier=self.tier,
            model=self.model,
            notes=self.notes,
            turn_log=self.turn_log,
            status=self.status,
            error=self.error,
            detail=self.detail,
        )


def no_tiers_message(tiers: Any) -> str | None:
    """Why a widget cannot run anything, or ``None`` when at least one tier is configured."""
    if getattr(tiers, "configured", ()):
        return None
    return (
        "No model tier is configured, so nothing can answer. Set PERSONA_PROVIDER and PERSONA_MODEL "
        "(or PERSONA_SMALL_*, PERSONA_MID_*, PERSONA_FRONTIER_*), install persona-lab[local], or pass "
        "TierRegistry({...}) to the loop."
    )


class ChatWidget(w.VBox):  # type: ignore[misc]
    """Chat with a persona in a notebook.

    Enter in the text box (or Send) starts the turn as a background task on the kernel's loop
    and returns at once; ``widget.task`` is that task, so a later cell can ``await`` it. The
    answer streams into one HTML bubble, flushed every ``flush_interval_s``; each finished
    turn shows its tier, model, tokens, cost and latency, and updates the cost chart and the
    turn-log table. Stop cancels the turn (nothing is added to the conversation). Errors show
    in the widget and stay on the task.

    The text box sends when its value is committed: on Enter, and also when it loses focus with
    new text in it.
    """

    def __init__(
        self,
        loop: ConversationLoop,
        conversation: Conversation | None = None,
        *,
        panel: TurnLogPanel | None = None,
        show_turn_logs: bool = True,
        metadata: Mapping[str, Any] | None = None,
        flush_interval_s: float = FLUSH_INTERVAL_S,
    ):
        self.loop = loop
        self.conversation = conversation if conversation is not None else loop.new_conversation()
        self.metadata = dict(metadata or {})
        self.flush_interval_s = flush_interval_s
        self.turn_logs: list[TurnLog] = []
        self.view: ThrottledView | None = None
        """The streaming view of the latest turn (its ``flushes`` count what reached the page)."""

        who = loop.persona.identity
        self.header = w.HTML(
            f'<div class="plab-status"><b>{html.escape(who.name)}</b> · {html.escape(who.role)}'
            f" · router <code>{html.escape(router_name(loop.router))}</code></div>"
        )
        self.messages = w.VBox()
        self.messages.add_class("plab-chat-messages")
        self.text = w.Text(
            placeholder="Message (Enter to send)",
            continuous_update=False,
            layout=w.Layout(flex="1 1 auto", width="auto"),
        )
        self.text.add_class("plab-chat-input")
        self.send_button = w.Button(description="Send", button_style="primary", icon="paper-plane")
        self.send_button.add_class("plab-chat-send")
        self.stop_button = w.Button(description="Stop", button_style="warning", icon="stop", disabled=True)
        self.stop_button.add_class("plab-chat-stop")
        self.status = w.HTML()
        self.status.add_class("plab-chat-status")
        self.total = w.HTML()
        self.total.add_class("plab-chat-total")
        self.panel = panel if panel is not None else (TurnLogPanel() if show_turn_logs else None)
        self._slot = TaskSlot(self._turn_ended)

        self.text.observe(self._on_text, names="value")
        self.send_button.on_click(self._on_send)
        self.stop_button.on_click(self._on_stop)

        controls = w.HBox((self.text, self.send_button, self.stop_button))
        parts: list[w.Widget] = [w.HTML(WIDGET_CSS), self.header, self.messages, controls, self.status, self.total]
        if self.panel is not None:
            parts.append(self.panel)
        super().__init__(children=tuple(parts))
        self.add_class("plab-chat")
        self._show_history()
        self._update_total()
        problem = no_tiers_message(loop.tiers)
        if problem is not None:
            self.status.value = render_notice_html(problem, level="error")
            self._set_input(enabled=False)
            self.stop_button.disabled = True

    # -- public ------------------------------------------------------------------------------

    @property
    def task(self) -> asyncio.Task[Any] | None:
        """The latest turn's task (``await widget.task`` in a later cell)."""
        return self._slot.task

    @property
    def running(self) -> bool:
        return self._slot.busy

    def send(self, text: str) -> bool:
        """Start a turn with ``text`` in the background; ``False`` if empty, busy or not configured."""
        text = text.strip()
        if not text:
            return False
        problem = no_tiers_message(self.loop.tiers)
        if problem is not None:
            self.status.value = render_notice_html(problem, level="error")
            return False
        try:
            return self._slot.start(lambda: self._run_turn(text))
        except Exception as exc:
            self.status.value = render_error_html(exc, context="could not start the turn")
            return False

    def stop(self) -> bool:
        """Cancel the turn in progress; ``False`` if none runs."""
        return self._slot.cancel()

    # -- callbacks (may run on a kernel thread other than the loop's) -------------------------

    def _on_text(self, change: Mapping[str, Any]) -> None:
        if change["new"]:
            self.send(change["new"])

    def _on_send(self, _button: object) -> None:
        self.send(self.text.value)

    def _on_stop(self, _button: object) -> None:
        self.stop()

    # -- the turn (runs on the loop) ----------------------------------------------------------

    async def _run_turn(self, text: str) -> TurnLog | None:
        self._set_input(enabled=False)
        self.stop_button.disabled = False
        self.status.value = ""
        self.text.value = ""
        bubble = _Bubble()
        bubble_html = w.HTML()
        bubble_html.add_class("plab-assistant-turn")
        view = ThrottledView(bubble_html, bubble.render, interval_s=self.flush_interval_s)
        self.view = view
        view.flush()
        user = w.HTML(render_user_html(text))
        user.add_class("plab-user-turn")
        self.messages.children = (*self.messages.children, user, bubble_html)
        try:
            async for event in self.loop.turn(self.conversation, text, metadata=self.metadata):
                self._apply(bubble, view, event)
        except asyncio.CancelledError:
            bubble.status = "stopped"
            raise
        except BaseException as exc:
            bubble.status = "failed"
            bubble.error = f"{type(exc).__name__}: {exc}"
            raise
        else:
            bubble.status = "done"
        finally:
            view.close()
            self._update_total()
        return bubble.turn_log

    def _apply(self, bubble: _Bubble, view: ThrottledView, event: LoopEvent) -> None:
        match event:
            case TextDelta(text=text):
                bubble.answer += text
                view.touch()
            case TierChosen(tier=tier, model=model):
                bubble.tier, bubble.model = tier, model
                view.touch()
            case Retrying():
                bubble.answer = ""
                bubble.tier, bubble.model = event.to_tier, event.to_model
                bubble.notes.append(render_event_html(event) or "")
                view.flush()
            case ToolCalling() | ToolResult() | Compacted():
                if isinstance(event, ToolCalling) and bubble.answer.strip():
                    bubble.notes.append(render_notice_html(bubble.answer))
                if not isinstance(event, Compacted):
                    bubble.answer = ""
                bubble.notes.append(render_event_html(event) or "")
                view.touch()
            case ErrorOccurred(error_type=error_type, message=message):
                bubble.error = f"{error_type}: {message}"
                view.touch()
            case TurnDone(turn_log=log, answer=answer):
                bubble.turn_log = log
                if log.ok:
                    bubble.answer = answer
                self.turn_logs.append(log)
                if self.panel is not None:
                    self.panel.add(log)
                view.flush()
            case _:
                pass

    def _turn_ended(self, task: asyncio.Task[Any]) -> None:
        self._set_input(enabled=True)
        self.stop_button.disabled = True
        if task.cancelled():
            self.status.value = render_notice_html("Stopped.", level="warn")
            return
        exc = task.exception()
        if exc is not None:
            self.status.value = render_error_html(exc, context="the turn failed")

    # -- display helpers ----------------------------------------------------------------------

    def _set_input(self, *, enabled: bool) -> None:
        self.text.disabled = not enabled
        self.send_button.disabled = not enabled

    def _update_total(self) -> None:
        tokens = sum(
            (log.gen_ai_usage_input_tokens or 0) + (log.gen_ai_usage_output_tokens or 0) for log in self.turn_logs
        )
        self.total.value = render_cost_total_html(self.conversation.cost_usd, self.conversation.turn_count, tokens)

    def _show_history(self) -> None:
        bubbles: list[w.Widget] = []
        for turn in self.conversation.turns:
            bubbles.append(w.HTML(render_user_html(turn.user_text)))
            detail = f"{format_usd(turn.cost_usd)} · {turn.tokens} tokens · earlier turn"
            bubble = _Bubble(answer=turn.answer, tier=turn.tier or None, status="done", detail=detail)
            bubbles.append(w.HTML(bubble.render()))
        self.messages.children = tuple(bubbles)
