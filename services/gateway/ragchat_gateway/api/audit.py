"""The organisation's audit log (admin)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from ragchat.v1 import auth_pb2

from ragchat_gateway.api.deps import (
    COMMON_ERRORS,
    Context,
    PlainText,
    Principal,
    require,
    time_of_ms,
)

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], responses=COMMON_ERRORS)


class AuditActor(BaseModel):
    """Who acted."""

    kind: str
    id: str
    label: str


class AuditEntryOut(BaseModel):
    """One security-relevant action."""

    id: int
    time: datetime | None
    actor: AuditActor
    action: str
    resource: str
    outcome: str
    ip: str
    user_agent: str
    detail: dict[str, Any]


class AuditPage(BaseModel):
    """Entries newest first; pass the last id as ``before`` for the next page."""

    entries: list[AuditEntryOut]


def _ms(moment: datetime | None) -> int:
    return int(moment.timestamp() * 1000) if moment else 0


def _entry(entry: auth_pb2.AuditEntry) -> AuditEntryOut:
    try:
        detail = json.loads(entry.detail_json) if entry.detail_json else {}
    except json.JSONDecodeError:
        detail = {"raw": entry.detail_json}
    resource = f"{entry.target_type}:{entry.target_id}" if entry.target_type else ""
    return AuditEntryOut(
        id=entry.id,
        time=time_of_ms(entry.at_ms),
        actor=AuditActor(kind=entry.actor_kind, id=entry.actor_id, label=entry.actor_label),
        action=entry.action,
        resource=resource,
        outcome=entry.outcome,
        ip=entry.ip,
        user_agent=entry.user_agent,
        detail=detail if isinstance(detail, dict) else {"value": detail},
    )


@router.get("", response_model=AuditPage)
async def query_audit(
    context: Context,
    principal: Annotated[Principal, Depends(require("audit.read"))],
    action: Annotated[PlainText | None, Query(max_length=100, examples=["auth.login"])] = None,
    actor: Annotated[PlainText | None, Query(max_length=100, description="Actor id")] = None,
    outcome: Literal["success", "failure", "denied"] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="Entries older than this id")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    """The audit log of the caller's organisation, newest first."""
    reply = await context.auth.QueryAudit(
        auth_pb2.QueryAuditRequest(
            actor=principal,
            actor_id=actor or "",
            action=action or "",
            since_ms=_ms(since),
            until_ms=_ms(until),
            before_id=before or 0,
            limit=limit,
        ),
        timeout=context.timeout_s,
    )
    # Auth filters by actor, action and time; the outcome filter is applied here.
    entries = [_entry(e) for e in reply.entries if outcome is None or e.outcome == outcome]
    return AuditPage(entries=entries)
