"""Queries on API keys."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, func, insert, literal_column, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ragchat_auth.store.tables import api_keys

# last_used_at is written at most this often per key, so busy keys do not write on every call.
LAST_USED_RESOLUTION: ColumnElement[Any] = literal_column("interval '1 minute'")


@dataclass(frozen=True)
class NewApiKey:
    """A key about to be stored."""

    id: UUID
    tenant_id: UUID
    name: str
    kind: str
    prefix: str
    secret_hash: str
    scopes: list[str]
    kb_ids: list[UUID]
    allowed_origins: list[str]
    created_by: UUID


@dataclass(frozen=True)
class ApiKeyRecord:
    """A stored API key (its secret only hashed)."""

    id: UUID
    tenant_id: UUID
    name: str
    kind: str
    prefix: str
    secret_hash: str
    scopes: list[str]
    kb_ids: list[UUID]
    allowed_origins: list[str]
    created_by: UUID
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _record(row: object) -> ApiKeyRecord:
    return ApiKeyRecord(**{name: getattr(row, name) for name in ApiKeyRecord.__dataclass_fields__})


async def insert_key(conn: AsyncConnection, key: NewApiKey) -> None:
    """Store a new key."""
    await conn.execute(insert(api_keys).values(**asdict(key)))


async def key_by_prefix(conn: AsyncConnection, prefix: str) -> ApiKeyRecord | None:
    """The key with this public prefix."""
    row = (await conn.execute(select(api_keys).where(api_keys.c.prefix == prefix))).first()
    return _record(row) if row else None


async def keys_of(conn: AsyncConnection, tenant_id: UUID) -> list[ApiKeyRecord]:
    """Every key of an organisation, newest first (revoked ones included)."""
    rows = await conn.execute(
        select(api_keys)
        .where(api_keys.c.tenant_id == tenant_id)
        .order_by(api_keys.c.created_at.desc(), api_keys.c.id)
    )
    return [_record(row) for row in rows]


async def revoke_key(conn: AsyncConnection, tenant_id: UUID, key_id: UUID) -> ApiKeyRecord | None:
    """Revoke a key of this organisation; ``None`` when there is no such key."""
    await conn.execute(
        update(api_keys)
        .where(
            api_keys.c.tenant_id == tenant_id,
            api_keys.c.id == key_id,
            api_keys.c.revoked_at.is_(None),
        )
        .values(revoked_at=func.now())
    )
    row = (
        await conn.execute(
            select(api_keys).where(api_keys.c.tenant_id == tenant_id, api_keys.c.id == key_id)
        )
    ).first()
    return _record(row) if row else None


async def touch(conn: AsyncConnection, key_id: UUID) -> None:
    """Record that the key was just used."""
    await conn.execute(
        update(api_keys)
        .where(
            api_keys.c.id == key_id,
            or_(
                api_keys.c.last_used_at.is_(None),
                api_keys.c.last_used_at < func.now() - LAST_USED_RESOLUTION,
            ),
        )
        .values(last_used_at=func.now())
    )
