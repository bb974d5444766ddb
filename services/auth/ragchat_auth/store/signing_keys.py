"""Queries on the keys that sign access tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ragchat_auth.store.tables import signing_keys


@dataclass(frozen=True)
class SigningKeyRecord:
    """A stored signing key; the private PEM is encrypted when a passphrase is configured."""

    kid: str
    algorithm: str
    public_pem: str
    private_pem: str
    created_at: datetime
    retire_at: datetime | None


async def live_keys(conn: AsyncConnection) -> list[SigningKeyRecord]:
    """Keys that still verify, newest first; the first one without ``retire_at`` signs."""
    rows = await conn.execute(
        select(signing_keys)
        .where(or_(signing_keys.c.retire_at.is_(None), signing_keys.c.retire_at > func.now()))
        .order_by(signing_keys.c.created_at.desc(), signing_keys.c.kid)
    )
    return [SigningKeyRecord(*row) for row in rows]


async def insert_key(
    conn: AsyncConnection, kid: str, algorithm: str, public_pem: str, private_pem: str
) -> None:
    """Store a new signing key."""
    await conn.execute(
        insert(signing_keys).values(
            kid=kid, algorithm=algorithm, public_pem=public_pem, private_pem=private_pem
        )
    )


async def schedule_retirement(conn: AsyncConnection, retire_at: datetime) -> None:
    """Stop every current signer from signing; each keeps verifying until ``retire_at``."""
    await conn.execute(
        update(signing_keys).where(signing_keys.c.retire_at.is_(None)).values(retire_at=retire_at)
    )
