"""The chat widget: a persona conversation with streamed answers, tiers, costs and a Stop button."""

from __future__ import annotations

import asyncio
import html
import time
import warnings
from collections import deque
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
from persona_lab.widgets._follow import LIVE_CSS, StaticCopy, StaticCopyDisplay, scroll_box
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

__all__ = ["ChatWidget", "cut_by_token_limit"]


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
    started: float | None = None
    cut_at: int | None = None

    def render(self) -> str:
        waiting = None
        if self.started is not None and self.status == "streaming" and not self.answer:
            waiting = time.monotonic() - self.started
        return render_assistant_html(
            self.answer,
            tier=self.tier,
            model=self.model,
            notes=self.notes,
            turn_log=self.turn_log,
            status=self.status,
            error=self.error,
            detail=self.detail,
            waiting_s=waiting,
            cut_at=self.cut_at,
        )


def cut_by_token_limit(turn_log: TurnLog, tiers: Any) -> int | None:
    """The token limit an accepted answer hit (its output tokens reached the model's
    ``max_output_tokens``, i.e. the model stopped for length), else ``None``."""
    accepted = [a for a in turn_log.attempts if a.outcome == "accepted"]
    if not accepted or turn_log.tier is None:
        return None
    attempt = accepted[-1]
    produced = attempt.output_tokens
    if produced is None:
        return None
    try:
        candidates = tiers.candidates(turn_log.tier)
    except Exception:
        return None
    for _tier, model in candidates:
        if model.model == attempt.model and model.provider == attempt.provider:
            limit: int = model.max_output_tokens
            return limit if produced >= limit else None
    return None


def no_tiers_message(tiers: Any) -> str | None:
    """Why a widget cannot run anything, or ``None`` when at least one tier is configured."""
    if getattr(tiers, "configured", ()):
        return None
    return (
        "No model tier is configured, so nothing can answer. Set PERSONA_PROVIDER and PERSONA_MODEL "
        "(or PERSONA_SMALL_*, PERSONA_MID_*, PERSONA_FRONTIER_*), install persona-lab[local], or pass "
        "TierRegistry({...}) to the loop."
    )


class ChatWidget(StaticCopyDisplay, w.VBox):  # type: ignore[misc]
    """Chat with a persona in a notebook.

    Enter in the text box (or Send) starts the turn as a background task on the kernel's loop
    and returns at once; ``widget.task`` is that task, so a later cell can ``await`` it. Only
    Enter and Send send: leaving the box keeps the draft. The box stays enabled while a turn
    runs: a message sent then waits and starts when the running turn ends (``widget.pending``).
    Until the first token arrives the bubble shows how long it has waited; the answer then
    streams into it, flushed every ``flush_interval_s``. Each finished turn shows its tier,
    model, tokens, cost and latency (and a marker when the token limit cut it), and updates
    the cost chart and the turn-log table. Stop cancels the turn and drops waiting messages
    (nothing is added to the conversation). Errors show in the widget and stay on the task.

    The messages sit in a bounded box that follows the newest one unless you scrolled up. A
    static copy of the transcript is kept as a separate output (hidden while the widget is
    alive), so a saved notebook still shows it after the kernel is gone; :meth:`to_html`
    exports it.
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
        feed_height: int = 420,
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
        self.feed = scroll_box((self.messages,), max_height=f"{feed_height}px", css_class="plab-chat-feed")
        self.text = w.Text(
            placeholder="Message (Enter to send)",
            continuous_update=True,
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
        self.pending: deque[str] = deque()
        """Messages sent while a turn ran; each starts when the one before it ends."""
        self._slot = TaskSlot(self._turn_ended)
        self._static = StaticCopy(self.static_html)

        with warnings.catch_warnings():  # Enter only: a value observer would also fire when the box loses focus
            warnings.simplefilter("ignore", DeprecationWarning)
            self.text.on_submit(self._on_submit)
        self.send_button.on_click(self._on_send)
        self.stop_button.on_click(self._on_stop)

        controls = w.HBox((self.text, self.send_button, self.stop_button))
        parts: list[w.Widget] = [w.HTML(WIDGET_CSS + LIVE_CSS), self.header, self.feed, controls, self.status,
                                 self.total]
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
        """Start a turn with ``text`` in the background, or queue it behind the running turn.

        ``False`` if ``text`` is empty, no tier is configured or the turn could not start.
        """
        text = text.strip()
        if not text:
            return False
        problem = no_tiers_message(self.loop.tiers)
        if problem is not None:
            self.status.value = render_notice_html(problem, level="error")
            return False
        if self._slot.busy:
            self.pending.append(text)
            self._show_pending()
            return True
        try:
            return self._slot.start(lambda: self._run_turn(text))
        except Exception as exc:
            self.status.value = render_error_html(exc, context="could not start the turn")
            return False

    def stop(self) -> bool:
        """Cancel the turn in progress and drop waiting messages; ``False`` if no turn runs."""
        dropped = len(self.pending)
        self.pending.clear()
        stopped = self._slot.cancel()
        if dropped and not stopped:
            self._show_pending()
        return stopped

    def static_html(self) -> str:
        """The transcript as HTML without widgets (what the saved notebook and :meth:`to_html` show)."""
        bubbles = "".join(child.value for child in self.messages.children)
        note = ('<div class="plab-note">A saved transcript: the live chat needs a running kernel.</div>')
        return (f'<div class="plab-static plab-chat-static">{WIDGET_CSS}{self.header.value}'
                f'{bubbles}{self.total.value}{note}</div>')

    def page_title(self) -> str:
        return f"Chat with {self.loop.persona.identity.name}"

    # -- callbacks (may run on a kernel thread other than the loop's) -------------------------

    def _on_submit(self, _text: object) -> None:
        if self.send(self.text.value):
            self.text.value = ""

    def _on_send(self, _button: object) -> None:
        if self.send(self.text.value):
            self.text.value = ""

    def _on_stop(self, _button: object) -> None:
        self.stop()

    # -- the turn (runs on the loop) ----------------------------------------------------------

    async def _run_turn(self, text: str) -> TurnLog | None:
        self.stop_button.disabled = False
        self._show_pending()
        bubble = _Bubble(started=time.monotonic())
        bubble_html = w.HTML()
        bubble_html.add_class("plab-assistant-turn")
        view = ThrottledView(bubble_html, bubble.render, interval_s=self.flush_interval_s)
        self.view = view
        view.flush()
        user = w.HTML(render_user_html(text))
        user.add_class("plab-user-turn")
        self.messages.children = (*self.messages.children, user, bubble_html)
        ticker = asyncio.ensure_future(self._tick(bubble, view))
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
            ticker.cancel()
            view.close()
            self._update_total()
            self._static.refresh()
        return bubble.turn_log

    @staticmethod
    async def _tick(bubble: _Bubble, view: ThrottledView, interval_s: float = 0.2) -> None:
        """Refresh the elapsed time in the bubble until the first token (or anything else) arrives."""
        while bubble.status == "streaming" and not bubble.answer and not bubble.notes:
            await asyncio.sleep(interval_s)
            if bubble.status == "streaming" and not bubble.answer:
                view.touch()

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
                    bubble.cut_at = cut_by_token_limit(log, self.loop.tiers)
                self.turn_logs.append(log)
                if self.panel is not None:
                    self.panel.add(log)
                view.flush()
            case _:
                pass

    def _turn_ended(self, task: asyncio.Task[Any]) -> None:
        self.stop_button.disabled = True
        if task.cancelled():
            self.status.value = render_notice_html("Stopped.", level="warn")
            self.pending.clear()
            return
        exc = task.exception()
        if exc is not None:
            self.status.value = render_error_html(exc, context="the turn failed")
        if self.pending:
            text = self.pending.popleft()
            try:
                self._slot.start(lambda: self._run_turn(text))
            except Exception as start_error:
                self.status.value = render_error_html(start_error, context="could not start the next turn")

    def _show_pending(self) -> None:
        n = len(self.pending)
        if n:
            self.status.value = render_notice_html(
                f"{n} message{'s' if n != 1 else ''} waiting for the running turn: {self.pending[0][:60]}")
        elif "waiting for the running turn" in self.status.value or "Stopped" in self.status.value:
            self.status.value = ""

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
        self._static.refresh()
