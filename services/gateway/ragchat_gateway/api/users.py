"""Members of the organisation, their roles and knowledge-base grants (admin)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from ragchat.v1 import auth_pb2
from sqlmodel import col, select

from ragchat_gateway.api.deps import (
    COMMON_ERRORS,
    ApiError,
    Context,
    Principal,
    client_info,
    error_responses,
    require,
    time_of_ms,
)
from ragchat_gateway.store.tables import KnowledgeBase

router = APIRouter(prefix="/api/v1/users", tags=["users"], responses=COMMON_ERRORS)

RoleName = Literal["owner", "admin", "editor", "agent", "viewer"]
UserAdmin = Annotated[Principal, Depends(require("users.manage"))]


class UserOut(BaseModel):
    """A member of the organisation."""

    id: str
    email: str
    display_name: str
    role: str
    joined_at: datetime | None


class UserList(BaseModel):
    """Members of the organisation."""

    items: list[UserOut]


class RoleChange(BaseModel):
    """The new organisation role."""

    model_config = ConfigDict(extra="forbid")

    role: RoleName = Field(examples=["editor"])


class Grants(BaseModel):
    """The knowledge bases a member (editor, agent, viewer) may use."""

    model_config = ConfigDict(extra="forbid")

    kb_ids: list[uuid.UUID] = Field(max_length=1000)


class GrantsOut(BaseModel):
    """A member's grants after the change."""

    kb_ids: list[str]


def _user_out(member: auth_pb2.Member) -> UserOut:
    return UserOut(
        id=member.user_id,
        email=member.email,
        display_name=member.display_name,
        role=member.role,
        joined_at=time_of_ms(member.joined_at_ms),
    )


@router.get("", response_model=UserList)
async def list_users(
    context: Context, principal: Annotated[Principal, Depends(require("users.read"))]
) -> UserList:
    """Members of the caller's organisation."""
    reply = await context.auth.ListMembers(
        auth_pb2.ListMembersRequest(actor=principal), timeout=context.timeout_s
    )
    return UserList(items=[_user_out(m) for m in reply.members])


@router.patch("/{user_id}", response_model=UserOut, responses=error_responses(404, 409))
async def change_role(
    user_id: uuid.UUID,
    body: RoleChange,
    request: Request,
    context: Context,
    principal: UserAdmin,
) -> UserOut:
    """Change a member's role (only owners make or unmake owners; the last owner stays)."""
    member = await context.auth.ChangeRole(
        auth_pb2.ChangeRoleRequest(
            actor=principal, user_id=str(user_id), role=body.role, client=client_info(request)
        ),
        timeout=context.timeout_s,
    )
    return _user_out(member)


@router.delete(
    "/{user_id}", status_code=204, response_class=Response, responses=error_responses(404, 409)
)
async def remove_user(
    user_id: uuid.UUID, request: Request, context: Context, principal: UserAdmin
) -> Response:
    """Remove a member from the organisation."""
    await context.auth.RemoveMember(
        auth_pb2.RemoveMemberRequest(
            actor=principal, user_id=str(user_id), client=client_info(request)
        ),
        timeout=context.timeout_s,
    )
    return Response(status_code=204)


@router.put("/{user_id}/grants", response_model=GrantsOut, responses=error_responses(404))
async def set_grants(
    user_id: uuid.UUID,
    body: Grants,
    request: Request,
    context: Context,
    principal: Annotated[Principal, Depends(require("grants.manage"))],
) -> GrantsOut:
    """Set exactly which knowledge bases of the tenant a member may use.

    Auth grants one knowledge base at a time, so every kb of the tenant is granted or revoked.
    """
    async with context.sessions() as session:
        rows = await session.execute(
            select(KnowledgeBase.id).where(
                col(KnowledgeBase.tenant_id) == uuid.UUID(principal.tenant_id)
            )
        )
        tenant_kbs = {str(kb_id) for kb_id in rows.scalars()}
    wanted = {str(kb_id) for kb_id in body.kb_ids}
    unknown = wanted - tenant_kbs
    if unknown:
        raise ApiError(404, "not_found", f"knowledge bases not found: {sorted(unknown)}")
    client = client_info(request)
    replies = await asyncio.gather(
        *(
            context.auth.SetKnowledgeBaseGrant(
                auth_pb2.SetKnowledgeBaseGrantRequest(
                    actor=principal,
                    user_id=str(user_id),
                    kb_id=kb_id,
                    granted=kb_id in wanted,
                    client=client,
                ),
                timeout=context.timeout_s,
            )
            for kb_id in sorted(tenant_kbs)
        )
    )
    # Each reply lists the grants after its own change; the union of what is granted now.
    granted = {k for reply in replies for k in reply.kb_ids} & wanted
    return GrantsOut(kb_ids=sorted(granted))
