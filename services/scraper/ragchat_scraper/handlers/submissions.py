"""``url.submitted``: record the crawl durably, then let the scheduler run it.

Recording is quick and idempotent (the crawl id is the key), so the message's offset is committed
right away; the crawl itself runs from its PostgreSQL state, never inside the Kafka handler.
"""

from __future__ import annotations

from collections.abc import Callable

from ragchat_common.consumer import DependencyUnavailable
from ragchat_common.events import CrawlProgress, CrawlState, UrlSubmitted
from ragchat_common.logs import get_logger
from ragchat_common.ssrf import SsrfPolicy, SsrfRefused
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from ragchat_scraper.crawler.publisher import PagePublisher
from ragchat_scraper.domain.urls import canonicalize
from ragchat_scraper.store.crawl_store import CrawlStore

log = get_logger(__name__)


class SubmissionHandler:
    """Turns a submission into a recorded crawl."""

    def __init__(
        self,
        store: CrawlStore,
        publisher: PagePublisher,
        policy: SsrfPolicy,
        wake: Callable[[], None],
    ) -> None:
        self.store = store
        self.publisher = publisher
        self.policy = policy
        self.wake = wake

    async def __call__(self, event: UrlSubmitted) -> None:
        """Record ``event``'s crawl; a crawl with no usable URL is recorded as failed."""
        seeds: list[str] = []
        refused: dict[str, str] = {}
        for raw in event.urls:
            url = canonicalize(raw)
            if url is None:
                continue
            try:
                self.policy.check_url(url)
                seeds.append(url)
            except SsrfRefused as exc:
                refused[url] = str(exc)
        try:
            created = await self.store.record_submission(event, seeds, refused)
            if created and not seeds:
                reason = "no http(s) URL the SSRF guard admits among " + ", ".join(event.urls)
                await self.store.fail_crawl(event.crawl_id, reason[:2000])
                await self.publisher.progress(
                    CrawlProgress(
                        crawl_id=event.crawl_id,
                        kb_id=event.kb_id,
                        tenant_id=event.tenant_id,
                        state=CrawlState.FAILED,
                        skipped=len(refused),
                    )
                )
        except (OperationalError, InterfaceError, OSError) as exc:
            raise DependencyUnavailable(f"PostgreSQL: {exc}") from exc
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise DependencyUnavailable(f"PostgreSQL: {exc}") from exc
            raise
        log.info("crawl recorded", crawl_id=str(event.crawl_id), new=created, seeds=len(seeds))
        self.wake()
