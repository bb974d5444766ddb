"""Queries on invitations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ragchat_auth.store.tables import invitations


@dataclass(frozen=True)
class InvitationRecord:
    """A stored invitation (its token only hashed)."""

    id: UUID
    tenant_id: UUID
    email: str
    role: str
    created_by: UUID
    expires_at: datetime
    accepted_at: datetime | None


async def insert_invitation(
    conn: AsyncConnection,
    *,
    invitation_id: UUID,
    tenant_id: UUID,
    email: str,
    role: str,
    token_hash: str,
    created_by: UUID,
    expires_at: datetime,
) -> None:
    """Store a new invitation."""
    await conn.execute(
        insert(invitations).values(
            id=invitation_id,
            tenant_id=tenant_id,
            email=email,
            role=role,
            token_hash=token_hash,
            created_by=created_by,
            expires_at=expires_at,
        )
    )


async def invitation_by_hash(conn: AsyncConnection, token_hash: str) -> InvitationRecord | None:
    """The invitation with this token hash, locked until the transaction ends."""
    row = (
        await conn.execute(
            select(invitations).where(invitations.c.token_hash == token_hash).with_for_update()
        )
    ).first()
    if row is None:
        return None
    return InvitationRecord(
        row.id, row.tenant_id, row.email, row.role, row.created_by, row.expires_at, row.accepted_at
    )


async def mark_accepted(conn: AsyncConnection, invitation_id: UUID, user_id: UUID) -> None:
    """Record that an invitation was used (it cannot be used again)."""
    await conn.execute(
        update(invitations)
        .where(invitations.c.id == invitation_id)
        .values(accepted_at=func.now(), accepted_by=user_id)
    )
