"""Fetching the bodies of pages passed by reference from the scraper.

The URL is the scraper's internal service address from this service's configuration
(``EMBEDDER_SCRAPER_URL``), never one a user supplied: :func:`body_url` refuses any reference
that does not point there, so the SSRF guard that protects image fetches is not needed here (and
would refuse the scraper's private address).

A body the scraper does not have (404) is a data error: the page is retried and then
dead-lettered. The scraper being unreachable or failing (5xx: its database is away) is
:class:`DependencyUnavailable`: consumption pauses until it is back, and nothing is dead-lettered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx
from ragchat_common.consumer import DependencyUnavailable
from ragchat_common.events import PageParsed

from ragchat_embedder.domain.bodies import (
    InvalidPageBody,
    PageBody,
    body_url,
    by_reference,
    parse_body,
    with_body,
)


class PageBodyMissing(InvalidPageBody):
    """The scraper has no body for this page and content hash."""


class PageBodyReader:
    """Replaces pages passed by reference with the same pages carrying their body."""

    def __init__(self, scraper_url: str, timeout_s: float, concurrency: int = 4) -> None:
        self.scraper_url = scraper_url
        self.timeout_s = timeout_s
        self.concurrency = concurrency

    async def inline(self, pages: Sequence[PageParsed]) -> list[PageParsed]:
        """``pages`` in order, each page passed by reference replaced by its full version."""
        wanted = [page for page in pages if by_reference(page)]
        if not wanted:
            return list(pages)
        urls = [body_url(page, self.scraper_url) for page in wanted]
        gate = asyncio.Semaphore(self.concurrency)
        # Only pages over the broker's message limit come by reference, so a client is opened for
        # the batch that has one rather than held (and closed) over the process's life.
        async with httpx.AsyncClient(timeout=self.timeout_s, follow_redirects=False) as client:

            async def one(page: PageParsed, url: str) -> PageParsed:
                async with gate:
                    return with_body(page, await self._fetch(client, page, url))

            full = iter(await asyncio.gather(*map(one, wanted, urls)))
        return [next(full) if by_reference(page) else page for page in pages]

    async def _fetch(self, client: httpx.AsyncClient, page: PageParsed, url: str) -> PageBody:
        try:
            response = await client.get(url)
        except httpx.TransportError as exc:
            raise DependencyUnavailable(f"scraper at {self.scraper_url}: {exc!r}") from exc
        if response.status_code >= 500:
            raise DependencyUnavailable(
                f"scraper at {self.scraper_url} answered HTTP {response.status_code} for {url}"
            )
        if response.status_code == 404:
            raise PageBodyMissing(f"page {page.page_id}: the scraper has no body at {url}")
        if response.status_code != 200:
            raise InvalidPageBody(
                f"page {page.page_id}: the scraper answered HTTP {response.status_code} for {url}"
            )
        return parse_body(page, response.content)
