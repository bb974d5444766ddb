"""``ragchat.v1.AuthService``: protobuf in, the auth domain in the middle, protobuf out.

Domain refusals become gRPC statuses with the domain's message (see :data:`STATUS`); anything
else is a bug and surfaces as UNKNOWN with the exception logged by grpc.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import grpc
from ragchat.v1 import auth_pb2, auth_pb2_grpc
from ragchat_common.rpc import Registrar

from ragchat_auth.api import convert
from ragchat_auth.domain.accounts import Accounts
from ragchat_auth.domain.api_keys import ApiKeys, KeyRequest
from ragchat_auth.domain.audit import AuditTrail, Outcome
from ragchat_auth.domain.errors import (
    AlreadyExists,
    AuthError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from ragchat_auth.domain.invitations import Invitations
from ragchat_auth.domain.members import Members, require
from ragchat_auth.domain.rules import Principal, authorize
from ragchat_auth.domain.signing_keys import SigningKeys

SERVICE_NAME = auth_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name

STATUS: dict[type[AuthError], grpc.StatusCode] = {
    Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    NotFound: grpc.StatusCode.NOT_FOUND,
    FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
}

Req = TypeVar("Req")
Resp = TypeVar("Resp")
Handler = Callable[["AuthService", Req, grpc.aio.ServicerContext], Awaitable[Resp]]


def refusals_as_status(method: Handler[Req, Resp]) -> Handler[Req, Resp]:
    """Answer a domain refusal with its gRPC status and message."""

    @functools.wraps(method)
    async def handle(self: AuthService, request: Req, context: grpc.aio.ServicerContext) -> Resp:
        try:
            return await method(self, request, context)
        except AuthError as exc:
            await context.abort(STATUS.get(type(exc), grpc.StatusCode.UNKNOWN), str(exc))
            raise  # abort raises; this line only tells type checkers so

    return handle


@dataclass(frozen=True)
class AuthOperations:
    """Everything the API serves, wired by ``main.py``."""

    accounts: Accounts
    invitations: Invitations
    members: Members
    api_keys: ApiKeys
    signing_keys: SigningKeys
    audit: AuditTrail


def register(service: AuthService) -> Registrar:
    """Adds ``service`` to a gRPC server (for :meth:`ServiceRuntime.serve_grpc`)."""

    def add(server: grpc.aio.Server) -> None:
        # The generated registration function has no type hints.
        auth_pb2_grpc.add_AuthServiceServicer_to_server(service, server)  # type: ignore[no-untyped-call]

    return add


class AuthService(auth_pb2_grpc.AuthServiceServicer):
    """Every RPC of ``ragchat.v1.AuthService``."""

    def __init__(self, ops: AuthOperations) -> None:
        self.ops = ops

    # Verification and decisions.

    @refusals_as_status
    async def VerifyToken(self, request, context):  # type: ignore[no-untyped-def]
        principal = await self.ops.accounts.verify_token(request.token)
        return auth_pb2.VerifyResponse(principal=convert.principal_message(principal))

    @refusals_as_status
    async def VerifyApiKey(self, request, context):  # type: ignore[no-untyped-def]
        principal = await self.ops.api_keys.verify(request.api_key, request.origin)
        return auth_pb2.VerifyResponse(principal=convert.principal_message(principal))

    @refusals_as_status
    async def Authorize(self, request, context):  # type: ignore[no-untyped-def]
        principal = convert.principal_of(request.principal, request.HasField("principal"))
        decision = authorize(principal, request.action, request.resource_type, request.resource_id)
        return auth_pb2.AuthorizeResponse(allowed=decision.allowed, reason=decision.reason)

    # Accounts and sessions.

    @refusals_as_status
    async def Register(self, request, context):  # type: ignore[no-untyped-def]
        session = await self.ops.accounts.register(
            request.organisation_name,
            request.email,
            request.password,
            request.display_name,
            convert.client_of(request.client),
        )
        return convert.session_message(session)

    @refusals_as_status
    async def Login(self, request, context):  # type: ignore[no-untyped-def]
        session = await self.ops.accounts.login(
            request.email, request.password, request.tenant_id, convert.client_of(request.client)
        )
        return convert.session_message(session)

    @refusals_as_status
    async def Refresh(self, request, context):  # type: ignore[no-untyped-def]
        session = await self.ops.accounts.refresh(
            request.refresh_token, convert.client_of(request.client)
        )
        return convert.session_message(session)

    @refusals_as_status
    async def Logout(self, request, context):  # type: ignore[no-untyped-def]
        await self.ops.accounts.logout(request.refresh_token, convert.client_of(request.client))
        return auth_pb2.LogoutResponse()

    @refusals_as_status
    async def ChangePassword(self, request, context):  # type: ignore[no-untyped-def]
        session = await self.ops.accounts.change_password(
            _actor(request),
            request.current_password,
            request.new_password,
            convert.client_of(request.client),
        )
        return convert.session_message(session)

    # Invitations and members.

    @refusals_as_status
    async def CreateInvitation(self, request, context):  # type: ignore[no-untyped-def]
        issued = await self.ops.invitations.create(
            _actor(request), request.email, request.role, convert.client_of(request.client)
        )
        return convert.invitation_message(issued)

    @refusals_as_status
    async def AcceptInvitation(self, request, context):  # type: ignore[no-untyped-def]
        session = await self.ops.invitations.accept(
            request.token,
            request.password,
            request.display_name,
            convert.client_of(request.client),
        )
        return convert.session_message(session)

    @refusals_as_status
    async def ListMembers(self, request, context):  # type: ignore[no-untyped-def]
        members = await self.ops.members.list_members(_actor(request))
        return auth_pb2.ListMembersResponse(members=[convert.member_message(m) for m in members])

    @refusals_as_status
    async def ChangeRole(self, request, context):  # type: ignore[no-untyped-def]
        member = await self.ops.members.change_role(
            _actor(request), request.user_id, request.role, convert.client_of(request.client)
        )
        return convert.member_message(member)

    @refusals_as_status
    async def RemoveMember(self, request, context):  # type: ignore[no-untyped-def]
        await self.ops.members.remove(
            _actor(request), request.user_id, convert.client_of(request.client)
        )
        return auth_pb2.RemoveMemberResponse()

    @refusals_as_status
    async def SetKnowledgeBaseGrant(self, request, context):  # type: ignore[no-untyped-def]
        kb_ids = await self.ops.members.set_grant(
            _actor(request),
            request.user_id,
            request.kb_id,
            request.granted,
            convert.client_of(request.client),
        )
        return auth_pb2.SetKnowledgeBaseGrantResponse(kb_ids=kb_ids)

    @refusals_as_status
    async def KnowledgeBaseCreated(self, request, context):  # type: ignore[no-untyped-def]
        await self.ops.members.knowledge_base_created(_actor(request), request.kb_id)
        return auth_pb2.KnowledgeBaseEventResponse()

    @refusals_as_status
    async def KnowledgeBaseDeleted(self, request, context):  # type: ignore[no-untyped-def]
        await self.ops.members.knowledge_base_deleted(_actor(request), request.kb_id)
        return auth_pb2.KnowledgeBaseEventResponse()

    # API keys.

    @refusals_as_status
    async def CreateApiKey(self, request, context):  # type: ignore[no-untyped-def]
        key, secret = await self.ops.api_keys.create(
            _actor(request),
            KeyRequest(
                name=request.name,
                kind=request.kind,
                scopes=list(request.scopes),
                kb_ids=list(request.kb_ids),
                allowed_origins=list(request.allowed_origins),
            ),
            convert.client_of(request.client),
        )
        return auth_pb2.CreateApiKeyResponse(key=convert.api_key_message(key), secret=secret)

    @refusals_as_status
    async def ListApiKeys(self, request, context):  # type: ignore[no-untyped-def]
        keys = await self.ops.api_keys.list_keys(_actor(request))
        return auth_pb2.ListApiKeysResponse(keys=[convert.api_key_message(k) for k in keys])

    @refusals_as_status
    async def RevokeApiKey(self, request, context):  # type: ignore[no-untyped-def]
        key = await self.ops.api_keys.revoke(
            _actor(request), request.key_id, convert.client_of(request.client)
        )
        return convert.api_key_message(key)

    # Signing keys.

    @refusals_as_status
    async def GetJwks(self, request, context):  # type: ignore[no-untyped-def]
        document = await self.ops.signing_keys.jwks()
        return auth_pb2.GetJwksResponse(jwks_json=json.dumps(document, sort_keys=True))

    @refusals_as_status
    async def RotateSigningKey(self, request, context):  # type: ignore[no-untyped-def]
        actor = _actor(request)
        require(actor, "signing_keys.rotate")
        kid = await self.ops.signing_keys.rotate()
        await self.ops.audit.record_for(
            actor,
            "signing_key.rotate",
            Outcome.SUCCESS,
            convert.client_of(request.client),
            target_type="signing_key",
            target_id=kid,
            detail={},
        )
        return auth_pb2.RotateSigningKeyResponse(kid=kid)

    # Audit log.

    @refusals_as_status
    async def RecordAudit(self, request, context):  # type: ignore[no-untyped-def]
        try:
            outcome = Outcome(request.outcome or Outcome.SUCCESS)
        except ValueError as exc:
            raise InvalidArgument("outcome must be success, failure or denied") from exc
        await self.ops.audit.record_for(
            _actor(request),
            request.action,
            outcome,
            convert.client_of(request.client),
            target_type=request.target_type,
            target_id=request.target_id,
            detail=convert.detail_of(request.detail_json),
        )
        return auth_pb2.RecordAuditResponse()

    @refusals_as_status
    async def QueryAudit(self, request, context):  # type: ignore[no-untyped-def]
        entries = await self.ops.audit.query(
            _actor(request),
            actor_id=request.actor_id,
            action=request.action,
            since=convert.from_ms(request.since_ms),
            until=convert.from_ms(request.until_ms),
            before_id=request.before_id or None,
            limit=request.limit or 100,
        )
        return auth_pb2.QueryAuditResponse(entries=[convert.audit_message(e) for e in entries])


def _actor(request: object) -> Principal:
    """The acting principal a management request carries."""
    message = request.actor  # type: ignore[attr-defined]
    return convert.principal_of(message, request.HasField("actor"))  # type: ignore[attr-defined]
