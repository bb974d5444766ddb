"""Which crawls this replica runs: a few at a time, claimed from PostgreSQL with a lease.

The ``url.submitted`` handler only records a crawl (quickly, so its offset is committed at once:
a long crawl never holds a Kafka partition, and a redelivered message finds the crawl recorded
and does nothing). This scheduler claims queued crawls, and running crawls whose runner stopped
renewing its lease (a crashed replica), and runs them to the end.
"""

from __future__ import annotations

import asyncio
import contextlib

from ragchat_common.logs import get_logger

from ragchat_scraper.crawler.runner import CrawlTools, run_crawl
from ragchat_scraper.store.crawl_store import CrawlJob

log = get_logger(__name__)


class CrawlScheduler:
    """Claims and runs crawls in the background of the scraper process."""

    def __init__(self, tools: CrawlTools, slots: int, poll_s: float = 2.0) -> None:
        self.tools = tools
        self.slots = asyncio.Semaphore(slots)
        self.poll_s = poll_s
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        self._runs: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        """Look for work now (a crawl was just recorded)."""
        self._wake.set()

    async def start(self) -> None:
        """Start claiming crawls."""
        self._loop = asyncio.create_task(self._claim_forever())

    async def stop(self) -> None:
        """Stop claiming; interrupted crawls give their lease back and resume elsewhere."""
        tasks = [t for t in (self._loop, *self._runs) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _claim_forever(self) -> None:
        while True:
            await self.slots.acquire()
            job = None
            try:
                job = await self.tools.store.claim_crawl(
                    self.tools.settings.owner, self.tools.settings.lease_s
                )
            except Exception:
                log.exception("cannot claim crawls")
            if job is None:
                self.slots.release()
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_s)
                continue
            log.info("crawl claimed", crawl_id=str(job.id), mode=job.mode.value)
            task = asyncio.create_task(self._run(job))
            self._runs.add(task)
            task.add_done_callback(self._runs.discard)

    async def _run(self, job: CrawlJob) -> None:
        try:
            await run_crawl(job, self.tools)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("crawl stopped by an error; it resumes when its lease runs out")
        finally:
            self.slots.release()
