"""Subscribers that fill the analytics read model from ``chat.turn`` and ``crawl.progress``.

Both are at-least-once (offsets committed after the row is written); the store's writes are
upserts keyed by turn id and crawl id, so a redelivered event changes nothing.
"""

from __future__ import annotations

from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry
from ragchat_common.consumer import subscribe_reliably
from ragchat_common.events import ChatTurn, CrawlProgress
from ragchat_common.runtime import ServiceRuntime
from ragchat_common.topics import CHAT_TURN, CRAWL_PROGRESS, TopicSpec

from ragchat_gateway.api.deps import GatewayContext
from ragchat_gateway.domain.analytics import AnalyticsService, analytics_service


def subscribe_analytics(
    broker: KafkaBroker,
    analytics: AnalyticsService,
    registry: CollectorRegistry,
    group_prefix: str,
    turn_topic: TopicSpec = CHAT_TURN,
    progress_topic: TopicSpec = CRAWL_PROGRESS,
) -> None:
    """Consume turns as ``<prefix>-analytics`` and crawl progress as ``<prefix>-analytics-crawls``.

    Two groups: a consumer group that mixes subscriptions rebalances both topics whenever either
    changes, and the two streams have nothing to share.
    """
    subscribe_reliably(
        broker, turn_topic, f"{group_prefix}-analytics", ChatTurn, analytics.record_turn, registry
    )
    subscribe_reliably(
        broker,
        progress_topic,
        f"{group_prefix}-analytics-crawls",
        CrawlProgress,
        analytics.record_crawl_progress,
        registry,
    )


def wire_analytics(runtime: ServiceRuntime, context: GatewayContext) -> None:
    """Start-up wiring (``handlers.WIRINGS``): the analytics subscribers on the gateway's broker."""
    settings = context.settings
    subscribe_analytics(
        context.broker,
        analytics_service(context.sessions, context.retriever_peer, settings.analytics),
        runtime.registry,
        settings.consumer_group_prefix,
        TopicSpec(settings.chat_turn_topic, CHAT_TURN.partitions),
        TopicSpec(settings.crawl_progress_topic, CRAWL_PROGRESS.partitions),
    )
