"""The FastStream Kafka broker every service uses.

Producers are idempotent with ``acks=all``; subscribers acknowledge (commit) only after their
handler returned, so a crash replays the message instead of losing it. On shutdown the broker waits
up to ``graceful_timeout_s`` for handlers in flight. Trace context travels in message headers and
message counts and latencies land in the service's Prometheus registry.
"""

from __future__ import annotations

import logging

from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.middlewares import AckPolicy
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

from ragchat_common.health import Probe
from ragchat_common.settings import KafkaSettings


def create_broker(
    service: str,
    settings: KafkaSettings,
    registry: CollectorRegistry,
    tracer_provider: TracerProvider | None = None,
) -> KafkaBroker:
    """A broker for ``service``; start it with ``await broker.start()`` after adding subscribers."""
    return KafkaBroker(
        settings.bootstrap_servers,
        client_id=service,
        acks="all",
        enable_idempotence=True,
        linger_ms=settings.linger_ms,
        allow_auto_create_topics=False,
        ack_policy=AckPolicy.ACK,
        graceful_timeout=settings.graceful_timeout_s,
        middlewares=[
            KafkaTelemetryMiddleware(tracer_provider=tracer_provider),
            KafkaPrometheusMiddleware(
                registry=registry, app_name=service, metrics_prefix="ragchat"
            ),
        ],
        logger=logging.getLogger(f"{service}.broker"),
    )


def kafka_probe(broker: KafkaBroker, timeout_s: float = 2.0) -> Probe:
    """Readiness probe: the broker's connection answers a metadata request."""

    async def probe() -> str | None:
        if not await broker.ping(timeout=timeout_s):
            raise ConnectionError("Kafka did not answer")
        return None

    return probe
