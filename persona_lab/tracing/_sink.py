"""A turn-log sink that turns every turn log into an OpenTelemetry span tree.

One span per chat turn or agent step; child spans for each model-call attempt (failed
fallback attempts included), each tool call and each compaction call. The turn log is the
source of truth: spans are built from it when the loop writes it, so a loop without this sink
pays nothing for tracing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, TracerProvider

from persona_lab.core import TurnLog
from persona_lab.loops import TurnLogSink
from persona_lab.tracing._attributes import (
    attempt_attributes,
    compaction_attributes,
    redact,
    tool_attributes,
    turn_attributes,
)

__all__ = ["OtelTurnLogSink"]

logger = logging.getLogger("persona_lab.tracing")

_NS = 1_000_000_000


def _start_ns(record: TurnLog) -> int:
    try:
        return int(datetime.fromisoformat(record.timestamp).timestamp() * _NS)
    except ValueError:
        return 0


class OtelTurnLogSink:
    """Writes each turn log to ``inner`` (if any), then emits its spans.

    Parameters
    ----------
    inner:
        Another sink that receives every record first (``JsonlTurnLogWriter``, …).
    tracer_provider:
        Where spans go; by default OpenTelemetry's global provider. Build one with
        :func:`tracer_provider` to choose the exporter (console, OTLP, in-memory).
    capture_content:
        Also record the user's text and tool arguments/results (off: content is often personal).
    secrets:
        Literal strings (keys) to redact from every attribute, on top of key-shaped strings.

    Span timing: the turn span starts at the turn log's ``timestamp`` and lasts ``latency_s``;
    each child lasts its own measured duration, laid out in the order the turn log records
    (compactions, attempts, tool calls after the first answered attempt).
    """

    def __init__(
        self,
        inner: TurnLogSink | None = None,
        *,
        tracer_provider: TracerProvider | None = None,
        capture_content: bool = False,
        secrets: Iterable[str] = (),
    ):
        from persona_lab import __version__

        self.inner = inner
        self.capture_content = capture_content
        self.tracer_provider = tracer_provider or trace.get_tracer_provider()
        self._tracer: Tracer = self.tracer_provider.get_tracer("persona_lab", __version__)
        self._secrets = tuple(s for s in secrets if s)
        self.emitted = 0
        self.failures = 0

    def __repr__(self) -> str:
        return f"OtelTurnLogSink(inner={self.inner!r}, emitted={self.emitted})"

    def write(self, record: TurnLog) -> None:
        if self.inner is not None:
            self.inner.write(record)
        try:
            self.emit(record)
        except Exception as exc:  # tracing must never break a turn
            self.failures += 1
            logger.warning("could not emit spans for turn %s: %s", record.turn_index, type(exc).__name__)

    def emit(self, record: TurnLog) -> None:
        """Emit the span tree of one turn log."""
        secrets = self._secrets
        start = _start_ns(record)
        end = start + int(max(record.latency_s, 0.0) * _NS)
        kind = "agent_step" if record.kind == "agent_step" else "turn"
        span = self._tracer.start_span(
            f"{kind} {record.persona_id}",
            kind=SpanKind.INTERNAL,
            attributes=turn_attributes(record, capture_content=self.capture_content, secrets=secrets),
            start_time=start,
        )
        context = trace.set_span_in_context(span)
        cursor = start
        for call in record.compactions:
            child = self._tracer.start_span(
                f"chat {call.model}",
                context=context,
                kind=SpanKind.CLIENT,
                attributes=compaction_attributes(call, secrets=secrets),
                start_time=cursor,
            )
            child.end(end_time=cursor)
        tools_placed = not record.tool_calls
        for attempt in record.attempts:
            stop = min(cursor + int(max(attempt.latency_s, 0.0) * _NS), end)
            child = self._tracer.start_span(
                f"chat {attempt.model}",
                context=context,
                kind=SpanKind.CLIENT,
                attributes=attempt_attributes(attempt, secrets=secrets),
                start_time=cursor,
            )
            if attempt.outcome == "failed":
                _fail(child, f"{attempt.error_type}: {attempt.error}", secrets)
            child.end(end_time=stop)
            cursor = stop
            if not tools_placed and attempt.outcome != "failed":
                cursor = self._tools(record, context, cursor, end)
                tools_placed = True
        if not tools_placed:
            self._tools(record, context, cursor, end)
        if record.error is not None:
            _fail(span, f"{record.error_type}: {record.error}", secrets)
        else:
            span.set_status(Status(StatusCode.OK))
        span.end(end_time=end)
        self.emitted += 1

    def _tools(self, record: TurnLog, context: Context, cursor: int, end: int) -> int:
        for call in record.tool_calls:
            stop = min(cursor + int(max(call.duration_s, 0.0) * _NS), end)
            child = self._tracer.start_span(
                f"execute_tool {call.name}",
                context=context,
                kind=SpanKind.INTERNAL,
                attributes=tool_attributes(call, capture_content=self.capture_content, secrets=self._secrets),
                start_time=cursor,
            )
            if call.is_error:
                _fail(child, call.result if self.capture_content else "the tool returned an error", self._secrets)
            child.end(end_time=stop)
            cursor = stop
        return cursor


def _fail(span: Span, description: str, secrets: Iterable[str]) -> None:
    span.set_status(Status(StatusCode.ERROR, redact(description, secrets)))
