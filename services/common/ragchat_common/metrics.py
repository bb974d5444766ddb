"""Prometheus metrics: one registry per service process, HTTP request metrics, and the text
exposition served at ``/metrics``."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.routing import Match


class HttpMetrics:
    """Request count and latency per method, route template and status code."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "ragchat_http_requests_total",
            "HTTP requests handled.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "ragchat_http_request_duration_seconds",
            "HTTP request latency.",
            ["method", "route"],
            registry=registry,
        )

    async def middleware(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Starlette middleware that records one observation per request."""
        route = _route_template(request)
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            self.requests.labels(request.method, route, str(status)).inc()
            self.latency.labels(request.method, route).observe(time.perf_counter() - started)


def _route_template(request: Request) -> str:
    """The matched route's path template, so ``/kb/123`` and ``/kb/456`` share one series."""
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is Match.FULL:
            return str(getattr(route, "path", request.url.path))
    return "unmatched"


def metrics_response(registry: CollectorRegistry) -> Response:
    """The registry in Prometheus text format."""
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
