"""Search the caller's knowledge bases directly (to debug relevance); editors and up."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from ragchat.v1 import retriever_pb2

from ragchat_gateway.api.deps import (
    COMMON_ERRORS,
    Context,
    CurrentPrincipal,
    PlainText,
    authorize,
    error_responses,
    not_found,
    readable_kb_ids,
)

router = APIRouter(prefix="/api/v1", tags=["search"], responses=COMMON_ERRORS)

MODES = {
    "hybrid": retriever_pb2.SEARCH_MODE_HYBRID,
    "bm25": retriever_pb2.SEARCH_MODE_BM25,
    "vector": retriever_pb2.SEARCH_MODE_VECTOR,
    "image": retriever_pb2.SEARCH_MODE_IMAGE,
}


class SearchQuery(BaseModel):
    """A query over some (default: all readable) knowledge bases."""

    model_config = ConfigDict(extra="forbid")

    query: PlainText = Field(min_length=1, max_length=2000, examples=["how do I reset my password"])
    kb_ids: list[uuid.UUID] | None = Field(default=None, max_length=100)
    mode: Literal["hybrid", "bm25", "vector", "image"] = "hybrid"
    k: Annotated[int, Field(ge=1, le=50)] = 10


class ImageOut(BaseModel):
    """An image of a hit."""

    src: str
    alt: str
    caption: str


class HitOut(BaseModel):
    """One matching chunk."""

    chunk_id: str
    page_id: str
    kb_id: str
    score: float
    url: str
    title: str
    heading_path: list[str]
    snippet: str = Field(description="HTML-escaped; matched words in <mark>")
    text: str
    images: list[ImageOut]


class SearchResult(BaseModel):
    """Hits, best first."""

    hits: list[HitOut]
    took_ms: float
    kb_ids: list[str] = Field(description="The knowledge bases searched")


def _hit(hit: retriever_pb2.SearchHit) -> HitOut:
    return HitOut(
        chunk_id=hit.chunk_id,
        page_id=hit.page_id,
        kb_id=hit.kb_id,
        score=hit.score,
        url=hit.url,
        title=hit.title,
        heading_path=list(hit.heading_path),
        snippet=hit.snippet,
        text=hit.text,
        images=[ImageOut(src=i.src, alt=i.alt, caption=i.caption) for i in hit.images],
    )


@router.post("/search", response_model=SearchResult, responses=error_responses(404, 409))
async def search(body: SearchQuery, context: Context, principal: CurrentPrincipal) -> SearchResult:
    """Search the requested knowledge bases the caller may read (all of them by default).

    A requested knowledge base the caller cannot read answers 404 (its existence is not told);
    every searched one must allow ``search.query`` (auth's rules: editors and up, read keys).
    """
    readable = await readable_kb_ids(context, principal)
    if body.kb_ids is None:
        kb_ids = readable
    else:
        kb_ids = sorted({str(k) for k in body.kb_ids})
        hidden = [k for k in kb_ids if k not in set(readable)]
        if hidden:
            raise not_found(f"knowledge base {hidden[0]}")
    if not kb_ids:
        # Nothing readable: nothing to reveal, and auth has no knowledge base to decide on.
        return SearchResult(hits=[], took_ms=0.0, kb_ids=[])
    await asyncio.gather(*(authorize(context, principal, "search.query", k) for k in kb_ids))
    reply = await context.retriever.Search(
        retriever_pb2.SearchRequest(
            query=body.query,
            tenant_id=principal.tenant_id,
            kb_ids=kb_ids,
            k=body.k,
            mode=MODES[body.mode],
        ),
        timeout=context.timeout_s,
    )
    return SearchResult(hits=[_hit(h) for h in reply.hits], took_ms=reply.took_ms, kb_ids=kb_ids)
