"""API keys of the organisation (admin): create (the secret is shown once), list, revoke.

Server keys are for scripts (scopes chat, ingest, read); widget keys are public, chat-only and
usable only from the browser origins they list.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from ragchat.v1 import auth_pb2
from sqlmodel import col, select

from ragchat_gateway.api.deps import (
    COMMON_ERRORS,
    ApiError,
    Context,
    PlainText,
    Principal,
    client_info,
    error_responses,
    require,
    time_of_ms,
)
from ragchat_gateway.store.tables import KnowledgeBase

router = APIRouter(prefix="/api/v1/api-keys", tags=["api keys"], responses=COMMON_ERRORS)

KeyAdmin = Annotated[Principal, Depends(require("apikeys.manage"))]


class ApiKeyRequest(BaseModel):
    """A new key: what it may do, on which knowledge bases, from which origins."""

    model_config = ConfigDict(extra="forbid")

    name: PlainText = Field(min_length=1, max_length=200, examples=["docs widget"])
    kind: Literal["server", "widget"] | None = Field(
        default=None,
        description="Defaults to widget when allowed_origins are given, else server",
    )
    scopes: list[Literal["chat", "ingest", "read"]] = Field(
        min_length=1, max_length=3, examples=[["chat"]]
    )
    kb_ids: list[uuid.UUID] = Field(min_length=1, max_length=1000)
    allowed_origins: list[PlainText] = Field(
        default_factory=list, max_length=50, examples=[["https://docs.example.com"]]
    )
    expires_in_days: int | None = Field(
        default=None,
        ge=1,
        le=3650,
        description="Not supported yet: auth keeps keys until revoked; a value is refused (400)",
    )


class ApiKeyOut(BaseModel):
    """A key as listed (never its secret)."""

    id: str
    name: str
    kind: str
    prefix: str
    scopes: list[str]
    kb_ids: list[str]
    allowed_origins: list[str]
    created_by: str
    created_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class CreatedApiKey(BaseModel):
    """The new key: ``key`` is the secret, shown this once."""

    key: str
    api_key: ApiKeyOut


class ApiKeyList(BaseModel):
    """Keys of the organisation, revoked ones included."""

    items: list[ApiKeyOut]


def _key_out(key: auth_pb2.ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        id=key.id,
        name=key.name,
        kind=key.kind,
        prefix=key.prefix,
        scopes=list(key.scopes),
        kb_ids=list(key.kb_ids),
        allowed_origins=list(key.allowed_origins),
        created_by=key.created_by,
        created_at=time_of_ms(key.created_at_ms),
        last_used_at=time_of_ms(key.last_used_at_ms),
        revoked_at=time_of_ms(key.revoked_at_ms),
    )


@router.post("", response_model=CreatedApiKey, status_code=201, responses=error_responses(404))
async def create_api_key(
    body: ApiKeyRequest, request: Request, context: Context, principal: KeyAdmin
) -> CreatedApiKey:
    """Create a key on knowledge bases of the caller's organisation; its secret is shown once."""
    if body.expires_in_days is not None:
        # Refused rather than ignored: a key believed to expire must not live on silently.
        raise ApiError(400, "bad_request", "key expiry is not supported; revoke keys instead")
    async with context.sessions() as session:
        rows = await session.execute(
            select(KnowledgeBase.id).where(
                col(KnowledgeBase.tenant_id) == uuid.UUID(principal.tenant_id),
                col(KnowledgeBase.id).in_(body.kb_ids),
            )
        )
        found = set(rows.scalars())
    missing = sorted(str(k) for k in set(body.kb_ids) - found)
    if missing:
        raise ApiError(404, "not_found", f"knowledge bases not found: {missing}")
    kind = body.kind or ("widget" if body.allowed_origins else "server")
    reply = await context.auth.CreateApiKey(
        auth_pb2.CreateApiKeyRequest(
            actor=principal,
            name=body.name,
            kind=kind,
            scopes=body.scopes,
            kb_ids=[str(k) for k in body.kb_ids],
            allowed_origins=body.allowed_origins,
            client=client_info(request),
        ),
        timeout=context.timeout_s,
    )
    return CreatedApiKey(key=reply.secret, api_key=_key_out(reply.key))


@router.get("", response_model=ApiKeyList)
async def list_api_keys(context: Context, principal: KeyAdmin) -> ApiKeyList:
    """Keys of the caller's organisation."""
    reply = await context.auth.ListApiKeys(
        auth_pb2.ListApiKeysRequest(actor=principal), timeout=context.timeout_s
    )
    return ApiKeyList(items=[_key_out(k) for k in reply.keys])


@router.delete("/{key_id}", response_model=ApiKeyOut, responses=error_responses(404))
async def revoke_api_key(
    key_id: uuid.UUID, request: Request, context: Context, principal: KeyAdmin
) -> ApiKeyOut:
    """Revoke a key; it is refused from now on."""
    key = await context.auth.RevokeApiKey(
        auth_pb2.RevokeApiKeyRequest(
            actor=principal, key_id=str(key_id), client=client_info(request)
        ),
        timeout=context.timeout_s,
    )
    return _key_out(key)
