"""Members of an organisation: listing, role changes, removal, knowledge-base grants.

Grants are explicit per knowledge base. Owners and admins reach every knowledge base of their
tenant without grants (``Principal.all_kbs``): auth does not keep the list of knowledge bases,
the gateway does. When the gateway creates a knowledge base it reports it
(:meth:`Members.knowledge_base_created`) so a creator without ``all_kbs`` is granted it, and
when it deletes one its grants are dropped (:meth:`Members.knowledge_base_deleted`).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from ragchat_auth.domain.audit import Actor, ClientInfo, Outcome, record
from ragchat_auth.domain.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from ragchat_auth.domain.ids import parse_id
from ragchat_auth.domain.rules import ADMIN_ASSIGNABLE_ROLES, Principal, Role, authorize
from ragchat_auth.store import directory, sessions
from ragchat_auth.store.directory import Member


def require(
    principal: Principal, action: str, resource_type: str = "", resource_id: str = ""
) -> None:
    """Raise :class:`PermissionDenied` unless the rules table allows the action."""
    decision = authorize(principal, action, resource_type, resource_id)
    if not decision.allowed:
        raise PermissionDenied(decision.reason)


def parse_role(role: str) -> Role:
    """A role name from a request."""
    try:
        return Role(role)
    except ValueError as exc:
        roles = ", ".join(r.value for r in Role)
        raise InvalidArgument(f"unknown role {role!r}; one of {roles}") from exc


def check_may_assign(principal: Principal, role: Role) -> None:
    """Only owners hand out (or take away) the owner role."""
    if principal.role != Role.OWNER and role not in ADMIN_ASSIGNABLE_ROLES:
        raise PermissionDenied(f"only an owner may assign the role {role.value}")


class Members:
    """Roles and grants of the members of an organisation."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def list_members(self, principal: Principal) -> list[Member]:
        """Every member of the caller's organisation."""
        require(principal, "users.read")
        async with self._engine.connect() as conn:
            return await directory.members(conn, parse_id(principal.tenant_id))

    async def grants(self, principal: Principal, user_id: str) -> list[str]:
        """The knowledge bases granted to one member."""
        require(principal, "users.read")
        async with self._engine.connect() as conn:
            kbs = await directory.granted_kbs(
                conn, parse_id(principal.tenant_id), parse_id(user_id)
            )
        return [str(k) for k in kbs]

    async def change_role(
        self, principal: Principal, user_id: str, role: str, client: ClientInfo
    ) -> Member:
        """Give a member another role; an organisation always keeps at least one owner."""
        require(principal, "users.manage")
        new_role = parse_role(role)
        tenant_id, target_id = parse_id(principal.tenant_id), parse_id(user_id, "user id")
        async with self._engine.begin() as conn:
            member = await directory.membership(conn, tenant_id, target_id)
            if member is None:
                raise NotFound(f"user {user_id} is not a member of this organisation")
            check_may_assign(principal, new_role)
            check_may_assign(principal, Role(member.role))
            demotes_owner = member.role == Role.OWNER and new_role != Role.OWNER
            if demotes_owner and await directory.count_owners(conn, tenant_id) <= 1:
                raise FailedPrecondition("an organisation needs at least one owner")
            await directory.set_role(conn, tenant_id, target_id, new_role)
            await record(
                conn,
                Actor.of(principal),
                "member.role_change",
                Outcome.SUCCESS,
                client,
                target_type="user",
                target_id=user_id,
                detail={"from": member.role, "to": new_role.value},
            )
            changed = await directory.membership(conn, tenant_id, target_id)
        assert changed is not None  # updated in this transaction
        return changed

    async def remove(self, principal: Principal, user_id: str, client: ClientInfo) -> None:
        """Remove a member from the organisation and end their sessions."""
        require(principal, "users.manage")
        tenant_id, target_id = parse_id(principal.tenant_id), parse_id(user_id, "user id")
        async with self._engine.begin() as conn:
            member = await directory.membership(conn, tenant_id, target_id)
            if member is None:
                raise NotFound(f"user {user_id} is not a member of this organisation")
            check_may_assign(principal, Role(member.role))
            if member.role == Role.OWNER and await directory.count_owners(conn, tenant_id) <= 1:
                raise FailedPrecondition("an organisation needs at least one owner")
            await directory.remove_membership(conn, tenant_id, target_id)
            await sessions.revoke_user_sessions(conn, target_id)
            await record(
                conn,
                Actor.of(principal),
                "member.remove",
                Outcome.SUCCESS,
                client,
                target_type="user",
                target_id=user_id,
                detail={"role": member.role},
            )

    async def set_grant(
        self, principal: Principal, user_id: str, kb_id: str, granted: bool, client: ClientInfo
    ) -> list[str]:
        """Grant or revoke one knowledge base to a member; returns their grants after it."""
        require(principal, "grants.manage")
        tenant_id, target_id = parse_id(principal.tenant_id), parse_id(user_id, "user id")
        kb = parse_id(kb_id, "knowledge base id")
        async with self._engine.begin() as conn:
            if await directory.membership(conn, tenant_id, target_id) is None:
                raise NotFound(f"user {user_id} is not a member of this organisation")
            if granted:
                await directory.grant_kb(
                    conn, tenant_id, target_id, kb, parse_id(principal.subject)
                )
            else:
                await directory.revoke_kb(conn, tenant_id, target_id, kb)
            await record(
                conn,
                Actor.of(principal),
                "grant.add" if granted else "grant.remove",
                Outcome.SUCCESS,
                client,
                target_type="user",
                target_id=user_id,
                detail={"kb_id": kb_id},
            )
            kbs = await directory.granted_kbs(conn, tenant_id, target_id)
        return [str(k) for k in kbs]

    async def knowledge_base_created(self, principal: Principal, kb_id: str) -> None:
        """Grant a newly created knowledge base to its creator (when their role needs grants)."""
        require(principal, "kb.create")
        if principal.all_kbs:
            return
        async with self._engine.begin() as conn:
            await directory.grant_kb(
                conn,
                parse_id(principal.tenant_id),
                parse_id(principal.subject),
                parse_id(kb_id, "knowledge base id"),
                None,
            )

    async def knowledge_base_deleted(self, principal: Principal, kb_id: str) -> None:
        """Drop every grant on a deleted knowledge base."""
        require(principal, "kb.delete", "kb", kb_id)
        async with self._engine.begin() as conn:
            await directory.forget_kb(conn, parse_id(principal.tenant_id), parse_id(kb_id))
