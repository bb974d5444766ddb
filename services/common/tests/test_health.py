"""Readiness: every probe runs, failures and slow dependencies are reported per dependency."""

import asyncio

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from ragchat_common.health import Readiness, health_router
from ragchat_common.metrics import HttpMetrics

pytestmark = pytest.mark.unit


async def ok() -> str | None:
    return "fine"


async def broken() -> str | None:
    raise ConnectionError("refused")


async def slow() -> str | None:
    await asyncio.sleep(5)
    return None


async def test_ready_only_when_every_probe_passes() -> None:
    report = await Readiness({"a": ok, "b": broken, "c": slow}, timeout_s=0.2).check()
    assert not report.ready
    assert report.dependencies["a"].ok and report.dependencies["a"].detail == "fine"
    assert report.dependencies["b"].detail == "ConnectionError: refused"
    assert report.dependencies["c"].detail == "no answer within 0.2s"
    assert (await Readiness({"a": ok}).check()).ready


def test_endpoints_report_status_codes_and_metrics() -> None:
    registry = CollectorRegistry()
    readiness = Readiness({"db": broken})
    app = FastAPI()
    app.middleware("http")(HttpMetrics(registry).middleware)
    app.include_router(health_router(readiness, registry))
    client = TestClient(app)

    assert client.get("/healthz").json() == {"status": "ok"}
    not_ready = client.get("/readyz")
    assert not_ready.status_code == 503
    assert not_ready.json()["dependencies"]["db"]["ok"] is False

    readiness.probes["db"] = ok
    assert client.get("/readyz").status_code == 200
    metrics = client.get("/metrics").text
    assert 'ragchat_http_requests_total{method="GET",route="/readyz",status="503"} 1.0' in metrics
