"""``GET /v1/page-bodies/{page_id}/{content_hash}``: bodies of pages too large for one message.

``page.parsed`` events carry this URL in ``body_ref``; the body is ``{"blocks": [...],
"images": [...]}`` as in the event. Content-addressed, so it never changes once written.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from ragchat_scraper.store.crawl_store import CrawlStore


def bodies_router(store: CrawlStore) -> APIRouter:
    """Routes serving stored page bodies."""
    router = APIRouter()

    @router.get("/v1/page-bodies/{page_id}/{content_hash}")
    async def page_body(page_id: str, content_hash: str) -> dict[str, Any]:
        body = await store.body(page_id, content_hash)
        if body is None:
            raise HTTPException(status_code=404, detail="no such page body")
        return body

    return router
