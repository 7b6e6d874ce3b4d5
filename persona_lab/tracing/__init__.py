"""OpenTelemetry traces from turn logs (the ``otel`` extra: ``pip install 'persona-lab[otel]'``).

Wrap a loop's writer in :class:`OtelTurnLogSink`; each turn log then also becomes a span tree
(turn or agent step → model-call attempts, tool calls, compactions) with the ``gen_ai.*``
attributes, tier, routing decision and cost. Tracing is off unless a loop is given this sink.

    provider = tracer_provider("console")          # or "otlp", or any SpanExporter
    loop = ConversationLoop(persona, tiers, router, writer=OtelTurnLogSink(writer, tracer_provider=provider))
"""

try:
    import opentelemetry.sdk.trace as _sdk_trace  # noqa: F401
except ImportError as _exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "persona_lab.tracing needs opentelemetry-api and opentelemetry-sdk: pip install 'persona-lab[otel]'"
    ) from _exc

from persona_lab.tracing._attributes import (
    AttributeValue,
    attempt_attributes,
    compaction_attributes,
    redact,
    tool_attributes,
    turn_attributes,
)
from persona_lab.tracing._setup import ExporterName, tracer_provider
from persona_lab.tracing._sink import OtelTurnLogSink

__all__ = [
    "AttributeValue",
    "ExporterName",
    "OtelTurnLogSink",
    "attempt_attributes",
    "compaction_attributes",
    "redact",
    "tool_attributes",
    "tracer_provider",
    "turn_attributes",
]
