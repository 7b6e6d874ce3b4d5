"""Build a tracer provider with the exporter the user chose: console, OTLP, in-memory, or any exporter."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)

from persona_lab.core import ConfigError

__all__ = ["ExporterName", "tracer_provider"]

ExporterName = Literal["console", "otlp"]

_OTLP_HINT = (
    "the OTLP exporter is a separate package: pip install opentelemetry-exporter-otlp-proto-http "
    "(or pass any SpanExporter instance)"
)


def tracer_provider(
    exporter: ExporterName | SpanExporter = "console",
    *,
    endpoint: str | None = None,
    headers: Mapping[str, str] | None = None,
    service_name: str = "persona-lab",
    batch: bool | None = None,
) -> TracerProvider:
    """A new :class:`TracerProvider` (not installed globally) exporting to ``exporter``.

    ``"console"`` prints each span as JSON; ``"otlp"`` sends OTLP over HTTP to ``endpoint``
    (default: ``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``http://localhost:4318``) with ``headers``
    (where a backend's key goes; never recorded in spans). Any ``SpanExporter`` instance works
    too, e.g. the SDK's ``InMemorySpanExporter``. ``batch`` defaults to batching for OTLP and
    to exporting each span as it ends otherwise; call ``provider.shutdown()`` to flush.
    """
    chosen: SpanExporter
    if isinstance(exporter, SpanExporter):
        chosen = exporter
    elif exporter == "console":
        chosen = ConsoleSpanExporter()
    elif exporter == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError as exc:
            raise ConfigError(_OTLP_HINT) from exc
        chosen = OTLPSpanExporter(endpoint=endpoint, headers=dict(headers) if headers else None)
    else:
        raise ConfigError(f"unknown exporter {exporter!r}; expected 'console', 'otlp' or a SpanExporter instance")
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    use_batch = exporter == "otlp" if batch is None else batch
    provider.add_span_processor(BatchSpanProcessor(chosen) if use_batch else SimpleSpanProcessor(chosen))
    return provider
