"""The run viewer: start an agent run, watch its timeline, answer its questions, cancel it."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import ipywidgets as w

from persona_lab.core import (
    AskingUser,
    Finished,
    LoopEvent,
    Retrying,
    Started,
    TextDelta,
    TurnDone,
    TurnLog,
    UsageError,
    UserResponded,
    router_name,
)
from persona_lab.loops import AgenticLoop, CancelToken, EventCallback, Run, RunStatus, RunStep, UserResponder
from persona_lab.widgets._ask_user import AskUserPanel
from persona_lab.widgets._background import TaskSlot, resolve_threadsafe
from persona_lab.widgets._chat import no_tiers_message
from persona_lab.widgets._follow import LIVE_CSS, StaticCopy, StaticCopyDisplay, scroll_box
from persona_lab.widgets._markdown import render_markdown
from persona_lab.widgets._render import (
    WIDGET_CSS,
    format_usd,
    render_error_html,
    render_event_html,
    render_notice_html,
    tier_badge_html,
)
from persona_lab.widgets._stream import FLUSH_INTERVAL_S, ThrottledView
from persona_lab.widgets._turn_logs import TurnLogPanel

__all__ = ["RunWidget", "render_run_status_html", "render_step_html"]

_URGENT = (AskingUser, UserResponded, Finished)

RunStarter = Callable[[UserResponder, EventCallback, CancelToken], Awaitable[Run]]


def render_run_status_html(run: Run) -> str:
    """How a run ended, with its totals."""
    level = {
        RunStatus.COMPLETED: "#2e7d32",
        RunStatus.AWAITING_USER: "#ef6c00",
        RunStatus.CANCELLED: "#757575",
        RunStatus.ERROR: "#b71c1c",
    }.get(run.status, "#e65100")
    cost = format_usd(run.cost_usd if run.cost_known else None)
    reason = f" — {html.escape(run.reason)}" if run.reason and run.status is not RunStatus.COMPLETED else ""
    return (
        f'<div class="plab-status plab-run-status" data-status="{run.status.value}">'
        f'<b style="color:{level}">{run.status.value}</b>{reason} · {len(run.steps)} steps · {cost} · '
        f"{run.tokens} tokens · {run.duration_s:.2f} s</div>"
    )


def render_step_html(step: RunStep) -> str:
    """One step of a finished run, for runs shown after the fact (:meth:`RunWidget.load`)."""
    parts = [f'<span class="plab-note">#{step.index}</span> {tier_badge_html(step.tier)} <b>{step.action}</b>']
    if step.tool_calls:
        parts.append(" · tools: " + ", ".join(html.escape(call.name) for call in step.tool_calls))
    if step.question:
        parts.append(f" · asked: {html.escape(step.question)}")
    if step.answer:
        parts.append(f" · answered: <b>{html.escape(step.answer)}</b>")
    if step.text:
        parts.append(f' <span class="plab-note">{html.escape(step.text[:200])}</span>')
    return f'<div class="plab-event" data-kind="step">{"".join(parts)}</div>'


class RunWidget(StaticCopyDisplay, w.VBox):  # type: ignore[misc]
    """Run a task with an :class:`AgenticLoop` and watch it live.

    Run starts the run as a background task on the kernel's loop and returns at once;
    ``widget.task`` is that task (``run = await widget.task`` in a later cell) and
    ``widget.last_run`` the latest :class:`Run`. The timeline lists every event; the current
    step's text streams below it; the timeline sits in a bounded box that follows the newest
    event unless you scrolled up. When the agent asks, the ask-user panel shows the question,
    its options and a free-text box; the answer resumes the run. A run parked as
    ``awaiting_user`` (e.g. ``Run.from_json``) is shown with :meth:`load` and resumed by
    answering. Cancel stops the run through its :class:`CancelToken`. A static copy of the
    run (kept as a separate output, hidden while the widget is alive) stays in the saved
    notebook after the kernel is gone; :meth:`to_html` exports it.
    """

    def __init__(
        self,
        agentic_loop: AgenticLoop,
        task: str | None = None,
        *,
        panel: TurnLogPanel | None = None,
        show_turn_logs: bool = True,
        metadata: Mapping[str, Any] | None = None,
        flush_interval_s: float = FLUSH_INTERVAL_S,
        timeline_height: int = 360,
    ):
        self.agent = agentic_loop
        self.metadata = dict(metadata or {})
        self.last_run: Run | None = None
        self.turn_logs: list[TurnLog] = []
        self.events: list[LoopEvent] = []
        self._entries: list[str] = []
        self._step_text = ""
        self._step_label = ""
        self._waiting: asyncio.Future[str] | None = None
        self._token: CancelToken | None = None

        who = agentic_loop.persona.identity
        self.header = w.HTML(
            f'<div class="plab-status"><b>{html.escape(who.name)}</b> · agent · router '
            f"<code>{html.escape(router_name(agentic_loop.router))}</code> · up to {agentic_loop.max_steps} steps</div>"
        )
        self.task_box = w.Textarea(
            value=task or "", placeholder="Task for the agent", rows=3, layout=w.Layout(width="100%")
        )
        self.task_box.add_class("plab-run-task")
        self.run_button = w.Button(description="Run", button_style="primary", icon="play")
        self.run_button.add_class("plab-run-start")
        self.cancel_button = w.Button(description="Cancel", button_style="warning", icon="stop", disabled=True)
        self.cancel_button.add_class("plab-run-cancel")
        self.status = w.HTML()
        self.status.add_class("plab-run-state")
        self.timeline = w.HTML()
        self.timeline.add_class("plab-run-timeline")
        self.timeline_box = scroll_box((self.timeline,), max_height=f"{timeline_height}px",
                                       css_class="plab-run-timeline-box")
        self.step_view = w.HTML()
        self.step_view.add_class("plab-run-step")
        self.ask = AskUserPanel(self._take_answer)
        self.output = w.HTML()
        self.output.add_class("plab-run-output")
        self.error = w.HTML()
        self.error.add_class("plab-run-error")
        self.panel = panel if panel is not None else (TurnLogPanel() if show_turn_logs else None)
        self._timeline_view = ThrottledView(self.timeline, self._render_timeline, interval_s=flush_interval_s)
        self._step_stream = ThrottledView(self.step_view, self._render_step, interval_s=flush_interval_s)
        self._slot = TaskSlot(self._run_ended)
        self._static = StaticCopy(self.static_html)

        self.run_button.on_click(lambda _b: self.start())
        self.cancel_button.on_click(lambda _b: self.cancel())
        parts: list[w.Widget] = [
            w.HTML(WIDGET_CSS + LIVE_CSS),
            self.header,
            self.task_box,
            w.HBox((self.run_button, self.cancel_button)),
            self.status,
            self.timeline_box,
            self.step_view,
            self.ask,
            self.output,
            self.error,
        ]
        if self.panel is not None:
            parts.append(self.panel)
        super().__init__(children=tuple(parts))
        self.add_class("plab-run")
        problem = no_tiers_message(agentic_loop.tiers)
        if problem is not None:
            self.error.value = render_notice_html(problem, level="error")
            self.run_button.disabled = True

    # -- public ------------------------------------------------------------------------------

    @property
    def task(self) -> asyncio.Task[Any] | None:
        """The latest run's task; ``await`` it for the :class:`Run`."""
        return self._slot.task

    @property
    def running(self) -> bool:
        return self._slot.busy

    def start(self, task: str | None = None) -> bool:
        """Start a run of ``task`` (default: the task box) in the background; ``False`` if not started."""
        text = (self.task_box.value if task is None else task).strip()
        if not text:
            self.error.value = render_notice_html("Write a task for the agent first.", level="warn")
            return False
        problem = no_tiers_message(self.agent.tiers)
        if problem is not None:
            self.error.value = render_notice_html(problem, level="error")
            return False

        def starter(respond: UserResponder, on_event: EventCallback, cancel: CancelToken) -> Awaitable[Run]:
            return self.agent.run(text, user_respond=respond, on_event=on_event, cancel=cancel, metadata=self.metadata)

        return self._start(starter, fresh=True)

    def resume(self, run: Run, answer: str) -> bool:
        """Resume a run parked as ``awaiting_user`` with ``answer``, in the background."""

        def starter(respond: UserResponder, on_event: EventCallback, cancel: CancelToken) -> Awaitable[Run]:
            return self.agent.resume(run, answer, user_respond=respond, on_event=on_event, cancel=cancel)

        return self._start(starter, fresh=False)

    def answer(self, text: str) -> bool:
        """Answer the question on show, as the panel's buttons and text box do."""
        return self.ask.answer(text)

    def cancel(self, reason: str = "cancelled from the widget") -> bool:
        """Ask the running run to stop (it ends as ``cancelled``); ``False`` if none runs."""
        token = self._token
        if token is None or not self._slot.busy:
            return False
        token.cancel(reason)
        self.cancel_button.disabled = True
        return True

    def load(self, run: Run) -> None:
        """Show a finished or parked run; a parked one gets its question back, to resume it."""
        if self._slot.busy:
            raise UsageError("a run is in progress in this widget; cancel it or wait before loading another")
        self.last_run = run
        self.task_box.value = run.task
        self._entries = [render_step_html(step) for step in run.steps]
        self._timeline_view.flush()
        self.turn_logs.extend(run.turn_logs)
        if self.panel is not None:
            for log in run.turn_logs:
                self.panel.add(log)
        self._show_end(run)

    def static_html(self) -> str:
        """The run as HTML without widgets: task, status, timeline, output (the saved notebook's copy)."""
        task = html.escape(self.task_box.value)
        note = '<div class="plab-note">A saved run: the live viewer needs a running kernel.</div>'
        return (f'<div class="plab-static plab-run-static">{WIDGET_CSS}{self.header.value}'
                f'<div class="plab-question">Task: {task}</div>{self.status.value}{self._render_timeline()}'
                f"{self.output.value}{self.error.value}{note}</div>")

    def page_title(self) -> str:
        return f"Agent run: {self.agent.persona.identity.name}"

    # -- the run (on the loop) ----------------------------------------------------------------

    def _start(self, starter: RunStarter, *, fresh: bool) -> bool:
        try:
            return self._slot.start(lambda: self._drive(starter, fresh=fresh))
        except Exception as exc:
            self.error.value = render_error_html(exc, context="could not start the run")
            return False

    async def _drive(self, starter: RunStarter, *, fresh: bool) -> Run:
        self.run_button.disabled = True
        self.task_box.disabled = True
        self.cancel_button.disabled = False
        self.error.value = ""
        self.output.value = ""
        self.ask.hide()
        if fresh:
            self._entries = []
            self.events = []
        self._step_text = ""
        self.status.value = render_notice_html("running…")
        token = CancelToken()
        self._token = token
        try:
            run = await starter(self._user_respond, self._on_event, token)
        finally:
            self._timeline_view.close()
            self._step_stream.close()
        self.last_run = run
        if run.output and run.output.strip() == self._step_text.strip():
            self._step_text = ""  # the output box shows it; do not show it twice
            self._step_stream.flush()
        self._show_end(run)
        return run

    async def _user_respond(self, question: AskingUser) -> str:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiting = future
        self.ask.show(question)
        try:
            return await future
        finally:
            self._waiting = None
            self.ask.hide()

    def _take_answer(self, text: str) -> bool:
        """From the ask panel (any thread): complete the live question, or resume a parked run."""
        future, loop = self._waiting, self._slot.loop
        if future is not None and loop is not None:
            resolve_threadsafe(loop, future, text)
            return True
        parked = self.last_run
        if parked is not None and parked.status is RunStatus.AWAITING_USER and not self._slot.busy:
            return self.resume(parked, text)
        return False

    def _on_event(self, event: LoopEvent) -> None:
        self.events.append(event)
        entry = render_event_html(event)
        if entry is not None:
            self._entries.append(entry)
        match event:
            case TextDelta(text=text):
                self._step_text += text
                self._step_stream.touch()
            case Started(scope="step", text=label):
                self._step_label, self._step_text = label, ""
                self._step_stream.touch()
            case Retrying():
                self._step_text = ""
                self._step_stream.flush()
            case TurnDone(turn_log=log):
                self.turn_logs.append(log)
                if self.panel is not None:
                    self.panel.add(log)
                self.status.value = self._render_progress()
        if isinstance(event, _URGENT):
            self._timeline_view.flush()
        elif entry is not None:
            self._timeline_view.touch()

    def _run_ended(self, task: asyncio.Task[Any]) -> None:
        self.run_button.disabled = no_tiers_message(self.agent.tiers) is not None
        self.task_box.disabled = False
        self.cancel_button.disabled = True
        self._token = None
        if task.cancelled():
            self.ask.hide()
            self.status.value = render_notice_html("Stopped: the run's task was cancelled.", level="warn")
            return
        exc = task.exception()
        if exc is not None:
            self.ask.hide()
            self.error.value = render_error_html(exc, context="the run failed")

    # -- rendering ----------------------------------------------------------------------------

    def _render_timeline(self) -> str:
        return f'<div class="plab-timeline">{"".join(self._entries)}</div>' if self._entries else ""

    def _render_step(self) -> str:
        if not self._step_text:
            return ""
        label = html.escape(self._step_label)
        return (
            f'<div class="plab-bubble plab-assistant"><div class="plab-note">{label}</div>'
            f'<div class="plab-answer">{render_markdown(self._step_text)}</div></div>'
        )

    def _render_progress(self) -> str:
        logs = self.turn_logs
        known = [log.total_cost_usd for log in logs if log.total_cost_usd is not None]
        tokens = sum((log.gen_ai_usage_input_tokens or 0) + (log.gen_ai_usage_output_tokens or 0) for log in logs)
        return render_notice_html(f"running · {len(logs)} steps done · {format_usd(sum(known))} · {tokens} tokens")

    def _show_end(self, run: Run) -> None:
        self._render_end(run)
        self._static.refresh()

    def _render_end(self, run: Run) -> None:
        self.status.value = render_run_status_html(run)
        if run.output:
            body = render_markdown(run.output)
            self.output.value = f'<div class="plab-bubble plab-assistant plab-output">{body}</div>'
        if run.status is RunStatus.ERROR:
            self.error.value = render_notice_html(f"{run.error_type or 'Error'}: {run.reason}", level="error")
        elif run.status is RunStatus.CANCELLED:
            self.error.value = render_notice_html(f"Cancelled: {run.reason}", level="warn")
        elif run.status is RunStatus.AWAITING_USER and run.pending_question is not None:
            self.ask.show(run.pending_question)
