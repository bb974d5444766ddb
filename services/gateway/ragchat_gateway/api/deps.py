"""What every route of the gateway shares: the request context, the caller, role checks, errors.

- :class:`GatewayContext` holds the gateway's connections (gRPC stubs, Redis, Kafka, database);
  routes get it with ``Depends(get_context)``, WebSocket handlers with :func:`context_of`.
- :func:`current_principal` establishes who calls from ``Authorization: Bearer <JWT>`` or
  ``X-API-Key`` through AuthService; :func:`resolve_principal` does the same for WebSockets.
- :func:`require` and :func:`authorize` ask ``AuthService.Authorize``: the rules live in auth's one
  table, the gateway never decides on a role itself.
- :func:`readable_kb_ids` expands the principal into explicit knowledge-base ids of its tenant.
- :class:`ApiError` and :func:`install_error_handlers`: every error is
  ``{"error": {"code", "message", "request_id"}}``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import grpc
import structlog
from fastapi import Depends, FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from faststream.kafka import KafkaBroker
from opentelemetry import trace
from pydantic import AfterValidator, BaseModel, Field
from ragchat.v1 import (
    auth_pb2,
    auth_pb2_grpc,
    chat_pb2_grpc,
    principal_pb2,
    retriever_pb2_grpc,
)
from ragchat_common.logs import get_logger
from ragchat_common.rpc import GrpcPeer
from redis.asyncio import Redis
from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ragchat_gateway.domain.event_relay import EventHub
from ragchat_gateway.domain.rate_limits import RateLimited, RateLimiter
from ragchat_gateway.settings import GatewaySettings
from ragchat_gateway.store.tables import KnowledgeBase

log = get_logger(__name__)

Principal = principal_pb2.Principal
REQUEST_ID_HEADER = "X-Request-ID"
TRACE_ID_HEADER = "X-Trace-ID"


# --- context ------------------------------------------------------------------------------------


@dataclass
class GatewayContext:
    """The gateway's connections, created once per process and shared by every request."""

    settings: GatewaySettings
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis
    broker: KafkaBroker
    auth_peer: GrpcPeer
    retriever_peer: GrpcPeer
    chat_peer: GrpcPeer
    # Per-user, per-key, per-IP and global request budgets in Redis.
    rate_limiter: RateLimiter
    # This process's Redis pub/sub fan-out of live events to its /ws/events sockets.
    event_hub: EventHub

    @property
    def auth(self) -> auth_pb2_grpc.AuthServiceStub:
        """AuthService on the open channel (stubs are cheap; channels are per event loop).

        The generated stubs carry no type hints, hence the ignores.
        """
        return auth_pb2_grpc.AuthServiceStub(self.auth_peer.channel)  # type: ignore[no-untyped-call]

    @property
    def retriever(self) -> retriever_pb2_grpc.RetrieverServiceStub:
        """RetrieverService on the open channel."""
        return retriever_pb2_grpc.RetrieverServiceStub(self.retriever_peer.channel)  # type: ignore[no-untyped-call]

    @property
    def chat(self) -> chat_pb2_grpc.ChatServiceStub:
        """ChatService on the open channel."""
        return chat_pb2_grpc.ChatServiceStub(self.chat_peer.channel)  # type: ignore[no-untyped-call]

    @property
    def timeout_s(self) -> float:
        """Deadline of one unary gRPC call."""
        return self.settings.grpc_timeout_s


def context_of(app: Any) -> GatewayContext:
    """The context stored on the app (for WebSocket handlers and background tasks)."""
    context: GatewayContext = app.state.context
    return context


def get_context(request: Request) -> GatewayContext:
    """Dependency: the gateway context."""
    return context_of(request.app)


Context = Annotated[GatewayContext, Depends(get_context)]


async def db_session(context: Context) -> AsyncIterator[AsyncSession]:
    """Dependency: a session in one transaction, committed when the route returns normally."""
    async with context.sessions() as session, session.begin():
        yield session


DbSession = Annotated[AsyncSession, Depends(db_session)]


def time_of_ms(ms: int) -> datetime | None:
    """A protobuf time (ms since the epoch, 0 for unset) as an aware datetime."""
    return datetime.fromtimestamp(ms / 1000, UTC) if ms else None


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from exc
    return value


# Text the gateway stores or passes on: PostgreSQL text cannot hold NUL characters and neither it
# nor protobuf can encode lone surrogates (which JSON escapes can carry), so both are refused as a
# 422 here instead of failing deep inside a service.
PlainText = Annotated[str, AfterValidator(_storable)]


# --- errors -------------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    """What went wrong, in words a client developer can act on."""

    code: str = Field(examples=["forbidden"])
    message: str = Field(examples=["role 'viewer' may not kb.write"])
    request_id: str = Field(examples=["3f2b9c1e0a7d4e55"])


class ErrorResponse(BaseModel):
    """Body of every error response."""

    error: ErrorDetail


class ApiError(Exception):
    """An error with its HTTP status and a stable machine-readable code."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def not_found(what: str) -> ApiError:
    """404 for something missing or not visible to the caller (the two are not told apart)."""
    return ApiError(404, "not_found", f"{what} not found")


def forbidden(reason: str) -> ApiError:
    """403 with auth's reason."""
    return ApiError(403, "forbidden", reason)


_ERROR_EXAMPLES = {
    400: ("bad_request", "the request is not valid"),
    401: ("unauthenticated", "missing, expired or revoked credentials"),
    403: ("forbidden", "role 'viewer' may not kb.write"),
    404: ("not_found", "knowledge base not found"),
    409: ("conflict", "a knowledge base with this name exists"),
    413: ("payload_too_large", "request body larger than 1000000 bytes"),
    422: ("validation_error", "body.name: Field required"),
    429: ("rate_limited", "too many requests, retry later"),
    503: ("unavailable", "a service behind the gateway is unavailable"),
}


def _error_response_doc(status: int) -> dict[str, Any]:
    code, message = _ERROR_EXAMPLES[status]
    return {
        "model": ErrorResponse,
        "description": code.replace("_", " "),
        "content": {
            "application/json": {
                "example": {"error": {"code": code, "message": message, "request_id": "3f2b9c1e"}}
            }
        },
    }


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` documenting these error statuses with :class:`ErrorResponse`."""
    return {status: _error_response_doc(status) for status in statuses}


# Errors any authenticated route may answer; routers pass them as ``responses=``.
COMMON_ERRORS = error_responses(400, 401, 403, 413, 422, 429, 503)

_GRPC_TO_HTTP: dict[grpc.StatusCode, tuple[int, str]] = {
    grpc.StatusCode.UNAUTHENTICATED: (401, "unauthenticated"),
    grpc.StatusCode.PERMISSION_DENIED: (403, "forbidden"),
    grpc.StatusCode.INVALID_ARGUMENT: (400, "bad_request"),
    grpc.StatusCode.NOT_FOUND: (404, "not_found"),
    grpc.StatusCode.ALREADY_EXISTS: (409, "conflict"),
    grpc.StatusCode.FAILED_PRECONDITION: (409, "conflict"),
    grpc.StatusCode.RESOURCE_EXHAUSTED: (429, "rate_limited"),
    grpc.StatusCode.UNAVAILABLE: (503, "unavailable"),
    grpc.StatusCode.DEADLINE_EXCEEDED: (504, "timeout"),
}


def api_error_from_grpc(exc: grpc.aio.AioRpcError) -> ApiError:
    """The REST error for a failed gRPC call; statuses a client cannot act on become 502."""
    status, code = _GRPC_TO_HTTP.get(exc.code(), (502, "upstream_error"))
    message = exc.details() or code
    if status >= 500:
        # The peer's text may name internals; clients get a generic message, logs the detail.
        log.warning("grpc call failed", grpc_code=exc.code().name, detail=exc.details())
        message = "a service behind the gateway failed; retry later"
    return ApiError(status, code, message)


def request_id_of(request: Request | WebSocket) -> str:
    """The id the middleware gave this request."""
    value = request.scope.get("state", {}).get("request_id")
    return str(value) if value else ""


def error_json(
    status: int, code: str, message: str, request_id: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The JSON error response of the REST contract."""
    body = ErrorResponse(error=ErrorDetail(code=code, message=message, request_id=request_id))
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:10]:
        where = ".".join(str(p) for p in error.get("loc", ()))
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    """Turn every exception into the JSON error shape, with the request id."""

    def refused(
        request: Request,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> JSONResponse:
        # One line per refusal, with the request and trace ids bound by the middleware.
        log.info("request refused", status=status, code=code, reason=message[:300])
        return error_json(status, code, message, request_id_of(request), headers)

    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return refused(request, exc.status, exc.code, exc.message, exc.headers)

    async def on_grpc_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, grpc.aio.AioRpcError)
        error = api_error_from_grpc(exc)
        return refused(request, error.status, error.code, error.message)

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _HTTP_CODES.get(exc.status_code, "error")
        headers = dict(exc.headers) if exc.headers else None
        return refused(request, exc.status_code, code, str(exc.detail), headers)

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return refused(request, 422, "validation_error", _validation_message(exc))

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path)
        return error_json(500, "internal", "internal error", request_id_of(request))

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(grpc.aio.AioRpcError, on_grpc_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(Exception, on_unexpected)


# --- the caller ---------------------------------------------------------------------------------

_bearer = HTTPBearer(auto_error=False, description="Access token (JWT) from /api/v1/auth/login")
_api_key = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="API key from /api/v1/api-keys"
)


def client_info(request: Request | WebSocket) -> auth_pb2.ClientInfo:
    """The caller's IP and user agent, for auth's audit log."""
    ip = request.client.host if request.client else ""
    return auth_pb2.ClientInfo(ip=ip, user_agent=request.headers.get("user-agent", "")[:500])


async def resolve_principal(
    context: GatewayContext,
    *,
    token: str | None,
    api_key: str | None,
    origin: str | None,
) -> Principal:
    """Who is calling, from an access token or an API key (also used by WebSocket handlers).

    Raises :class:`ApiError` 401 when neither is given or auth refuses them.
    """
    try:
        if token:
            reply = await context.auth.VerifyToken(
                auth_pb2.VerifyTokenRequest(token=token), timeout=context.timeout_s
            )
        elif api_key:
            reply = await context.auth.VerifyApiKey(
                auth_pb2.VerifyApiKeyRequest(api_key=api_key, origin=origin or ""),
                timeout=context.timeout_s,
            )
        else:
            raise ApiError(
                401,
                "unauthenticated",
                "send an access token (Authorization: Bearer) or an API key (X-API-Key)",
                {"WWW-Authenticate": "Bearer"},
            )
    except grpc.aio.AioRpcError as exc:
        error = api_error_from_grpc(exc)
        if error.status == 401:
            error.headers = {"WWW-Authenticate": "Bearer"}
        if error.status == 403 and api_key:
            # A widget key used from an origin it does not allow.
            error.code = "forbidden"
        raise error from exc
    principal: Principal = reply.principal
    structlog.contextvars.bind_contextvars(
        principal=principal.subject, tenant_id=principal.tenant_id
    )
    return principal


async def current_principal(
    request: Request,
    context: Context,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
) -> Principal:
    """Dependency: the authenticated caller (401 otherwise; 429 over its rate limit)."""
    principal = await resolve_principal(
        context,
        token=bearer.credentials if bearer else None,
        api_key=api_key,
        origin=request.headers.get("origin"),
    )
    try:
        await context.rate_limiter.check_principal(principal)
    except RateLimited as exc:
        raise ApiError(429, "rate_limited", str(exc), exc.headers) from exc
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def is_user(principal: Principal) -> bool:
    """Whether the principal is a logged-in person (not an API key)."""
    return principal.kind == principal_pb2.PRINCIPAL_KIND_USER


async def authorize(
    context: GatewayContext,
    principal: Principal,
    action: str,
    kb_id: str | None = None,
) -> None:
    """Ask AuthService whether ``principal`` may ``action`` (on knowledge base ``kb_id``).

    Raises :class:`ApiError` 403 with auth's reason when refused.
    """
    reply = await context.auth.Authorize(
        auth_pb2.AuthorizeRequest(
            principal=principal,
            action=action,
            resource_type="kb" if kb_id else "tenant",
            resource_id=kb_id or "",
        ),
        timeout=context.timeout_s,
    )
    if not reply.allowed:
        raise forbidden(reply.reason or f"not allowed to {action}")


def require(action: str) -> Callable[..., Awaitable[Principal]]:
    """Dependency factory: the caller, who must be allowed ``action`` on the tenant.

    For actions on one knowledge base use :func:`require_kb`.
    """

    async def dependency(context: Context, principal: CurrentPrincipal) -> Principal:
        await authorize(context, principal, action)
        return principal

    dependency.__name__ = f"require_{action.replace('.', '_')}"
    return dependency


async def tenant_knowledge_base(
    session: AsyncSession, principal: Principal, kb_id: uuid.UUID
) -> KnowledgeBase:
    """The knowledge base ``kb_id`` of the caller's tenant (404 if it is another tenant's)."""
    kb = await session.get(KnowledgeBase, kb_id)
    if kb is None or str(kb.tenant_id) != principal.tenant_id:
        raise not_found("knowledge base")
    return kb


# Actions the gateway writes to the audit log, refusals included (auth audits its own actions).
AUDITED_KB_ACTIONS = frozenset({"kb.delete", "crawl.submit"})


def require_kb(action: str) -> Callable[..., Awaitable[Principal]]:
    """Dependency factory: the caller, allowed ``action`` on the path's ``kb_id``.

    The knowledge base must exist in the caller's tenant (404 otherwise, before any role check,
    so another tenant's ids reveal nothing); then auth decides.
    """

    async def dependency(
        kb_id: uuid.UUID, request: Request, context: Context, principal: CurrentPrincipal
    ) -> Principal:
        async with context.sessions() as session:
            await tenant_knowledge_base(session, principal, kb_id)
        try:
            await authorize(context, principal, action, str(kb_id))
        except ApiError as refusal:
            if action in AUDITED_KB_ACTIONS:
                detail = {"reason": refusal.message}
                await record_audit(
                    context, request, principal, action, ("kb", str(kb_id)), detail, "denied"
                )
            raise
        return principal

    dependency.__name__ = f"require_kb_{action.replace('.', '_')}"
    return dependency


def readable_filter(principal: Principal) -> list[ColumnElement[bool]]:
    """Conditions on ``KnowledgeBase`` rows the principal may read (of its tenant only).

    Owners and admins (``all_kbs``) read every knowledge base of their tenant; others their
    grants (or a key's kb ids) that still exist in the tenant.
    """
    conditions = [col(KnowledgeBase.tenant_id) == uuid.UUID(principal.tenant_id)]
    if not principal.all_kbs:
        conditions.append(col(KnowledgeBase.id).in_(_uuids(principal.readable_kb_ids)))
    return conditions


async def readable_kb_ids(context: GatewayContext, principal: Principal) -> list[str]:
    """Explicit ids of the tenant's knowledge bases the principal may read, oldest first."""
    if not principal.all_kbs and not principal.readable_kb_ids:
        return []
    async with context.sessions() as session:
        rows = await session.execute(
            select(KnowledgeBase.id)
            .where(*readable_filter(principal))
            .order_by(col(KnowledgeBase.created_at))
        )
        return [str(kb_id) for kb_id in rows.scalars()]


def _uuids(values: Iterable[str]) -> list[uuid.UUID]:
    out = []
    for value in values:
        try:
            out.append(uuid.UUID(value))
        except ValueError:
            continue
    return out


def with_kb_ids(principal: Principal, kb_ids: Iterable[str]) -> Principal:
    """A copy of ``principal`` carrying explicit ``readable_kb_ids`` (for retriever and chat)."""
    expanded = Principal()
    expanded.CopyFrom(principal)
    del expanded.readable_kb_ids[:]
    expanded.readable_kb_ids.extend(kb_ids)
    return expanded


async def expanded_principal(context: GatewayContext, principal: Principal) -> Principal:
    """The principal with ``all_kbs`` expanded into the tenant's explicit kb ids."""
    return with_kb_ids(principal, await readable_kb_ids(context, principal))


async def record_audit(
    context: GatewayContext,
    request: Request,
    principal: Principal,
    action: str,
    target: tuple[str, str],
    detail: dict[str, Any],
    outcome: str = "success",
) -> None:
    """Write an action the gateway performed (kb deletion, crawl submission) to auth's audit log."""
    target_type, target_id = target
    await context.auth.RecordAudit(
        auth_pb2.RecordAuditRequest(
            actor=principal,
            action=action,
            outcome=outcome,
            target_type=target_type,
            target_id=target_id,
            detail_json=json.dumps(detail, default=str),
            client=client_info(request),
        ),
        timeout=context.timeout_s,
    )


# --- middleware ---------------------------------------------------------------------------------


class BodyTooLarge(StarletteHTTPException):
    """The request body passed the configured limit.

    An HTTP exception, so FastAPI passes it through its body parsing and the error handler
    answers 413 in the usual shape.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")


def _trace_id() -> str:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else ""


_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
]
_API_CSP = b"default-src 'none'; frame-ancestors 'none'"
# Citations show images from the crawled sites, which may be served over plain http.
_APP_CSP = (
    b"default-src 'self'; img-src 'self' data: https: http:; style-src 'self' 'unsafe-inline'; "
    b"connect-src 'self'; frame-ancestors 'none'"
)
# Probes and metrics scrapes would drown the request log.
_UNLOGGED_PATHS = ("/healthz", "/readyz", "/metrics")
# Swagger UI and ReDoc load their assets from a CDN; they get no CSP.
_NO_CSP_PATHS = ("/docs", "/redoc")


class RequestContextMiddleware:
    """Request id, trace id, security headers and the body size limit, as plain ASGI.

    Plain ASGI (not ``BaseHTTPMiddleware``) so streamed responses (SSE) pass through untouched
    and WebSockets are not wrapped. The request id comes from the client's ``X-Request-ID`` when
    it is a sane token, else a new one; both ids are bound into every log line of the request.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        trace_id = _trace_id()
        scope.setdefault("state", {})["request_id"] = request_id
        with structlog.contextvars.bound_contextvars(request_id=request_id, trace_id=trace_id):
            if scope["type"] == "websocket":
                await self.app(scope, receive, send)
                return
            await self._http(scope, receive, send, request_id, trace_id)

    async def _http(
        self, scope: Scope, receive: Receive, send: Send, request_id: str, trace_id: str
    ) -> None:
        path: str = scope.get("path", "")
        csp = (
            None
            if path.startswith(_NO_CSP_PATHS)
            else (_API_CSP if path.startswith("/api/") else _APP_CSP)
        )
        started = False
        status = 0
        began = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started = True
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.lower().encode(), request_id.encode()))
                headers.append((TRACE_ID_HEADER.lower().encode(), trace_id.encode()))
                headers.extend(_SECURITY_HEADERS)
                if csp is not None:
                    headers.append((b"content-security-policy", csp))
                message = {**message, "headers": headers}
            await send(message)

        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._too_large(scope, send_with_headers, request_id)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge(self.max_body_bytes)
            return message

        try:
            await self.app(scope, limited_receive, send_with_headers)
            if not path.startswith(_UNLOGGED_PATHS):
                log.info(
                    "request",
                    method=scope.get("method", ""),
                    path=path,
                    status=status,
                    duration_ms=round((time.perf_counter() - began) * 1000, 1),
                )
        except BodyTooLarge:
            if not started:
                await self._too_large(scope, send_with_headers, request_id)
        except Exception:
            # Starlette's outermost error middleware answers crashes without these headers;
            # answer here first (it then only logs), so a 500 carries the ids too.
            if not started:
                response = error_json(500, "internal", "internal error", request_id)
                await response(scope, _empty_receive, send_with_headers)
            raise

    async def _too_large(self, scope: Scope, send: Send, request_id: str) -> None:
        response = error_json(
            413,
            "payload_too_large",
            f"request body larger than {self.max_body_bytes} bytes",
            request_id,
        )
        await response(scope, _empty_receive, send)


async def _empty_receive() -> Message:
    return {"type": "http.disconnect"}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _incoming_request_id(scope: Scope) -> str | None:
    value = _header(scope, b"x-request-id")
    if value and len(value) <= 64 and all(c.isalnum() or c in "-_." for c in value):
        return value
    return None


def _content_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
