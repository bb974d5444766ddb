"""Accounts and sessions through the real gRPC server and PostgreSQL: first owner, sign-up,
login, refresh rotation and reuse detection, logout, password change."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from ragchat.v1 import auth_pb2, principal_pb2
from ragchat_auth.settings import AuthSettings

from .harness import OWNER_EMAIL, OWNER_PASSWORD, AuthClient, running_auth

pytestmark = pytest.mark.integration

CLIENT = auth_pb2.ClientInfo(ip="198.51.100.4", user_agent="test-agent/1.0")


async def refused(call: object) -> grpc.aio.AioRpcError:
    """The error a call ended with (it must end with one)."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    return caught.value


async def audit(auth: AuthClient, action: str) -> list[auth_pb2.AuditEntry]:
    reply = await auth.stub.QueryAudit(
        auth_pb2.QueryAuditRequest(actor=await auth.owner(), action=action)
    )
    return list(reply.entries)


async def test_first_start_creates_one_owner_with_a_generated_password(
    make_settings: Callable[..., AuthSettings], tmp_path: Path
) -> None:
    settings = make_settings(bootstrap_password=None)
    async with running_auth(settings) as auth:
        password_file = tmp_path / "secrets" / "owner-password"
        password = password_file.read_text().strip()
        assert len(password) >= 16
        assert oct(password_file.stat().st_mode & 0o777) == "0o600"
        session = await auth.login(OWNER_EMAIL, password)
        assert session.principal.role == "owner"
        assert session.principal.all_kbs
    password_file.unlink()
    async with running_auth(settings) as auth:  # a restart creates nobody
        members = await auth.stub.ListMembers(
            auth_pb2.ListMembersRequest(actor=(await auth.login(OWNER_EMAIL, password)).principal)
        )
        assert [m.email for m in members.members] == [OWNER_EMAIL]
        assert not password_file.exists()


async def test_register_creates_an_organisation_owned_by_the_new_user(auth: AuthClient) -> None:
    session = await auth.stub.Register(
        auth_pb2.RegisterRequest(
            organisation_name="Acme",
            email="  Founder@Acme.test ",
            password="founder password",
            display_name="Founder",
            client=CLIENT,
        )
    )
    assert session.principal.role == "owner"
    assert session.principal.label == "founder@acme.test"
    assert session.principal.kind == principal_pb2.PRINCIPAL_KIND_USER
    assert session.principal.tenant_id != (await auth.owner()).tenant_id
    verified = await auth.stub.VerifyToken(auth_pb2.VerifyTokenRequest(token=session.access_token))
    assert verified.principal == session.principal

    again = await refused(
        auth.stub.Register(
            auth_pb2.RegisterRequest(
                organisation_name="Acme 2", email="founder@acme.test", password="x" * 12
            )
        )
    )
    assert again.code() == grpc.StatusCode.ALREADY_EXISTS
    weak = await refused(
        auth.stub.Register(
            auth_pb2.RegisterRequest(organisation_name="B", email="b@b.test", password="short")
        )
    )
    assert weak.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "at least 10 characters" in weak.details()


async def test_closed_registration_is_refused(make_settings: Callable[..., AuthSettings]) -> None:
    async with running_auth(make_settings(registration_open=False)) as auth:
        error = await refused(
            auth.stub.Register(
                auth_pb2.RegisterRequest(organisation_name="A", email="a@a.test", password="x" * 12)
            )
        )
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_login_failures_look_alike_and_are_audited(auth: AuthClient) -> None:
    wrong_password = await refused(auth.login(OWNER_EMAIL, "not the password"))
    unknown_email = await refused(auth.login("nobody@example.test", OWNER_PASSWORD))
    assert wrong_password.code() == unknown_email.code() == grpc.StatusCode.UNAUTHENTICATED
    assert wrong_password.details() == unknown_email.details() == "wrong email or password"

    await auth.login()
    entries = await audit(auth, "login")
    outcomes = [(e.outcome, e.actor_label) for e in entries]
    # The owner's tenant sees the attempt on its member; the unknown email belongs to no tenant.
    assert ("failure", OWNER_EMAIL) in outcomes
    assert ("success", OWNER_EMAIL) in outcomes
    assert all(e.actor_label != "nobody@example.test" for e in entries)
    success = next(e for e in entries if e.outcome == "success")
    assert (success.ip, success.user_agent) == ("203.0.113.7", "pytest")


async def test_tampered_and_garbage_tokens_are_refused(auth: AuthClient) -> None:
    token = (await auth.login()).access_token
    head, body, signature = token.split(".")
    tampered = f"{head}.{body}.{signature[:-4]}AAAA"
    for bad in (tampered, "garbage", ""):
        error = await refused(auth.stub.VerifyToken(auth_pb2.VerifyTokenRequest(token=bad)))
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_refresh_rotates_and_reuse_revokes_the_whole_family(auth: AuthClient) -> None:
    first = await auth.login()
    second = await auth.stub.Refresh(
        auth_pb2.RefreshRequest(refresh_token=first.refresh_token, client=CLIENT)
    )
    assert second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token
    third = await auth.stub.Refresh(auth_pb2.RefreshRequest(refresh_token=second.refresh_token))

    # The first token is replayed (stolen): refused, and the live token of its family dies too.
    replay = await refused(
        auth.stub.Refresh(auth_pb2.RefreshRequest(refresh_token=first.refresh_token, client=CLIENT))
    )
    assert replay.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "already used" in replay.details()
    live = await refused(
        auth.stub.Refresh(auth_pb2.RefreshRequest(refresh_token=third.refresh_token))
    )
    assert live.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "revoked" in live.details()

    # Another session of the same user is untouched.
    other = await auth.login()
    await auth.stub.Refresh(auth_pb2.RefreshRequest(refresh_token=other.refresh_token))
    reuse = await audit(auth, "session.reuse_detected")
    assert [(e.outcome, e.ip) for e in reuse] == [("denied", "198.51.100.4")]


async def test_unknown_refresh_token_is_refused(auth: AuthClient) -> None:
    error = await refused(auth.stub.Refresh(auth_pb2.RefreshRequest(refresh_token="made-up")))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_logout_ends_the_session(auth: AuthClient) -> None:
    session = await auth.login()
    await auth.stub.Logout(auth_pb2.LogoutRequest(refresh_token=session.refresh_token))
    error = await refused(
        auth.stub.Refresh(auth_pb2.RefreshRequest(refresh_token=session.refresh_token))
    )
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert len(await audit(auth, "logout")) == 1


async def test_password_change_ends_every_other_session(auth: AuthClient) -> None:
    here, elsewhere = await auth.login(), await auth.login()
    wrong = await refused(
        auth.stub.ChangePassword(
            auth_pb2.ChangePasswordRequest(
                actor=here.principal, current_password="wrong one!", new_password="new password 2"
            )
        )
    )
    assert wrong.code() == grpc.StatusCode.UNAUTHENTICATED

    fresh = await auth.stub.ChangePassword(
        auth_pb2.ChangePasswordRequest(
            actor=here.principal,
            current_password=OWNER_PASSWORD,
            new_password="new password 2",
            client=CLIENT,
        )
    )
    for old in (here, elsewhere):
        error = await refused(
            auth.stub.Refresh(auth_pb2.RefreshRequest(refresh_token=old.refresh_token))
        )
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED
        error = await refused(
            auth.stub.VerifyToken(auth_pb2.VerifyTokenRequest(token=old.access_token))
        )
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "password change" in error.details()
    await auth.stub.VerifyToken(auth_pb2.VerifyTokenRequest(token=fresh.access_token))
    await auth.stub.Refresh(auth_pb2.RefreshRequest(refresh_token=fresh.refresh_token))
    assert (await refused(auth.login())).code() == grpc.StatusCode.UNAUTHENTICATED
    owner = (await auth.login(OWNER_EMAIL, "new password 2")).principal
    reply = await auth.stub.QueryAudit(
        auth_pb2.QueryAuditRequest(actor=owner, action="password.change")
    )
    assert [e.outcome for e in reply.entries] == ["success", "failure"]


async def test_server_publishes_auth_service_through_reflection(auth: AuthClient) -> None:
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{auth.settings.grpc_port}")
    try:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        call = stub.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")])
        )
        names = {s.name async for reply in call for s in reply.list_services_response.service}
    finally:
        await channel.close()
    assert "ragchat.v1.AuthService" in names
