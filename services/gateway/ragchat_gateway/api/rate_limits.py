"""Rate limits at the edge of the API: 429 with ``Retry-After`` and the usual error body.

:class:`RateLimitMiddleware` counts every HTTP request and WebSocket upgrade against the global
budget, and requests to the credential endpoints (login, registration, refresh, password change,
invitation acceptance) against their client IP's budget, before any work is done. The per-user
and per-API-key budgets are spent where the caller is known: ``deps.current_principal`` (REST and
SSE), the WebSocket authentication and each WebSocket ask.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from ragchat_gateway.api.deps import ApiError, error_json
from ragchat_gateway.domain.rate_limits import LimitScope, RateLimited, RateLimiter

# Endpoints that take a password or a secret token: limited per client IP against guessing.
CREDENTIAL_PATHS = frozenset(
    {
        "/api/v1/auth/login",
        "/api/v1/auth/register",
        "/api/v1/auth/refresh",
        "/api/v1/auth/password",
        "/api/v1/auth/invitations/accept",
    }
)
# Probes and metrics are scraped by the platform, never by clients: they are not limited.
UNLIMITED_PREFIXES = ("/healthz", "/readyz", "/metrics")


def too_many_requests(limited: RateLimited) -> ApiError:
    """The 429 error of a spent budget."""
    return ApiError(429, "rate_limited", str(limited), limited.headers)


def client_ip(scope: Scope) -> str:
    """The peer address of the connection.

    Behind a proxy, uvicorn's ``--forwarded-allow-ips`` rewrites it from ``X-Forwarded-For``;
    the header itself is never trusted here, or anyone could pick their own budget.
    """
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class RateLimitMiddleware:
    """Global and per-IP credential limits, as plain ASGI (streams and sockets pass untouched)."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if path.startswith(UNLIMITED_PREFIXES) or scope.get("method") == "OPTIONS":
            await self.app(scope, receive, send)
            return
        try:
            await self.limiter.check(LimitScope.GLOBAL)
            if scope["type"] == "http" and path in CREDENTIAL_PATHS:
                await self.limiter.check(LimitScope.LOGIN_IP, client_ip(scope))
        except RateLimited as limited:
            await self._refuse(scope, receive, send, limited)
            return
        await self.app(scope, receive, send)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, limited: RateLimited
    ) -> None:
        if scope["type"] == "websocket":
            # Closing before accepting would turn into a bare HTTP 403; accepting first lets the
            # client read the application close code.
            await receive()
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": 4429, "reason": "rate limited"})
            return
        error = too_many_requests(limited)
        request_id = str(scope.get("state", {}).get("request_id", ""))
        response = error_json(error.status, error.code, error.message, request_id, error.headers)
        await response(scope, receive, send)
