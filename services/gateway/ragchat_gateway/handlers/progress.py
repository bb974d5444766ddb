"""``crawl.progress`` -> Redis pub/sub, so every gateway replica can deliver every progress event.

All replicas share one consumer group (``<prefix>-events-relay``): Kafka hands each event to one
replica, which publishes it to the tenant's channel; every replica's event hub is subscribed to
the channels of its connected tenants. A unique group per replica would also work but would read
every event once per replica and publish it as many times.
"""

from __future__ import annotations

from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry
from ragchat_common.consumer import subscribe_reliably
from ragchat_common.events import CrawlProgress
from ragchat_common.runtime import ServiceRuntime
from ragchat_common.topics import CRAWL_PROGRESS, TopicSpec
from redis.asyncio import Redis

from ragchat_gateway.api.deps import GatewayContext
from ragchat_gateway.domain.event_relay import publish_progress


def relay_crawl_progress(
    broker: KafkaBroker,
    topic: TopicSpec,
    group_id: str,
    redis: Redis,
    registry: CollectorRegistry,
) -> None:
    """Subscribe ``group_id`` to ``topic`` and publish each progress event to its tenant channel.

    Publishing is idempotent for the listeners (a redelivered snapshot replaces itself), so
    at-least-once delivery from Kafka is fine.
    """

    async def relay(event: CrawlProgress) -> None:
        await publish_progress(redis, event)

    subscribe_reliably(broker, topic, group_id, CrawlProgress, relay, registry)


def wire_progress_relay(runtime: ServiceRuntime, context: GatewayContext) -> None:
    """Start the relay with the gateway and close this process's event hub at shutdown."""
    settings = context.settings
    relay_crawl_progress(
        context.broker,
        TopicSpec(settings.crawl_progress_topic, CRAWL_PROGRESS.partitions),
        f"{settings.consumer_group_prefix}-events-relay",
        context.redis,
        runtime.registry,
    )
    runtime.add_resource("event-hub", start=None, stop=context.event_hub.close)
