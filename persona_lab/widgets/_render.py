"""Pure renderers: records and events in, HTML strings out (assigned to ``HTML.value``).

Nothing here imports ipywidgets, so the markup is testable as plain strings. Every piece of
user or model text goes through :func:`html.escape` or :func:`render_markdown`.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from types import MappingProxyType
from typing import Literal

from persona_lab.core import (
    TIER_COLOURS,
    AskingUser,
    BudgetExceededEvent,
    Compacted,
    ErrorOccurred,
    Finished,
    LoopEvent,
    MaxStepsReached,
    Reasoning,
    Retrying,
    RunCancelled,
    RunCompleted,
    Started,
    TextDelta,
    Thinking,
    TierChosen,
    ToolCalling,
    ToolResult,
    TurnDone,
    TurnLog,
    UserResponded,
    format_usd,
)
from persona_lab.widgets._markdown import render_markdown

__all__ = [
    "TIER_COLOURS",
    "WIDGET_CSS",
    "BubbleStatus",
    "format_usd",
    "render_assistant_html",
    "render_cost_total_html",
    "render_error_html",
    "render_event_html",
    "render_notice_html",
    "render_turn_html",
    "render_user_html",
    "tier_badge_html",
]

_UNKNOWN_COLOUR = "#757575"

BubbleStatus = Literal["streaming", "done", "stopped", "failed"]

WIDGET_CSS = """<style>
.plab-bubble{border-radius:10px;padding:6px 10px;margin:4px 0;max-width:90%;line-height:1.45;
  font-size:var(--jp-content-font-size1,14px);overflow-wrap:anywhere}
.plab-user{margin-left:auto;background:var(--jp-brand-color3,#bbdefb);color:var(--jp-ui-font-color0,#000)}
.plab-assistant{background:var(--jp-layout-color2,#eeeeee);color:var(--jp-content-font-color0,#000)}
.plab-bubble p{margin:0 0 .4em 0}.plab-bubble pre{background:var(--jp-layout-color3,#ddd);padding:4px;
  overflow-x:auto}
.plab-meta{font-size:11px;color:var(--jp-ui-font-color2,#666);margin-top:4px;display:flex;flex-wrap:wrap;
  gap:8px;align-items:center}
.plab-badge{color:#fff;border-radius:8px;padding:0 7px;font-size:11px;font-weight:600}
.plab-tag{color:#fff;border-radius:3px;padding:0 5px;font-size:10px;text-transform:uppercase;letter-spacing:.03em}
.plab-note{font-size:12px;color:var(--jp-ui-font-color2,#666);margin:2px 0}
.plab-error{color:#b71c1c;background:#ffebee;border-left:3px solid #b71c1c;padding:4px 8px;margin:4px 0;
  white-space:pre-wrap}
.plab-warn{color:#e65100;background:#fff3e0;border-left:3px solid #e65100;padding:4px 8px;margin:4px 0}
.plab-status{font-size:12px;color:var(--jp-ui-font-color1,#333)}
.plab-timeline{font-size:12px}
.plab-cut{color:#e65100;font-size:12px;border-left:3px solid #e65100;padding:2px 8px;margin:4px 0}
.plab-static{border:1px dashed var(--jp-border-color2,#ccc);padding:6px 10px;margin:4px 0}
.plab-event{padding:2px 0;border-bottom:1px dotted var(--jp-border-color2,#ddd)}
.plab-event code,.plab-args{font-family:var(--jp-code-font-family,monospace);font-size:11px}
.plab-args{white-space:pre-wrap;color:var(--jp-ui-font-color1,#333)}
.plab-question{font-weight:600;margin:4px 0}
.plab-table table{border-collapse:collapse;font-size:12px}.plab-table td,.plab-table th{padding:2px 6px;
  border-bottom:1px solid var(--jp-border-color2,#ddd);text-align:left}
</style>"""
"""The stylesheet every composite widget carries (classes prefixed ``plab-``)."""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def tier_badge_html(tier: str | None) -> str:
    """A coloured pill naming the tier (grey when the turn has none, e.g. it failed)."""
    colour = TIER_COLOURS.get(tier or "", _UNKNOWN_COLOUR)
    return f'<span class="plab-badge" style="background:{colour}">{_e(tier or "no tier")}</span>'


def _tokens(log: TurnLog) -> str:
    inp, out = log.gen_ai_usage_input_tokens, log.gen_ai_usage_output_tokens
    if inp is None and out is None:
        return "tokens unknown"
    approx = "~" if log.tokens_estimated else ""
    return f"{approx}{inp or 0} in · {approx}{out or 0} out"


def render_turn_html(turn_log: TurnLog) -> str:
    """One turn's card line: tier badge, model, tokens, cost, latency, fallback and error."""
    model = turn_log.gen_ai_response_model or turn_log.gen_ai_request_model or "no model"
    cost = turn_log.total_cost_usd if turn_log.total_cost_usd is not None else turn_log.cost_usd
    parts = [
        tier_badge_html(turn_log.tier),
        f'<span class="plab-model">{_e(model)}</span>',
        f'<span class="plab-tokens">{_e(_tokens(turn_log))}</span>',
        f'<span class="plab-cost">{_e(format_usd(cost))}</span>',
        f'<span class="plab-latency">{turn_log.latency_s:.2f} s</span>',
    ]
    if turn_log.ttft_s is not None:
        parts.append(f'<span class="plab-ttft">first text {turn_log.ttft_s:.2f} s</span>')
    if turn_log.fallback_to:
        parts.append(
            f'<span class="plab-fallback">fell back {_e(turn_log.fallback_from)} → {_e(turn_log.fallback_to)}'
            f": {_e(turn_log.fallback_reason or '')}</span>"
        )
    if turn_log.error:
        parts.append(f'<span class="plab-error-inline">{_e(turn_log.error_type)}: {_e(turn_log.error)}</span>')
    return f'<div class="plab-meta">{"".join(parts)}</div>'


def render_user_html(text: str) -> str:
    """A user bubble (plain text, escaped, line breaks kept)."""
    body = _e(text).replace("\n", "<br>")
    return f'<div style="display:flex"><div class="plab-bubble plab-user">{body}</div></div>'


def render_assistant_html(
    answer: str,
    *,
    tier: str | None = None,
    model: str | None = None,
    notes: Sequence[str] = (),
    turn_log: TurnLog | None = None,
    status: BubbleStatus = "streaming",
    error: str | None = None,
    detail: str | None = None,
    waiting_s: float | None = None,
    cut_at: int | None = None,
) -> str:
    """An assistant bubble: notes (tools, retries; already HTML), the Markdown answer, a meta line.

    While streaming, the meta line shows the chosen tier and model (and ``detail``, default the
    status, and ``waiting_s``, the wait so far, until the first token); once the turn is done it
    is :func:`render_turn_html` of the turn log. ``cut_at`` marks an answer cut by the token limit.
    """
    body = render_markdown(answer)
    if not body and status == "streaming":
        waited = f" {waiting_s:.1f} s" if waiting_s is not None else ""
        body = f'<span class="plab-note plab-waiting">waiting for the first token…{waited}</span>'
    if turn_log is not None:
        meta = render_turn_html(turn_log)
    else:
        meta_parts = [tier_badge_html(tier)] if tier else []
        if model:
            meta_parts.append(f'<span class="plab-model">{_e(model)}</span>')
        meta_parts.append(f'<span class="plab-state">{_e(detail or status)}</span>')
        meta = f'<div class="plab-meta">{"".join(meta_parts)}</div>'
    extra = ""
    if status == "stopped":
        extra = '<div class="plab-warn">Stopped: the turn was cancelled and not added to the conversation.</div>'
    if error:
        extra += f'<div class="plab-error">{_e(error)}</div>'
    if cut_at is not None:
        extra += (f'<div class="plab-cut" data-cut="length">Cut at the token limit ({cut_at} tokens): the answer is '
                  "incomplete. Raise the tier's max_output_tokens for longer answers.</div>")
    notes_html = "".join(notes)
    return (
        f'<div class="plab-bubble plab-assistant" data-status="{_e(status)}">{notes_html}'
        f'<div class="plab-answer">{body}</div>{extra}{meta}</div>'
    )


def render_cost_total_html(cost_usd: float | None, turns: int, tokens: int) -> str:
    """The running total line under a chat or run."""
    return (
        f'<div class="plab-status plab-total">Total cost <b>{_e(format_usd(cost_usd))}</b>'
        f" · {turns} turn{'s' if turns != 1 else ''} · {tokens} tokens</div>"
    )


def render_error_html(exc: BaseException, *, context: str = "") -> str:
    """An error box naming the exception class and its message."""
    prefix = f"{_e(context)}: " if context else ""
    return f'<div class="plab-error">{prefix}<b>{_e(type(exc).__name__)}</b>: {_e(exc)}</div>'


def render_notice_html(text: str, *, level: Literal["info", "warn", "error"] = "info") -> str:
    cls = {"info": "plab-note", "warn": "plab-warn", "error": "plab-error"}[level]
    return f'<div class="{cls}">{_e(text)}</div>'


def _pretty_arguments(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments), indent=1, ensure_ascii=False)
    except (ValueError, TypeError):
        return arguments


def _clip(text: str, limit: int = 600) -> str:
    return text if len(text) <= limit else text[:limit] + f"… ({len(text) - limit} more characters)"


_TAG_COLOURS = MappingProxyType({
    "started": "#455a64",
    "tier": "#455a64",
    "thinking": "#9e9e9e",
    "retry": "#ef6c00",
    "tool-call": "#00838f",
    "tool-result": "#00838f",
    "tool-error": "#b71c1c",
    "asking": "#ef6c00",
    "answered": "#ef6c00",
    "reasoning": "#7b1fa2",
    "compacted": "#5d4037",
    "completed": "#2e7d32",
    "cancelled": "#757575",
    "max-steps": "#e65100",
    "budget": "#e65100",
    "error": "#b71c1c",
    "finished": "#37474f",
})


def render_event_html(event: LoopEvent) -> str | None:
    """One timeline line for a run event; ``None`` for events the timeline does not list.

    Text deltas stream into the step panel instead; turn logs go to the cost chart. Each line
    carries ``data-kind`` and a small text tag (no emoji: not every browser has the font).
    """

    def line(kind: str, label: str, body: str) -> str:
        tag = f'<span class="plab-tag" style="background:{_TAG_COLOURS[kind]}">{label}</span>'
        return (
            f'<div class="plab-event plab-ev-{kind}" data-kind="{kind}">'
            f'<span class="plab-note">#{event.index}</span> {tag} {body}</div>'
        )

    match event:
        case TextDelta() | TurnDone():
            return None
        case Started(scope=scope, text=text):
            return line("started", scope, _e(_clip(text, 200)))
        case TierChosen(tier=tier, model=model, reason=reason):
            return line("tier", "route", f"{tier_badge_html(tier)} <code>{_e(model)}</code> {_e(reason)}")
        case Thinking(message=message):
            return line("thinking", "thinking", _e(message))
        case Retrying(from_tier=f, to_tier=t, to_model=m, reason=reason):
            return line("retry", "retry", f"{_e(f)} → {tier_badge_html(t)} <code>{_e(m)}</code>: {_e(reason)}")
        case ToolCalling(name=name, arguments=arguments):
            args = _e(_clip(_pretty_arguments(arguments)))
            return line("tool-call", "tool call", f"<b>{_e(name)}</b><div class='plab-args'>{args}</div>")
        case ToolResult(name=name, content=content, is_error=is_error, cached=cached):
            note = " (cached)" if cached else ""
            body = f"<b>{_e(name)}</b>{note}<div class='plab-args'>{_e(_clip(content))}</div>"
            if is_error:
                return line("tool-error", "tool error", body).replace(
                    'data-kind="tool-error"', 'data-kind="tool-result"'
                )
            return line("tool-result", "result", body)
        case AskingUser(question=question, options=options):
            opts = f" <span class='plab-note'>[{_e(' | '.join(options))}]</span>" if options else ""
            return line("asking", "question", f"<b>{_e(question)}</b>{opts}")
        case UserResponded(answer=answer):
            return line("answered", "answer", f"answered: <b>{_e(answer)}</b>")
        case Reasoning(text=text):
            return line("reasoning", "reasoning", _e(_clip(text)))
        case Compacted(summarized=n, tier=tier, cost_usd=cost):
            return line(
                "compacted", "compacted", f"{n} earlier turns on {tier_badge_html(tier)} ({_e(format_usd(cost))})"
            )
        case RunCompleted():
            return line("completed", "completed", "final answer given")
        case RunCancelled(reason=reason):
            return line("cancelled", "cancelled", _e(reason))
        case MaxStepsReached():
            return line("max-steps", "step limit", "the run used all its steps")
        case BudgetExceededEvent(reason=reason):
            return line("budget", "budget", _e(reason))
        case ErrorOccurred(error_type=error_type, message=message):
            return line("error", "error", f"<b>{_e(error_type)}</b>: {_e(message)}")
        case Finished(status=status, cost_usd=cost, tokens=tokens):
            return line("finished", "finished", f"<b>{_e(status)}</b> · {_e(format_usd(cost))} · {tokens} tokens")
    return None
