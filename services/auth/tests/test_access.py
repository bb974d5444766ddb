"""Access through the real gRPC server and PostgreSQL: invitations, roles and grants, API keys,
signing-key rotation and JWKS, the audit log, and the rules matrix answered by Authorize."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import grpc
import jwt
import pytest
from ragchat.v1 import auth_pb2, principal_pb2
from ragchat_auth.domain.rules import RULES, Role
from ragchat_common import db
from sqlalchemy import text

from .harness import AuthClient

pytestmark = pytest.mark.integration

KB_A, KB_B = str(uuid.uuid4()), str(uuid.uuid4())
CLIENT = auth_pb2.ClientInfo(ip="192.0.2.9", user_agent="admin-console")


async def refused(call: object) -> grpc.aio.AioRpcError:
    """The error a call ended with (it must end with one)."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    return caught.value


async def sql(auth: AuthClient, statement: str, **params: object) -> None:
    """Change the database directly, to stand in for the passing of time."""
    engine = db.create_engine(auth.settings.postgres)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(statement), params)
    finally:
        await engine.dispose()


async def invite(
    auth: AuthClient, actor: principal_pb2.Principal, email: str, role: str
) -> auth_pb2.Invitation:
    return await auth.stub.CreateInvitation(
        auth_pb2.CreateInvitationRequest(actor=actor, email=email, role=role, client=CLIENT)
    )


async def member(auth: AuthClient, email: str, role: str) -> auth_pb2.Session:
    """A new member of the owner's organisation, logged in."""
    invitation = await invite(auth, await auth.owner(), email, role)
    return await auth.stub.AcceptInvitation(
        auth_pb2.AcceptInvitationRequest(token=invitation.token, password="member password")
    )


async def actions(auth: AuthClient, action: str) -> list[auth_pb2.AuditEntry]:
    reply = await auth.stub.QueryAudit(
        auth_pb2.QueryAuditRequest(actor=await auth.owner(), action=action)
    )
    return list(reply.entries)


async def authorize(
    auth: AuthClient, principal: principal_pb2.Principal, action: str, kb: str = ""
) -> bool:
    reply = await auth.stub.Authorize(
        auth_pb2.AuthorizeRequest(
            principal=principal, action=action, resource_type="kb" if kb else "", resource_id=kb
        )
    )
    return bool(reply.allowed)


async def test_invitation_is_accepted_once_and_audited(auth: AuthClient) -> None:
    owner = await auth.owner()
    invitation = await invite(auth, owner, "Editor@Example.test", "editor")
    assert invitation.email == "editor@example.test"
    session = await auth.stub.AcceptInvitation(
        auth_pb2.AcceptInvitationRequest(
            token=invitation.token, password="editor password", display_name="Ed", client=CLIENT
        )
    )
    assert (session.principal.role, session.principal.tenant_id) == ("editor", owner.tenant_id)
    assert not session.principal.all_kbs and not session.principal.readable_kb_ids

    twice = await refused(
        auth.stub.AcceptInvitation(
            auth_pb2.AcceptInvitationRequest(token=invitation.token, password="editor password")
        )
    )
    assert twice.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "already accepted" in twice.details()
    assert [e.detail_json for e in await actions(auth, "invitation.create")] == [
        json.dumps({"email": "editor@example.test", "role": "editor"}, sort_keys=True)
    ]
    accepted = await actions(auth, "invitation.accept")
    assert [(e.actor_label, e.target_id) for e in accepted] == [
        ("editor@example.test", invitation.id)
    ]


async def test_expired_invitation_is_refused(auth: AuthClient) -> None:
    invitation = await invite(auth, await auth.owner(), "late@example.test", "viewer")
    await sql(
        auth,
        "UPDATE auth.invitations SET expires_at = now() - interval '1 second' WHERE id = :id",
        id=uuid.UUID(invitation.id),
    )
    error = await refused(
        auth.stub.AcceptInvitation(
            auth_pb2.AcceptInvitationRequest(token=invitation.token, password="late password")
        )
    )
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "expired" in error.details()


async def test_who_may_invite_whom(auth: AuthClient) -> None:
    admin = (await member(auth, "admin@example.test", "admin")).principal
    viewer = (await member(auth, "viewer@example.test", "viewer")).principal
    as_viewer = await refused(invite(auth, viewer, "x@example.test", "viewer"))
    assert as_viewer.code() == grpc.StatusCode.PERMISSION_DENIED
    owner_by_admin = await refused(invite(auth, admin, "x@example.test", "owner"))
    assert owner_by_admin.code() == grpc.StatusCode.PERMISSION_DENIED
    bad_role = await refused(invite(auth, admin, "x@example.test", "superuser"))
    assert bad_role.code() == grpc.StatusCode.INVALID_ARGUMENT
    no_actor = await refused(
        auth.stub.CreateInvitation(
            auth_pb2.CreateInvitationRequest(email="x@e.test", role="viewer")
        )
    )
    assert no_actor.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_role_changes_and_grants_decide_kb_access(auth: AuthClient) -> None:
    owner = await auth.owner()
    agent = await member(auth, "agent@example.test", "agent")
    user_id = agent.principal.subject
    assert not await authorize(auth, agent.principal, "conversations.read", KB_A)

    granted = await auth.stub.SetKnowledgeBaseGrant(
        auth_pb2.SetKnowledgeBaseGrantRequest(
            actor=owner, user_id=user_id, kb_id=KB_A, granted=True, client=CLIENT
        )
    )
    assert list(granted.kb_ids) == [KB_A]
    fresh = (
        await auth.stub.VerifyToken(auth_pb2.VerifyTokenRequest(token=agent.access_token))
    ).principal
    assert list(fresh.readable_kb_ids) == [KB_A]
    assert await authorize(auth, fresh, "conversations.read", KB_A)
    assert not await authorize(auth, fresh, "conversations.read", KB_B)
    assert not await authorize(auth, fresh, "crawl.submit", KB_A)

    changed = await auth.stub.ChangeRole(
        auth_pb2.ChangeRoleRequest(actor=owner, user_id=user_id, role="editor", client=CLIENT)
    )
    assert changed.role == "editor"
    # The same, still valid access token now carries the new role.
    promoted = (
        await auth.stub.VerifyToken(auth_pb2.VerifyTokenRequest(token=agent.access_token))
    ).principal
    assert promoted.role == "editor"
    assert await authorize(auth, promoted, "crawl.submit", KB_A)
    entries = await actions(auth, "member.role_change")
    assert [(e.target_id, json.loads(e.detail_json)) for e in entries] == [
        (user_id, {"from": "agent", "to": "editor"})
    ]
    assert (entries[0].actor_label, entries[0].ip) == ("owner@example.test", "192.0.2.9")

    # An editor's new knowledge base is granted to them; a deleted one disappears.
    await auth.stub.KnowledgeBaseCreated(auth_pb2.KnowledgeBaseEvent(actor=promoted, kb_id=KB_B))
    both = (
        await auth.stub.VerifyToken(auth_pb2.VerifyTokenRequest(token=agent.access_token))
    ).principal
    assert sorted(both.readable_kb_ids) == sorted([KB_A, KB_B])
    await auth.stub.KnowledgeBaseDeleted(auth_pb2.KnowledgeBaseEvent(actor=owner, kb_id=KB_B))
    after = (
        await auth.stub.VerifyToken(auth_pb2.VerifyTokenRequest(token=agent.access_token))
    ).principal
    assert list(after.readable_kb_ids) == [KB_A]


async def test_owners_are_protected(auth: AuthClient) -> None:
    owner = await auth.owner()
    admin = (await member(auth, "admin@example.test", "admin")).principal
    last_owner = await refused(
        auth.stub.ChangeRole(
            auth_pb2.ChangeRoleRequest(actor=owner, user_id=owner.subject, role="admin")
        )
    )
    assert last_owner.code() == grpc.StatusCode.FAILED_PRECONDITION
    by_admin = await refused(
        auth.stub.ChangeRole(
            auth_pb2.ChangeRoleRequest(actor=admin, user_id=owner.subject, role="viewer")
        )
    )
    assert by_admin.code() == grpc.StatusCode.PERMISSION_DENIED
    stranger = await refused(
        auth.stub.ChangeRole(
            auth_pb2.ChangeRoleRequest(actor=owner, user_id=str(uuid.uuid4()), role="viewer")
        )
    )
    assert stranger.code() == grpc.StatusCode.NOT_FOUND


async def test_removed_member_loses_access_at_once(auth: AuthClient) -> None:
    owner = await auth.owner()
    viewer = await member(auth, "gone@example.test", "viewer")
    await auth.stub.RemoveMember(
        auth_pb2.RemoveMemberRequest(actor=owner, user_id=viewer.principal.subject)
    )
    token = await refused(
        auth.stub.VerifyToken(auth_pb2.VerifyTokenRequest(token=viewer.access_token))
    )
    assert token.code() == grpc.StatusCode.UNAUTHENTICATED
    refresh = await refused(
        auth.stub.Refresh(auth_pb2.RefreshRequest(refresh_token=viewer.refresh_token))
    )
    assert refresh.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_server_key_is_scoped_listed_without_secret_and_revocable(auth: AuthClient) -> None:
    owner = await auth.owner()
    created = await auth.stub.CreateApiKey(
        auth_pb2.CreateApiKeyRequest(
            actor=owner, name="pipeline", scopes=["ingest"], kb_ids=[KB_A], client=CLIENT
        )
    )
    assert created.secret.startswith(f"rck_{created.key.prefix}_")
    verified = (
        await auth.stub.VerifyApiKey(auth_pb2.VerifyApiKeyRequest(api_key=created.secret))
    ).principal
    assert verified.kind == principal_pb2.PRINCIPAL_KIND_API_KEY
    assert (verified.subject, list(verified.scopes)) == (created.key.id, ["ingest"])
    assert await authorize(auth, verified, "crawl.submit", KB_A)
    assert not await authorize(auth, verified, "crawl.submit", KB_B)
    assert not await authorize(auth, verified, "chat.converse", KB_A)
    assert not await authorize(auth, verified, "users.manage")

    listed = (await auth.stub.ListApiKeys(auth_pb2.ListApiKeysRequest(actor=owner))).keys
    assert [k.name for k in listed] == ["pipeline"]
    assert listed[0].last_used_at_ms > 0
    assert created.secret.split("_")[-1] not in str(listed[0])

    tampered = await refused(
        auth.stub.VerifyApiKey(auth_pb2.VerifyApiKeyRequest(api_key=created.secret + "x"))
    )
    assert tampered.code() == grpc.StatusCode.UNAUTHENTICATED
    revoked = await auth.stub.RevokeApiKey(
        auth_pb2.RevokeApiKeyRequest(actor=owner, key_id=created.key.id, client=CLIENT)
    )
    assert revoked.revoked_at_ms > 0
    after = await refused(
        auth.stub.VerifyApiKey(auth_pb2.VerifyApiKeyRequest(api_key=created.secret))
    )
    assert after.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "revoked" in after.details()
    assert [e.target_id for e in await actions(auth, "apikey.create")] == [created.key.id]
    assert [e.target_id for e in await actions(auth, "apikey.revoke")] == [created.key.id]


async def test_widget_key_works_only_from_its_origins(auth: AuthClient) -> None:
    owner = await auth.owner()
    created = await auth.stub.CreateApiKey(
        auth_pb2.CreateApiKeyRequest(
            actor=owner,
            name="site widget",
            kind="widget",
            scopes=["chat"],
            kb_ids=[KB_A],
            allowed_origins=["https://www.Example.com/"],
        )
    )
    assert list(created.key.allowed_origins) == ["https://www.example.com"]
    ok = await auth.stub.VerifyApiKey(
        auth_pb2.VerifyApiKeyRequest(api_key=created.secret, origin="https://www.example.com")
    )
    assert await authorize(auth, ok.principal, "chat.converse", KB_A)
    for origin in ("https://evil.example.net", "http://www.example.com", ""):
        error = await refused(
            auth.stub.VerifyApiKey(
                auth_pb2.VerifyApiKeyRequest(api_key=created.secret, origin=origin)
            )
        )
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED, origin

    too_broad = await refused(
        auth.stub.CreateApiKey(
            auth_pb2.CreateApiKeyRequest(
                actor=owner,
                name="w",
                kind="widget",
                scopes=["chat", "ingest"],
                kb_ids=[KB_A],
                allowed_origins=["https://a.test"],
            )
        )
    )
    assert too_broad.code() == grpc.StatusCode.INVALID_ARGUMENT
    no_kbs = await refused(
        auth.stub.CreateApiKey(auth_pb2.CreateApiKeyRequest(actor=owner, name="k", scopes=["read"]))
    )
    assert no_kbs.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_editor_may_not_manage_keys(auth: AuthClient) -> None:
    editor = (await member(auth, "ed@example.test", "editor")).principal
    error = await refused(
        auth.stub.CreateApiKey(
            auth_pb2.CreateApiKeyRequest(actor=editor, name="k", scopes=["read"], kb_ids=[KB_A])
        )
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_rotation_keeps_issued_tokens_valid_until_the_old_key_retires(
    auth: AuthClient,
) -> None:
    before = await auth.login()
    jwks = json.loads((await auth.stub.GetJwks(auth_pb2.GetJwksRequest())).jwks_json)
    old_kid = jwt.get_unverified_header(before.access_token)["kid"]
    assert [k["kid"] for k in jwks["keys"]] == [old_kid]
    key = jwt.PyJWKSet.from_dict(jwks)[old_kid].key
    assert jwt.decode(before.access_token, key, algorithms=["EdDSA"], audience="ragchat")["sub"]

    admin = (await member(auth, "admin@example.test", "admin")).principal
    denied = await refused(
        auth.stub.RotateSigningKey(auth_pb2.RotateSigningKeyRequest(actor=admin))
    )
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    rotated = await auth.stub.RotateSigningKey(
        auth_pb2.RotateSigningKeyRequest(actor=before.principal, client=CLIENT)
    )
    after = await auth.login()
    assert jwt.get_unverified_header(after.access_token)["kid"] == rotated.kid != old_kid
    both = json.loads((await auth.stub.GetJwks(auth_pb2.GetJwksRequest())).jwks_json)
    assert sorted(k["kid"] for k in both["keys"]) == sorted([old_kid, rotated.kid])
    await auth.stub.VerifyToken(auth_pb2.VerifyTokenRequest(token=before.access_token))

    # Time passes beyond the old key's retirement: its tokens are refused, new ones are not.
    await sql(
        auth,
        "UPDATE auth.signing_keys SET retire_at = now() - interval '1 second' WHERE kid = :kid",
        kid=old_kid,
    )
    retired = await refused(
        auth.stub.VerifyToken(auth_pb2.VerifyTokenRequest(token=before.access_token))
    )
    assert retired.code() == grpc.StatusCode.UNAUTHENTICATED
    await auth.stub.VerifyToken(auth_pb2.VerifyTokenRequest(token=after.access_token))
    assert [e.target_id for e in await actions(auth, "signing_key.rotate")] == [rotated.kid]


async def test_private_keys_are_stored_encrypted(auth: AuthClient) -> None:
    engine = db.create_engine(auth.settings.postgres)
    try:
        async with engine.connect() as conn:
            pems = (await conn.execute(text("SELECT private_pem FROM auth.signing_keys"))).all()
    finally:
        await engine.dispose()
    assert pems and all("ENCRYPTED PRIVATE KEY" in row[0] for row in pems)


async def test_audit_log_filters_and_is_for_admins_only(auth: AuthClient) -> None:
    owner = await auth.owner()
    viewer = (await member(auth, "viewer@example.test", "viewer")).principal
    await auth.stub.RecordAudit(
        auth_pb2.RecordAuditRequest(
            actor=owner,
            action="kb.delete",
            target_type="kb",
            target_id=KB_A,
            detail_json='{"name": "docs"}',
            client=CLIENT,
        )
    )
    await auth.stub.RecordAudit(
        auth_pb2.RecordAuditRequest(
            actor=viewer, action="crawl.submit", outcome="denied", target_type="kb", target_id=KB_B
        )
    )
    by_action = await auth.stub.QueryAudit(
        auth_pb2.QueryAuditRequest(actor=owner, action="kb.delete")
    )
    assert [(e.target_id, e.outcome, e.ip) for e in by_action.entries] == [
        (KB_A, "success", "192.0.2.9")
    ]
    by_actor = await auth.stub.QueryAudit(
        auth_pb2.QueryAuditRequest(actor=owner, actor_id=viewer.subject)
    )
    assert {e.action for e in by_actor.entries} == {"invitation.accept", "crawl.submit"}

    now = datetime.now(UTC)
    future = int((now + timedelta(hours=1)).timestamp() * 1000)
    past = int((now - timedelta(hours=1)).timestamp() * 1000)
    later = await auth.stub.QueryAudit(auth_pb2.QueryAuditRequest(actor=owner, since_ms=future))
    assert list(later.entries) == []
    window = await auth.stub.QueryAudit(
        auth_pb2.QueryAuditRequest(actor=owner, since_ms=past, until_ms=future, limit=2)
    )
    assert len(window.entries) == 2
    page = await auth.stub.QueryAudit(
        auth_pb2.QueryAuditRequest(actor=owner, before_id=window.entries[-1].id, limit=500)
    )
    assert all(e.id < window.entries[-1].id for e in page.entries) and page.entries

    denied = await refused(auth.stub.QueryAudit(auth_pb2.QueryAuditRequest(actor=viewer)))
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    bad = await refused(
        auth.stub.RecordAudit(
            auth_pb2.RecordAuditRequest(actor=owner, action="x", detail_json="[1]")
        )
    )
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_authorize_answers_the_whole_role_matrix_over_grpc(auth: AuthClient) -> None:
    sessions = {Role.OWNER: await auth.login()}
    for role in Role:
        if role is not Role.OWNER:
            sessions[role] = await member(auth, f"{role.value}@example.test", role.value)
    for role, session in sessions.items():
        principal = (
            await auth.stub.VerifyToken(auth_pb2.VerifyTokenRequest(token=session.access_token))
        ).principal
        if not principal.all_kbs:
            await auth.stub.SetKnowledgeBaseGrant(
                auth_pb2.SetKnowledgeBaseGrantRequest(
                    actor=sessions[Role.OWNER].principal,
                    user_id=principal.subject,
                    kb_id=KB_A,
                    granted=True,
                )
            )
            principal = (
                await auth.stub.VerifyToken(auth_pb2.VerifyTokenRequest(token=session.access_token))
            ).principal
        for action, rule in RULES.items():
            allowed = await authorize(auth, principal, action, KB_A if rule.on_kb else "")
            assert allowed is (role in rule.roles), (role, action)
