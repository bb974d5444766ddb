"""Translation between protobuf messages and the auth domain's types."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ragchat.v1 import auth_pb2, principal_pb2

from ragchat_auth.domain.accounts import Session
from ragchat_auth.domain.audit import ClientInfo
from ragchat_auth.domain.errors import InvalidArgument, Unauthenticated
from ragchat_auth.domain.invitations import IssuedInvitation
from ragchat_auth.domain.rules import Principal, PrincipalKind
from ragchat_auth.store.api_keys import ApiKeyRecord
from ragchat_auth.store.audit import AuditEntry
from ragchat_auth.store.directory import Member

KINDS = {
    PrincipalKind.USER: principal_pb2.PRINCIPAL_KIND_USER,
    PrincipalKind.API_KEY: principal_pb2.PRINCIPAL_KIND_API_KEY,
}
KINDS_BACK = {v: k for k, v in KINDS.items()}


def to_ms(moment: datetime | None) -> int:
    """Milliseconds since the epoch; 0 for no time."""
    return int(moment.timestamp() * 1000) if moment is not None else 0


def from_ms(ms: int) -> datetime | None:
    """The time ``ms`` stands for; ``None`` for 0."""
    return datetime.fromtimestamp(ms / 1000, UTC) if ms else None


def principal_message(principal: Principal) -> principal_pb2.Principal:
    """A domain principal as the protobuf every service passes along."""
    return principal_pb2.Principal(
        subject=principal.subject,
        tenant_id=principal.tenant_id,
        kind=KINDS[principal.kind],
        role=principal.role,
        readable_kb_ids=sorted(principal.readable_kb_ids),
        scopes=sorted(principal.scopes),
        all_kbs=principal.all_kbs,
        label=principal.label,
    )


def principal_of(message: principal_pb2.Principal, present: bool = True) -> Principal:
    """The principal a caller sent (the one VerifyToken or VerifyApiKey returned)."""
    if not present or not message.subject:
        raise Unauthenticated("the request carries no principal")
    kind = KINDS_BACK.get(message.kind)
    if kind is None:
        raise InvalidArgument("principal kind must be user or api_key")
    return Principal(
        subject=message.subject,
        tenant_id=message.tenant_id,
        kind=kind,
        role=message.role,
        readable_kb_ids=frozenset(message.readable_kb_ids),
        scopes=frozenset(message.scopes),
        all_kbs=message.all_kbs,
        label=message.label,
    )


def client_of(message: auth_pb2.ClientInfo) -> ClientInfo:
    """Where the request came from."""
    return ClientInfo(ip=message.ip, user_agent=message.user_agent)


def session_message(session: Session) -> auth_pb2.Session:
    """A session's tokens and principal."""
    return auth_pb2.Session(
        access_token=session.access_token,
        access_expires_at_ms=to_ms(session.access_expires_at),
        refresh_token=session.refresh_token,
        refresh_expires_at_ms=to_ms(session.refresh_expires_at),
        principal=principal_message(session.principal),
    )


def member_message(member: Member) -> auth_pb2.Member:
    """A member of an organisation."""
    return auth_pb2.Member(
        user_id=str(member.user_id),
        email=member.email,
        display_name=member.display_name,
        role=member.role,
        joined_at_ms=to_ms(member.joined_at),
    )


def invitation_message(invitation: IssuedInvitation) -> auth_pb2.Invitation:
    """A created invitation with its one-time token."""
    return auth_pb2.Invitation(
        id=str(invitation.id),
        email=invitation.email,
        role=invitation.role,
        token=invitation.token,
        expires_at_ms=to_ms(invitation.expires_at),
    )


def api_key_message(key: ApiKeyRecord) -> auth_pb2.ApiKey:
    """An API key as listed (never its secret)."""
    return auth_pb2.ApiKey(
        id=str(key.id),
        name=key.name,
        kind=key.kind,
        prefix=key.prefix,
        scopes=key.scopes,
        kb_ids=[str(k) for k in key.kb_ids],
        allowed_origins=key.allowed_origins,
        created_by=str(key.created_by),
        created_at_ms=to_ms(key.created_at),
        last_used_at_ms=to_ms(key.last_used_at),
        revoked_at_ms=to_ms(key.revoked_at),
    )


def audit_message(entry: AuditEntry) -> auth_pb2.AuditEntry:
    """One audit log entry."""
    return auth_pb2.AuditEntry(
        id=entry.id,
        at_ms=to_ms(entry.at),
        actor_kind=entry.actor_kind,
        actor_id=entry.actor_id,
        actor_label=entry.actor_label,
        action=entry.action,
        target_type=entry.target_type,
        target_id=entry.target_id,
        outcome=entry.outcome,
        ip=entry.ip,
        user_agent=entry.user_agent,
        detail_json=json.dumps(entry.detail, sort_keys=True),
    )


def detail_of(detail_json: str) -> dict[str, Any]:
    """The JSON object of an audit detail; empty text is no detail."""
    if not detail_json:
        return {}
    try:
        detail = json.loads(detail_json)
    except json.JSONDecodeError as exc:
        raise InvalidArgument(f"detail_json is not JSON: {exc}") from exc
    if not isinstance(detail, dict):
        raise InvalidArgument("detail_json must be a JSON object")
    return detail
