"""Queries on refresh tokens: one family per login, one row per issued token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ragchat_auth.store.tables import refresh_tokens


@dataclass(frozen=True)
class RefreshRecord:
    """A stored refresh token (its hash only)."""

    id: UUID
    family_id: UUID
    user_id: UUID
    tenant_id: UUID
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None


async def insert_token(
    conn: AsyncConnection,
    *,
    token_id: UUID,
    family_id: UUID,
    user_id: UUID,
    tenant_id: UUID,
    token_hash: str,
    expires_at: datetime,
) -> None:
    """Store a newly issued refresh token."""
    await conn.execute(
        insert(refresh_tokens).values(
            id=token_id,
            family_id=family_id,
            user_id=user_id,
            tenant_id=tenant_id,
            token_hash=token_hash,
            expires_at=expires_at,
        )
    )


async def token_by_hash(conn: AsyncConnection, token_hash: str) -> RefreshRecord | None:
    """The refresh token with this hash, locked until the transaction ends."""
    row = (
        await conn.execute(
            select(refresh_tokens)
            .where(refresh_tokens.c.token_hash == token_hash)
            .with_for_update()
        )
    ).first()
    if row is None:
        return None
    return RefreshRecord(
        row.id,
        row.family_id,
        row.user_id,
        row.tenant_id,
        row.expires_at,
        row.used_at,
        row.revoked_at,
    )


async def mark_used(conn: AsyncConnection, token_id: UUID) -> None:
    """Spend a refresh token."""
    await conn.execute(
        update(refresh_tokens).where(refresh_tokens.c.id == token_id).values(used_at=func.now())
    )


async def revoke_family(conn: AsyncConnection, family_id: UUID) -> None:
    """Revoke every token of one session."""
    await conn.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.family_id == family_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )


async def revoke_user_sessions(conn: AsyncConnection, user_id: UUID) -> int:
    """Revoke every session of a user; returns how many tokens were revoked."""
    result = await conn.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.user_id == user_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )
    return result.rowcount
