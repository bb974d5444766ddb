"""Queries on the audit log (append-only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ragchat_auth.store.tables import audit_log


@dataclass(frozen=True)
class AuditEntry:
    """One recorded action."""

    id: int
    at: datetime
    tenant_id: UUID | None
    actor_kind: str
    actor_id: str
    actor_label: str
    action: str
    target_type: str
    target_id: str
    outcome: str
    ip: str
    user_agent: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class AuditFilter:
    """Which entries of one organisation to return, newest first."""

    tenant_id: UUID
    actor_id: str = ""
    action: str = ""
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None
    limit: int = 100


async def append(conn: AsyncConnection, **values: Any) -> None:
    """Add one entry (columns of ``audit_log`` as keyword arguments)."""
    await conn.execute(insert(audit_log).values(**values))


async def query(conn: AsyncConnection, where: AuditFilter) -> list[AuditEntry]:
    """Entries matching the filter, newest first; page with ``before_id``."""
    statement = select(audit_log).where(audit_log.c.tenant_id == where.tenant_id)
    if where.actor_id:
        statement = statement.where(audit_log.c.actor_id == where.actor_id)
    if where.action:
        statement = statement.where(audit_log.c.action == where.action)
    if where.since is not None:
        statement = statement.where(audit_log.c.at >= where.since)
    if where.until is not None:
        statement = statement.where(audit_log.c.at < where.until)
    if where.before_id is not None:
        statement = statement.where(audit_log.c.id < where.before_id)
    rows = await conn.execute(statement.order_by(audit_log.c.id.desc()).limit(where.limit))
    return [AuditEntry(*row) for row in rows]
