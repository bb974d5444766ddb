"""Queries on organisations, users, memberships and knowledge-base grants."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ragchat_auth.store.tables import kb_grants, memberships, organisations, users


@dataclass(frozen=True)
class User:
    """A person's account."""

    id: UUID
    email: str
    display_name: str
    password_hash: str


@dataclass(frozen=True)
class Member:
    """A user in one organisation, with their role."""

    user_id: UUID
    tenant_id: UUID
    email: str
    display_name: str
    role: str
    joined_at: datetime


async def organisation_count(conn: AsyncConnection) -> int:
    """How many organisations exist (zero before the first start)."""
    return int(await conn.scalar(select(func.count()).select_from(organisations)) or 0)


async def create_organisation(conn: AsyncConnection, org_id: UUID, name: str) -> None:
    """Insert an organisation."""
    await conn.execute(insert(organisations).values(id=org_id, name=name))


async def organisation_name(conn: AsyncConnection, tenant_id: UUID) -> str | None:
    """The organisation's name, or ``None`` when it does not exist."""
    return await conn.scalar(select(organisations.c.name).where(organisations.c.id == tenant_id))


async def create_user(
    conn: AsyncConnection, user_id: UUID, email: str, display_name: str, password_hash: str
) -> bool:
    """Insert a user; ``False`` when the email is taken."""
    result = await conn.execute(
        pg_insert(users)
        .values(
            id=user_id,
            email=email,
            display_name=display_name,
            password_hash=password_hash,
            # The auth clock, not the database's: access tokens are compared with this time.
            password_changed_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing(index_elements=[users.c.email])
    )
    return result.rowcount == 1


async def user_by_email(conn: AsyncConnection, email: str) -> User | None:
    """The user with this (normalised) email."""
    row = (await conn.execute(select(users).where(users.c.email == email))).first()
    return User(row.id, row.email, row.display_name, row.password_hash) if row else None


async def user_by_id(conn: AsyncConnection, user_id: UUID) -> User | None:
    """The user with this id."""
    row = (await conn.execute(select(users).where(users.c.id == user_id))).first()
    return User(row.id, row.email, row.display_name, row.password_hash) if row else None


async def password_changed_at(conn: AsyncConnection, user_id: UUID) -> datetime | None:
    """When the user last set their password."""
    return await conn.scalar(select(users.c.password_changed_at).where(users.c.id == user_id))


async def set_password_hash(
    conn: AsyncConnection, user_id: UUID, password_hash: str, changed_at: datetime | None
) -> None:
    """Replace a user's password hash; ``changed_at`` is ``None`` for a re-hash of the same
    password, which changes nothing for sessions."""
    values: dict[str, object] = {"password_hash": password_hash}
    if changed_at is not None:
        values["password_changed_at"] = changed_at
    await conn.execute(update(users).where(users.c.id == user_id).values(**values))


async def add_membership(conn: AsyncConnection, tenant_id: UUID, user_id: UUID, role: str) -> bool:
    """Make the user a member; ``False`` when they already are one."""
    result = await conn.execute(
        pg_insert(memberships)
        .values(tenant_id=tenant_id, user_id=user_id, role=role)
        .on_conflict_do_nothing()
    )
    return result.rowcount == 1


def _members_query() -> Select[Any]:
    return select(
        memberships.c.user_id,
        memberships.c.tenant_id,
        users.c.email,
        users.c.display_name,
        memberships.c.role,
        memberships.c.created_at,
    ).join(users, users.c.id == memberships.c.user_id)


async def membership(conn: AsyncConnection, tenant_id: UUID, user_id: UUID) -> Member | None:
    """The user's membership of one organisation."""
    row = (
        await conn.execute(
            _members_query().where(
                memberships.c.tenant_id == tenant_id, memberships.c.user_id == user_id
            )
        )
    ).first()
    return Member(*row) if row else None


async def first_membership(conn: AsyncConnection, user_id: UUID) -> Member | None:
    """The organisation the user joined first (where a login without a tenant lands)."""
    row = (
        await conn.execute(
            _members_query()
            .where(memberships.c.user_id == user_id)
            .order_by(memberships.c.created_at, memberships.c.tenant_id)
            .limit(1)
        )
    ).first()
    return Member(*row) if row else None


async def members(conn: AsyncConnection, tenant_id: UUID) -> list[Member]:
    """Every member of an organisation, by email."""
    rows = await conn.execute(
        _members_query().where(memberships.c.tenant_id == tenant_id).order_by(users.c.email)
    )
    return [Member(*row) for row in rows]


async def set_role(conn: AsyncConnection, tenant_id: UUID, user_id: UUID, role: str) -> None:
    """Change a member's role."""
    await conn.execute(
        update(memberships)
        .where(memberships.c.tenant_id == tenant_id, memberships.c.user_id == user_id)
        .values(role=role)
    )


async def remove_membership(conn: AsyncConnection, tenant_id: UUID, user_id: UUID) -> None:
    """Remove a member and their grants in that organisation."""
    await conn.execute(
        delete(kb_grants).where(kb_grants.c.tenant_id == tenant_id, kb_grants.c.user_id == user_id)
    )
    await conn.execute(
        delete(memberships).where(
            memberships.c.tenant_id == tenant_id, memberships.c.user_id == user_id
        )
    )


async def count_owners(conn: AsyncConnection, tenant_id: UUID) -> int:
    """How many owners the organisation has, locking their rows against concurrent demotions."""
    rows = await conn.execute(
        select(memberships.c.user_id)
        .where(memberships.c.tenant_id == tenant_id, memberships.c.role == "owner")
        .with_for_update()
    )
    return len(rows.all())


async def grant_kb(
    conn: AsyncConnection, tenant_id: UUID, user_id: UUID, kb_id: UUID, granted_by: UUID | None
) -> None:
    """Let a member use one knowledge base (idempotent)."""
    await conn.execute(
        pg_insert(kb_grants)
        .values(tenant_id=tenant_id, user_id=user_id, kb_id=kb_id, granted_by=granted_by)
        .on_conflict_do_nothing()
    )


async def revoke_kb(conn: AsyncConnection, tenant_id: UUID, user_id: UUID, kb_id: UUID) -> None:
    """Take one knowledge base away from a member."""
    await conn.execute(
        delete(kb_grants).where(
            kb_grants.c.tenant_id == tenant_id,
            kb_grants.c.user_id == user_id,
            kb_grants.c.kb_id == kb_id,
        )
    )


async def forget_kb(conn: AsyncConnection, tenant_id: UUID, kb_id: UUID) -> None:
    """Drop every grant on a deleted knowledge base."""
    await conn.execute(
        delete(kb_grants).where(kb_grants.c.tenant_id == tenant_id, kb_grants.c.kb_id == kb_id)
    )


async def granted_kbs(conn: AsyncConnection, tenant_id: UUID, user_id: UUID) -> list[UUID]:
    """The knowledge bases granted to a member, sorted."""
    rows = await conn.execute(
        select(kb_grants.c.kb_id)
        .where(kb_grants.c.tenant_id == tenant_id, kb_grants.c.user_id == user_id)
        .order_by(kb_grants.c.kb_id)
    )
    return [row.kb_id for row in rows]
