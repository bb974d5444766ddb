"""Knowledge bases: create, list and get with stats, update, delete with their index data."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Annotated

import grpc
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from ragchat.v1 import auth_pb2, retriever_pb2
from ragchat_common.logs import get_logger
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from ragchat_gateway.api.deps import (
    COMMON_ERRORS,
    ApiError,
    Context,
    CurrentPrincipal,
    GatewayContext,
    PlainText,
    Principal,
    error_responses,
    readable_filter,
    record_audit,
    require,
    require_kb,
    tenant_knowledge_base,
    time_of_ms,
)
from ragchat_gateway.domain.crawl_jobs import cancel_running, last_crawls
from ragchat_gateway.store.tables import CrawlJob, KnowledgeBase

log = get_logger(__name__)

router = APIRouter(
    prefix="/api/v1/knowledge-bases", tags=["knowledge bases"], responses=COMMON_ERRORS
)


class KnowledgeBaseIn(BaseModel):
    """A new knowledge base."""

    model_config = ConfigDict(extra="forbid")

    name: PlainText = Field(min_length=1, max_length=200, examples=["Product docs"])
    description: PlainText = Field(default="", max_length=2000, examples=["docs.example.com"])


class KnowledgeBasePatch(BaseModel):
    """Fields to change; omitted ones stay."""

    model_config = ConfigDict(extra="forbid")

    name: PlainText | None = Field(default=None, min_length=1, max_length=200)
    description: PlainText | None = Field(default=None, max_length=2000)


class LastCrawl(BaseModel):
    """The newest crawl of a knowledge base."""

    id: str
    state: str
    fetched: int
    failed: int
    created_at: datetime
    updated_at: datetime


class KnowledgeBaseStats(BaseModel):
    """What is indexed; pages and chunks are null when the index could not be asked."""

    pages: int | None
    chunks: int | None
    last_indexed_at: datetime | None
    last_crawl: LastCrawl | None


class KnowledgeBaseOut(BaseModel):
    """A knowledge base with its stats."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "5f0c8a3e-2b1d-4c6e-9f7a-1b2c3d4e5f60",
                    "name": "Product docs",
                    "description": "docs.example.com",
                    "created_at": "2026-11-20T09:00:00Z",
                    "updated_at": "2026-11-20T09:00:00Z",
                    "stats": {
                        "pages": 412,
                        "chunks": 3178,
                        "last_indexed_at": "2026-11-21T10:02:11Z",
                        "last_crawl": {
                            "id": "0b7e2f6a-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
                            "state": "done",
                            "fetched": 412,
                            "failed": 3,
                            "created_at": "2026-11-21T10:00:00Z",
                            "updated_at": "2026-11-21T10:02:30Z",
                        },
                    },
                }
            ]
        }
    )

    id: str
    name: str
    description: str
    created_at: datetime
    updated_at: datetime
    stats: KnowledgeBaseStats


class KnowledgeBaseList(BaseModel):
    """Knowledge bases the caller may use."""

    items: list[KnowledgeBaseOut]


async def _index_stats(
    context: GatewayContext, kb_ids: list[uuid.UUID]
) -> dict[str, retriever_pb2.KnowledgeBaseStat] | None:
    """Pages and chunks per kb from the retriever; None when it is unreachable (logged)."""
    if not kb_ids:
        return {}
    try:
        reply = await context.retriever.KnowledgeBaseStats(
            retriever_pb2.KnowledgeBaseStatsRequest(kb_ids=[str(k) for k in kb_ids]),
            timeout=context.timeout_s,
        )
    except grpc.aio.AioRpcError as exc:
        log.warning("knowledge base stats unavailable", grpc_code=exc.code().name)
        return None
    return {stat.kb_id: stat for stat in reply.stats}


async def _with_stats(context: GatewayContext, kbs: list[KnowledgeBase]) -> list[KnowledgeBaseOut]:
    ids = [kb.id for kb in kbs]
    # The index and the crawl table are asked at the same time.
    index, crawls = await asyncio.gather(
        _index_stats(context, ids), last_crawls(context.sessions, ids)
    )
    out = []
    for kb in kbs:
        stat = index.get(str(kb.id)) if index is not None else None
        crawl = crawls.get(kb.id)
        out.append(
            KnowledgeBaseOut(
                id=str(kb.id),
                name=kb.name,
                description=kb.description,
                created_at=kb.created_at,
                updated_at=kb.updated_at,
                stats=KnowledgeBaseStats(
                    pages=(stat.pages if stat else 0) if index is not None else None,
                    chunks=(stat.chunks if stat else 0) if index is not None else None,
                    last_indexed_at=time_of_ms(stat.last_indexed_at_ms) if stat else None,
                    last_crawl=_last_crawl(crawl) if crawl else None,
                ),
            )
        )
    return out


def _last_crawl(job: CrawlJob) -> LastCrawl:
    return LastCrawl(
        id=str(job.id),
        state=job.state,
        fetched=job.fetched,
        failed=job.failed,
        created_at=job.created_at,
        updated_at=job.updated_at,
    )


@router.post("", response_model=KnowledgeBaseOut, status_code=201, responses=error_responses(409))
async def create_knowledge_base(
    body: KnowledgeBaseIn,
    context: Context,
    principal: Annotated[Principal, Depends(require("kb.create"))],
) -> KnowledgeBaseOut:
    """Create a knowledge base; its creator is granted it."""
    kb = KnowledgeBase(
        tenant_id=uuid.UUID(principal.tenant_id), name=body.name, description=body.description
    )
    try:
        async with context.sessions() as session, session.begin():
            session.add(kb)
    except IntegrityError as exc:
        raise ApiError(409, "conflict", f"a knowledge base named {body.name!r} exists") from exc
    await context.auth.KnowledgeBaseCreated(
        auth_pb2.KnowledgeBaseEvent(actor=principal, kb_id=str(kb.id)), timeout=context.timeout_s
    )
    async with context.sessions() as session:
        stored = await tenant_knowledge_base(session, principal, kb.id)
    return (await _with_stats(context, [stored]))[0]


@router.get("", response_model=KnowledgeBaseList)
async def list_knowledge_bases(
    context: Context,
    principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> KnowledgeBaseList:
    """Knowledge bases the caller may use (all of the tenant's for owners and admins)."""
    async with context.sessions() as session:
        rows = await session.execute(
            select(KnowledgeBase)
            .where(*readable_filter(principal))
            .order_by(col(KnowledgeBase.name))
            .limit(limit)
            .offset(offset)
        )
        kbs = list(rows.scalars())
    return KnowledgeBaseList(items=await _with_stats(context, kbs))


@router.get("/{kb_id}", response_model=KnowledgeBaseOut, responses=error_responses(404))
async def get_knowledge_base(
    kb_id: uuid.UUID,
    context: Context,
    principal: Annotated[Principal, Depends(require_kb("kb.read"))],
) -> KnowledgeBaseOut:
    """One knowledge base with its stats."""
    async with context.sessions() as session:
        kb = await tenant_knowledge_base(session, principal, kb_id)
    return (await _with_stats(context, [kb]))[0]


@router.patch("/{kb_id}", response_model=KnowledgeBaseOut, responses=error_responses(404, 409))
async def update_knowledge_base(
    kb_id: uuid.UUID,
    body: KnowledgeBasePatch,
    context: Context,
    principal: Annotated[Principal, Depends(require_kb("kb.write"))],
) -> KnowledgeBaseOut:
    """Rename a knowledge base or change its description."""
    try:
        async with context.sessions() as session, session.begin():
            kb = await tenant_knowledge_base(session, principal, kb_id)
            if body.name is not None:
                kb.name = body.name
            if body.description is not None:
                kb.description = body.description
    except IntegrityError as exc:
        raise ApiError(409, "conflict", f"a knowledge base named {body.name!r} exists") from exc
    async with context.sessions() as session:
        stored = await tenant_knowledge_base(session, principal, kb_id)
    return (await _with_stats(context, [stored]))[0]


@router.delete("/{kb_id}", status_code=204, response_class=Response, responses=error_responses(404))
async def delete_knowledge_base(
    kb_id: uuid.UUID,
    request: Request,
    context: Context,
    principal: Annotated[Principal, Depends(require_kb("kb.delete"))],
) -> Response:
    """Delete a knowledge base: its running crawls are cancelled and its index data removed.

    The index is emptied first: if the retriever cannot do it the knowledge base stays (503) and
    the deletion can be retried.
    """
    cancelled = await cancel_running(context.sessions, context.redis, kb_id)
    reply = await context.retriever.DeleteKnowledgeBase(
        retriever_pb2.DeleteKnowledgeBaseRequest(kb_id=str(kb_id)), timeout=context.timeout_s
    )
    async with context.sessions() as session, session.begin():
        kb = await tenant_knowledge_base(session, principal, kb_id)
        name = kb.name
        await session.delete(kb)
    await context.auth.KnowledgeBaseDeleted(
        auth_pb2.KnowledgeBaseEvent(actor=principal, kb_id=str(kb_id)), timeout=context.timeout_s
    )
    await record_audit(
        context,
        request,
        principal,
        "kb.delete",
        ("kb", str(kb_id)),
        {
            "name": name,
            "deleted_chunks": reply.deleted_chunks,
            "cancelled_crawls": [str(c) for c in cancelled],
        },
    )
    return Response(status_code=204)
