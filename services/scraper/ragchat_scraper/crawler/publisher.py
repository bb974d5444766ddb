"""Publishing parsed pages and crawl progress to Kafka, within the broker's message size.

A page whose ``page.parsed`` message would exceed ``max_message_bytes`` is stored once in the
scraper's PostgreSQL (keyed by page id and content hash) and published without its blocks and
images, with ``body_ref`` pointing at ``GET {public_url}/v1/page-bodies/{page_id}/{hash}``,
which serves ``{"blocks": [...], "images": [...]}``. Splitting one page over several messages
would break the consumer's rule that one message carries a page's whole current content.
"""

from __future__ import annotations

from faststream.kafka import KafkaBroker
from ragchat_common.events import CrawlProgress, PageParsed
from ragchat_common.topics import CRAWL_PROGRESS, PAGE_PARSED

from ragchat_scraper.store.crawl_store import CrawlStore

JSON_CONTENT = {"content-type": "application/json"}


class PagePublisher:
    """Sends ``page.parsed`` (key: page id) and ``crawl.progress`` (key: crawl id)."""

    def __init__(
        self,
        broker: KafkaBroker,
        store: CrawlStore,
        public_url: str,
        max_message_bytes: int,
        page_topic: str = PAGE_PARSED.name,
        progress_topic: str = CRAWL_PROGRESS.name,
    ) -> None:
        self.broker = broker
        self.store = store
        self.public_url = public_url.rstrip("/")
        self.max_message_bytes = max_message_bytes
        self.page_topic = page_topic
        self.progress_topic = progress_topic

    async def page(self, event: PageParsed) -> PageParsed:
        """Publish a page (by reference when too large); returns what was sent.

        The JSON measured against the size limit is the JSON sent: a page is serialised once
        (the broker would serialise the model again), with the content type the broker gives
        JSON, so consumers read it the same way.
        """
        body = event.model_dump_json().encode()
        if len(body) > self.max_message_bytes:
            content = event.model_dump(mode="json", include={"blocks", "images"})
            await self.store.store_body(event.page_id, event.content_hash, content)
            event = event.model_copy(
                update={
                    "blocks": [],
                    "images": [],
                    "body_ref": (
                        f"{self.public_url}/v1/page-bodies/{event.page_id}/{event.content_hash}"
                    ),
                }
            )
            body = event.model_dump_json().encode()
        await self.broker.publish(
            body, self.page_topic, key=event.page_id.encode(), headers=JSON_CONTENT
        )
        return event

    async def progress(self, event: CrawlProgress) -> None:
        """Publish a crawl's counters."""
        await self.broker.publish(event, self.progress_topic, key=str(event.crawl_id).encode())
