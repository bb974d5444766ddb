"""The audit log: who did what security-relevant thing, when, from where, and how it went.

Entries are written in the same transaction as the change they describe, so a change is never
without its entry; refusals (a failed login) are written in a transaction of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ragchat_auth.domain.errors import InvalidArgument, PermissionDenied
from ragchat_auth.domain.ids import parse_id
from ragchat_auth.domain.rules import Principal, authorize
from ragchat_auth.store import audit as audit_store
from ragchat_auth.store.audit import AuditEntry, AuditFilter

MAX_PAGE = 500


class Outcome(StrEnum):
    """How an audited action ended."""

    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"


@dataclass(frozen=True)
class ClientInfo:
    """Where a request came from, as the gateway saw it."""

    ip: str = ""
    user_agent: str = ""


@dataclass(frozen=True)
class Actor:
    """Who acted: a principal, or someone not (yet) identified, such as a failed login."""

    kind: str
    id: str
    label: str = ""
    tenant_id: UUID | None = None

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        """The actor a principal stands for."""
        return cls(
            principal.kind.value, principal.subject, principal.label, parse_id(principal.tenant_id)
        )


async def record(
    conn: AsyncConnection,
    actor: Actor,
    action: str,
    outcome: Outcome,
    client: ClientInfo,
    *,
    target_type: str = "",
    target_id: str = "",
    detail: dict[str, Any] | None = None,
    tenant_id: UUID | None = None,
) -> None:
    """Append one entry; the tenant is the actor's unless given."""
    await audit_store.append(
        conn,
        tenant_id=tenant_id or actor.tenant_id,
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_label=actor.label,
        action=action,
        target_type=target_type,
        target_id=target_id,
        outcome=outcome.value,
        ip=client.ip[:64],
        user_agent=client.user_agent[:1000],
        detail=detail or {},
    )


class AuditTrail:
    """Writing entries on behalf of other services, and the admins' view of their tenant's log."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record_for(
        self,
        principal: Principal,
        action: str,
        outcome: Outcome,
        client: ClientInfo,
        *,
        target_type: str,
        target_id: str,
        detail: dict[str, Any],
    ) -> None:
        """Record an action another service performed for ``principal`` (e.g. a kb deletion)."""
        if not action or len(action) > 64:
            raise InvalidArgument("an audit entry needs an action of at most 64 characters")
        if len(target_type) > 32 or len(target_id) > 64:
            raise InvalidArgument("target type (32) or target id (64 characters) is too long")
        async with self._engine.begin() as conn:
            await record(
                conn,
                Actor.of(principal),
                action,
                outcome,
                client,
                target_type=target_type,
                target_id=target_id,
                detail=detail,
            )

    async def query(
        self,
        principal: Principal,
        *,
        actor_id: str = "",
        action: str = "",
        since: datetime | None = None,
        until: datetime | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Entries of the principal's organisation, newest first; admins and owners only."""
        decision = authorize(principal, "audit.read", "", "")
        if not decision.allowed:
            raise PermissionDenied(decision.reason)
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidArgument(f"limit must be between 1 and {MAX_PAGE}")
        where = AuditFilter(
            tenant_id=parse_id(principal.tenant_id),
            actor_id=actor_id,
            action=action,
            since=since,
            until=until,
            before_id=before_id,
            limit=limit,
        )
        async with self._engine.connect() as conn:
            return await audit_store.query(conn, where)
