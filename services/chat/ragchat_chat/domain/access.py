"""Who may ask what: the caller, the knowledge bases a request may use, and who sees a conversation.

Every retrieval is limited to knowledge bases the caller may read: the request names them, and they
must be a non-empty subset of the principal's readable ones. Conversations belong to the principal
that started them; agents, admins and owners also see the tenant's conversations held within
knowledge bases they read, and admins and owners may delete those.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

# Roles that read other people's conversations (support staff), and those that may delete them.
STAFF_ROLES = frozenset({"owner", "admin", "agent"})
MANAGER_ROLES = frozenset({"owner", "admin"})
CHAT_SCOPE = "chat"


class ChatRefused(Exception):
    """A request chat will not serve; the message says why and is safe to show the caller."""


class InvalidRequest(ChatRefused):
    """Malformed or incomplete request (gRPC INVALID_ARGUMENT)."""


class Forbidden(ChatRefused):
    """The caller may not do this (gRPC PERMISSION_DENIED)."""


class NotFound(ChatRefused):
    """No such conversation or message that the caller may see (gRPC NOT_FOUND)."""


@dataclass(frozen=True)
class Caller:
    """The principal as chat needs it."""

    subject: str
    tenant_id: UUID
    role: str
    readable_kb_ids: frozenset[UUID]
    is_api_key: bool = False
    scopes: frozenset[str] = frozenset()
    label: str = ""

    @property
    def is_staff(self) -> bool:
        """Support staff read the tenant's conversations (within their knowledge bases)."""
        return not self.is_api_key and self.role in STAFF_ROLES


def parse_uuid(value: str, what: str) -> UUID:
    """A UUID from a request field, or :class:`InvalidRequest` naming the field."""
    try:
        return UUID(value)
    except ValueError:
        raise InvalidRequest(f"{what} is not a valid id: {value!r}") from None


def require_chat(caller: Caller) -> None:
    """API keys need the ``chat`` scope to converse or read history."""
    if caller.is_api_key and CHAT_SCOPE not in caller.scopes:
        raise Forbidden("this API key has no chat scope")


def requested_kbs(caller: Caller, kb_ids: Iterable[str]) -> tuple[UUID, ...]:
    """The request's knowledge bases, sorted: non-empty, valid, and all readable by the caller."""
    wanted = {parse_uuid(kb, "knowledge base id") for kb in kb_ids}
    if not wanted:
        raise InvalidRequest("name at least one knowledge base to answer from")
    unreadable = wanted - caller.readable_kb_ids
    if unreadable:
        raise Forbidden(f"no read access to knowledge base {sorted(map(str, unreadable))[0]}")
    return tuple(sorted(wanted, key=str))


def owns(caller: Caller, tenant_id: UUID, owner_subject: str) -> bool:
    """Whether the caller started the conversation."""
    return caller.tenant_id == tenant_id and caller.subject == owner_subject


def may_read(caller: Caller, tenant_id: UUID, owner_subject: str, kb_ids: Iterable[UUID]) -> bool:
    """Owner, or staff of the tenant reading every knowledge base the conversation used."""
    if owns(caller, tenant_id, owner_subject):
        return True
    return (
        caller.is_staff and caller.tenant_id == tenant_id and set(kb_ids) <= caller.readable_kb_ids
    )


def may_delete(caller: Caller, tenant_id: UUID, owner_subject: str, kb_ids: Iterable[UUID]) -> bool:
    """Owner, or an admin or owner of the tenant who may read the conversation."""
    if owns(caller, tenant_id, owner_subject):
        return True
    return caller.role in MANAGER_ROLES and may_read(caller, tenant_id, owner_subject, kb_ids)
