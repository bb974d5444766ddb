"""OpenTelemetry tracing setup. Spans are always created (so log lines carry trace ids); they are
exported over OTLP only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set."""

from __future__ import annotations

from opentelemetry import propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from ragchat_common.settings import TelemetrySettings


def configure_tracing(service: str, settings: TelemetrySettings) -> TracerProvider:
    """Install a tracer provider for ``service`` and W3C trace-context propagation."""
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if settings.otlp_endpoint:
        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otlp_endpoint))
        )
    trace.set_tracer_provider(provider)
    propagate.set_global_textmap(
        CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])
    )
    return provider
