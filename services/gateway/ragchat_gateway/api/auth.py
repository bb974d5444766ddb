"""Accounts and sessions over REST: register, login, refresh, logout, password, me, invitations.

Every decision is AuthService's; these routes translate HTTP to its RPCs. The refresh token is
returned in the body (for the CLI) and in an HttpOnly, SameSite=Strict cookie limited to
``/api/v1/auth`` (for the web app, which keeps the access token in memory only).
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Cookie, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from ragchat.v1 import auth_pb2, principal_pb2

from ragchat_gateway.api.deps import (
    COMMON_ERRORS,
    ApiError,
    Context,
    CurrentPrincipal,
    PlainText,
    Principal,
    client_info,
    error_responses,
    is_user,
    readable_kb_ids,
    require,
    time_of_ms,
)

AUTH_PREFIX = "/api/v1/auth"
REFRESH_COOKIE = "ragchat_refresh"

router = APIRouter(prefix="/api/v1", tags=["auth"], responses=COMMON_ERRORS)
jwks_router = APIRouter(tags=["auth"])

# A plausible address; auth normalises it and the invitation mail proves it.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class Credentials(BaseModel):
    """Email and password."""

    model_config = ConfigDict(extra="forbid")

    email: PlainText = Field(pattern=EMAIL_PATTERN, max_length=320, examples=["ada@example.com"])
    password: PlainText = Field(min_length=1, max_length=1024, examples=["correct horse battery"])


class Registration(Credentials):
    """A new account and the organisation it owns."""

    organization_name: PlainText = Field(min_length=1, max_length=200, examples=["Example Inc."])
    display_name: PlainText = Field(default="", max_length=200)


class RefreshBody(BaseModel):
    """The refresh token, when not sent as the cookie (CLI)."""

    model_config = ConfigDict(extra="forbid")

    refresh_token: PlainText | None = Field(default=None, max_length=4096)


class PasswordChange(BaseModel):
    """The current password and the new one."""

    model_config = ConfigDict(extra="forbid")

    current_password: PlainText = Field(min_length=1, max_length=1024)
    new_password: PlainText = Field(min_length=1, max_length=1024)


class InvitationAcceptance(BaseModel):
    """The invitation token and the invitee's password."""

    model_config = ConfigDict(extra="forbid")

    token: PlainText = Field(min_length=1, max_length=4096)
    password: PlainText = Field(min_length=1, max_length=1024)
    display_name: PlainText = Field(default="", max_length=200)


class InvitationRequest(BaseModel):
    """Whom to invite, with which role."""

    model_config = ConfigDict(extra="forbid")

    email: PlainText = Field(pattern=EMAIL_PATTERN, max_length=320, examples=["grace@example.com"])
    role: Literal["owner", "admin", "editor", "agent", "viewer"] = Field(examples=["editor"])


class InvitationOut(BaseModel):
    """A created invitation; the token is shown once."""

    id: str
    email: str
    role: str
    token: str
    expires_at: datetime | None


class SessionUser(BaseModel):
    """The user a session belongs to."""

    id: str
    email: str
    role: str
    tenant_id: str


class SessionOut(BaseModel):
    """Tokens of a logged-in user."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.eyJzdWIiOiIuLi4ifQ.sig",
                    "refresh_token": "rt_3q2b...",
                    "token_type": "bearer",
                    "expires_in": 900,
                    "user": {
                        "id": "7d1e9c2a-3b4f-4a5d-8e6f-7a8b9c0d1e2f",
                        "email": "ada@example.com",
                        "role": "owner",
                        "tenant_id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
                    },
                }
            ]
        }
    )

    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires")
    user: SessionUser


class Me(BaseModel):
    """Who the caller is and what it may read."""

    id: str
    email: str
    role: str
    tenant_id: str
    kind: Literal["user", "api_key"]
    readable_kb_ids: list[str]
    all_kbs: bool
    scopes: list[str] = Field(default_factory=list)


def _session_out(session: auth_pb2.Session) -> SessionOut:
    principal = session.principal
    expires_in = max(0, int((session.access_expires_at_ms - time.time() * 1000) / 1000))
    return SessionOut(
        access_token=session.access_token,
        refresh_token=session.refresh_token,
        expires_in=expires_in,
        user=SessionUser(
            id=principal.subject,
            email=principal.label,
            role=principal.role,
            tenant_id=principal.tenant_id,
        ),
    )


def _with_cookie(response: Response, session: auth_pb2.Session, secure: bool) -> SessionOut:
    max_age = max(0, int((session.refresh_expires_at_ms - time.time() * 1000) / 1000))
    response.set_cookie(
        REFRESH_COOKIE,
        session.refresh_token,
        max_age=max_age,
        path=AUTH_PREFIX,
        httponly=True,
        samesite="strict",
        secure=secure,
    )
    response.headers["Cache-Control"] = "no-store"
    return _session_out(session)


def _clear_cookie(response: Response, secure: bool) -> None:
    response.delete_cookie(
        REFRESH_COOKIE, path=AUTH_PREFIX, httponly=True, samesite="strict", secure=secure
    )


RefreshCookie = Annotated[str | None, Cookie(alias=REFRESH_COOKIE, include_in_schema=False)]


@router.post(
    "/auth/register", response_model=SessionOut, status_code=201, responses=error_responses(409)
)
async def register(
    body: Registration, request: Request, response: Response, context: Context
) -> SessionOut:
    """Create an organisation and its owner, and log in."""
    session = await context.auth.Register(
        auth_pb2.RegisterRequest(
            organisation_name=body.organization_name,
            email=body.email,
            password=body.password,
            display_name=body.display_name,
            client=client_info(request),
        ),
        timeout=context.timeout_s,
    )
    return _with_cookie(response, session, context.settings.refresh_cookie_secure)


@router.post("/auth/login", response_model=SessionOut)
async def login(
    body: Credentials, request: Request, response: Response, context: Context
) -> SessionOut:
    """Email and password to a session (every failure is the same 401)."""
    session = await context.auth.Login(
        auth_pb2.LoginRequest(
            email=body.email, password=body.password, client=client_info(request)
        ),
        timeout=context.timeout_s,
    )
    return _with_cookie(response, session, context.settings.refresh_cookie_secure)


def _refresh_token(body: RefreshBody | None, cookie: str | None) -> str:
    token = (body.refresh_token if body else None) or cookie
    if not token:
        raise ApiError(401, "unauthenticated", "no refresh token (cookie or body)")
    return token


@router.post("/auth/refresh", response_model=SessionOut)
async def refresh(
    request: Request,
    response: Response,
    context: Context,
    cookie: RefreshCookie = None,
    body: RefreshBody | None = None,
) -> SessionOut:
    """Spend a refresh token for a new pair; a token used twice ends its whole session."""
    session = await context.auth.Refresh(
        auth_pb2.RefreshRequest(
            refresh_token=_refresh_token(body, cookie), client=client_info(request)
        ),
        timeout=context.timeout_s,
    )
    return _with_cookie(response, session, context.settings.refresh_cookie_secure)


@router.post("/auth/logout", status_code=204, response_class=Response)
async def logout(
    request: Request,
    context: Context,
    cookie: RefreshCookie = None,
    body: RefreshBody | None = None,
) -> Response:
    """End the session the refresh token belongs to and clear the cookie."""
    await context.auth.Logout(
        auth_pb2.LogoutRequest(
            refresh_token=_refresh_token(body, cookie), client=client_info(request)
        ),
        timeout=context.timeout_s,
    )
    response = Response(status_code=204)
    _clear_cookie(response, context.settings.refresh_cookie_secure)
    return response


@router.post("/auth/password", response_model=SessionOut)
async def change_password(
    body: PasswordChange,
    request: Request,
    response: Response,
    context: Context,
    principal: CurrentPrincipal,
) -> SessionOut:
    """Change the caller's password; every other session ends, a fresh one is returned."""
    if not is_user(principal):
        raise ApiError(403, "forbidden", "API keys have no password")
    session = await context.auth.ChangePassword(
        auth_pb2.ChangePasswordRequest(
            actor=principal,
            current_password=body.current_password,
            new_password=body.new_password,
            client=client_info(request),
        ),
        timeout=context.timeout_s,
    )
    return _with_cookie(response, session, context.settings.refresh_cookie_secure)


@router.get("/auth/me", response_model=Me)
async def me(context: Context, principal: CurrentPrincipal) -> Me:
    """The caller, with the knowledge bases it may read spelled out."""
    return Me(
        id=principal.subject,
        email=principal.label,
        role=principal.role,
        tenant_id=principal.tenant_id,
        kind="api_key" if principal.kind == principal_pb2.PRINCIPAL_KIND_API_KEY else "user",
        readable_kb_ids=await readable_kb_ids(context, principal),
        all_kbs=principal.all_kbs,
        scopes=list(principal.scopes),
    )


@router.post(
    "/auth/invitations/accept",
    response_model=SessionOut,
    responses=error_responses(404, 409),
)
async def accept_invitation(
    body: InvitationAcceptance, request: Request, response: Response, context: Context
) -> SessionOut:
    """Accept an invitation: create the account (or join with an existing one) and log in."""
    session = await context.auth.AcceptInvitation(
        auth_pb2.AcceptInvitationRequest(
            token=body.token,
            password=body.password,
            display_name=body.display_name,
            client=client_info(request),
        ),
        timeout=context.timeout_s,
    )
    return _with_cookie(response, session, context.settings.refresh_cookie_secure)


@router.post(
    "/invitations",
    response_model=InvitationOut,
    status_code=201,
    responses=error_responses(409),
)
async def create_invitation(
    body: InvitationRequest,
    request: Request,
    context: Context,
    principal: Annotated[Principal, Depends(require("users.manage"))],
) -> InvitationOut:
    """Invite an email into the caller's organisation with a role (admin)."""
    invitation = await context.auth.CreateInvitation(
        auth_pb2.CreateInvitationRequest(
            actor=principal, email=body.email, role=body.role, client=client_info(request)
        ),
        timeout=context.timeout_s,
    )
    return InvitationOut(
        id=invitation.id,
        email=invitation.email,
        role=invitation.role,
        token=invitation.token,
        expires_at=time_of_ms(invitation.expires_at_ms),
    )


async def _jwks(context: Context) -> Response:
    reply = await context.auth.GetJwks(auth_pb2.GetJwksRequest(), timeout=context.timeout_s)
    # Parsed and re-serialised so a broken document fails here, not in a client.
    document: dict[str, Any] = json.loads(reply.jwks_json)
    return Response(
        json.dumps(document),
        media_type="application/json",
        headers={"Cache-Control": "public, max-age=300"},
    )


_JWKS_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The JWKS document",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


@router.get("/auth/jwks", response_class=Response, responses=_JWKS_DOC)
async def jwks(context: Context) -> Response:
    """Public keys that verify access tokens (JWKS)."""
    return await _jwks(context)


@jwks_router.get("/.well-known/jwks.json", response_class=Response, responses=_JWKS_DOC)
async def well_known_jwks(context: Context) -> Response:
    """Public keys that verify access tokens (JWKS), at the well-known address."""
    return await _jwks(context)
