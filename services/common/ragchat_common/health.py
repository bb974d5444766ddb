"""Liveness, readiness and metrics endpoints that every service mounts.

``/healthz`` answers while the process runs. ``/readyz`` runs every dependency probe concurrently
and is 200 only when all of them pass; its JSON body gives the result per dependency.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry
from pydantic import BaseModel

from ragchat_common.metrics import metrics_response

Probe = Callable[[], Awaitable[str | None]]
"""Checks one dependency: returns an optional detail string, raises when the dependency fails."""


class DependencyStatus(BaseModel):
    """Outcome of one readiness probe."""

    ok: bool
    latency_ms: float
    detail: str | None = None


class ReadinessReport(BaseModel):
    """Body of ``/readyz``."""

    ready: bool
    dependencies: dict[str, DependencyStatus]


@dataclass
class Readiness:
    """The named dependency probes of one service."""

    probes: dict[str, Probe] = field(default_factory=dict)
    timeout_s: float = 3.0

    async def check(self) -> ReadinessReport:
        """Run every probe concurrently, each bounded by ``timeout_s``."""
        names = list(self.probes)
        results = await asyncio.gather(*(self._run(self.probes[n]) for n in names))
        deps = dict(zip(names, results, strict=True))
        return ReadinessReport(ready=all(d.ok for d in deps.values()), dependencies=deps)

    async def _run(self, probe: Probe) -> DependencyStatus:
        started = time.perf_counter()
        try:
            detail = await asyncio.wait_for(probe(), self.timeout_s)
            ok = True
        except TimeoutError:
            ok, detail = False, f"no answer within {self.timeout_s:g}s"
        except Exception as exc:  # a probe may fail in any way; the report says how
            ok, detail = False, f"{type(exc).__name__}: {exc}"
        elapsed = round((time.perf_counter() - started) * 1000, 2)
        return DependencyStatus(ok=ok, latency_ms=elapsed, detail=detail)


def health_router(readiness: Readiness, registry: CollectorRegistry) -> APIRouter:
    """Routes for ``/healthz``, ``/readyz`` and ``/metrics``."""
    router = APIRouter(tags=["operations"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", response_model=ReadinessReport)
    async def readyz() -> JSONResponse:
        report = await readiness.check()
        return JSONResponse(report.model_dump(), status_code=200 if report.ready else 503)

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return metrics_response(registry)

    return router
