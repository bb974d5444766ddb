"""Stores ``crawl.progress`` in the crawl_jobs table, so ``GET /crawls/{id}`` shows live counts."""

from __future__ import annotations

from ragchat_common.consumer import subscribe_reliably
from ragchat_common.events import CrawlProgress
from ragchat_common.runtime import ServiceRuntime
from ragchat_common.topics import CRAWL_PROGRESS, TopicSpec

from ragchat_gateway.api.deps import GatewayContext
from ragchat_gateway.domain.crawl_jobs import record_progress


def wire_crawl_jobs(runtime: ServiceRuntime, context: GatewayContext) -> None:
    """Subscribe the crawl-progress store to ``crawl.progress`` (one group for all replicas)."""

    async def store(progress: CrawlProgress) -> None:
        await record_progress(context.sessions, progress)

    subscribe_reliably(
        context.broker,
        TopicSpec(context.settings.crawl_progress_topic, CRAWL_PROGRESS.partitions),
        f"{context.settings.consumer_group_prefix}-crawl-jobs",
        CrawlProgress,
        store,
        runtime.registry,
    )
