"""The knowledge base's known pages as one crawl run sees them, held in memory.

A run needs, for every URL, the page store's record of it (validators for a conditional fetch,
the content hash that says whether the page changed) and, for every new content hash, whether a
live page already has it. Asking PostgreSQL for each was two or three queries per page; the
run now loads the knowledge base's pages once (without their links, read only for a page that
answers 304) and keeps the book up to date with its own saves and deletions.

Another crawl of the same knowledge base running at the same time is not seen; at worst that
costs an unconditional fetch or a re-publication of unchanged content (consumers are idempotent).
"""

from __future__ import annotations

from dataclasses import replace

from ragchat_scraper.store.crawl_store import KnownPage, SavedPage


class PageBook:
    """Known pages by page id, and live pages by content hash."""

    def __init__(self, pages: list[KnownPage]) -> None:
        self._pages: dict[str, KnownPage] = {}
        self._by_hash: dict[str, dict[str, None]] = {}
        for page in pages:
            self._put(page)

    def _put(self, page: KnownPage) -> None:
        old = self._pages.get(page.page_id)
        if old is not None and old.content_hash is not None:
            self._by_hash.get(old.content_hash, {}).pop(old.page_id, None)
        self._pages[page.page_id] = page
        if page.content_hash is not None and not page.deleted:
            self._by_hash.setdefault(page.content_hash, {})[page.page_id] = None

    def get(self, page_id: str) -> KnownPage | None:
        """The store's record of a page, if it has one."""
        return self._pages.get(page_id)

    def live_with_hash(self, content_hash: str) -> KnownPage | None:
        """A live page with this content (the first known), if any."""
        holders = self._by_hash.get(content_hash)
        return self._pages[next(iter(holders))] if holders else None

    def saved(self, page: SavedPage) -> None:
        """A page this run saved (new, changed or unchanged)."""
        self._put(
            KnownPage(
                page.page_id,
                page.url,
                page.etag,
                page.last_modified,
                page.content_hash,
                deleted=False,
                links=[],
            )
        )

    def deleted(self, page_id: str) -> None:
        """A page this run deleted (it disappeared)."""
        page = self._pages.get(page_id)
        if page is not None:
            self._put(replace(page, deleted=True))
