"""The six services, started by the same script as ``make up``, are ready on real infrastructure,
expose metrics and gRPC health, and stop cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from tests.harness.pipeline import free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SERVICES_SCRIPT = ROOT / "deploy" / "local" / "services.sh"
HTTP_SERVICES = ("auth", "chat", "embedder", "gateway", "retriever", "scraper")
GRPC_SERVICES = ("auth", "chat", "retriever")
# What each service must at least check before it calls itself ready (it may check more).
EXPECTED_DEPENDENCIES = {
    "gateway": {"postgres", "redis", "kafka", "auth", "retriever", "chat"},
    "auth": {"postgres"},
    "scraper": {"postgres", "redis", "kafka"},
    "embedder": {"kafka", "text-model"},
    "retriever": {"opensearch", "chunk-index", "kafka"},
    "chat": {"postgres", "redis", "kafka", "retriever"},
}


def _answers_200(port: int, path: str) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass(frozen=True)
class StackPorts:
    """Where the stack under test listens."""

    http: dict[str, int]
    grpc: dict[str, int]


@pytest.fixture(scope="module")
def stack(
    standard_topics, opensearch, postgres, redis_settings, tmp_path_factory
) -> Iterator[StackPorts]:  # type: ignore[no-untyped-def]
    """The six services started (and stopped afterwards) by ``services.sh``, as ``make up`` starts
    them, on free ports and with pid files and logs of their own: a stack already running on the
    default ports (a developer's ``make up``) neither blocks nor stands in for it."""
    ports = StackPorts(
        http={name: free_port() for name in HTTP_SERVICES},
        grpc={name: free_port() for name in GRPC_SERVICES},
    )
    grpc_target = {name: f"127.0.0.1:{port}" for name, port in ports.grpc.items()}
    env = {
        **os.environ,
        "RAGCHAT_LOCAL_DIR": str(tmp_path_factory.mktemp("stack")),
        **{f"{name.upper()}_HTTP_PORT": str(port) for name, port in ports.http.items()},
        **{f"{name.upper()}_GRPC_PORT": str(port) for name, port in ports.grpc.items()},
        "GATEWAY_AUTH_TARGET": grpc_target["auth"],
        "GATEWAY_RETRIEVER_TARGET": grpc_target["retriever"],
        "GATEWAY_CHAT_TARGET": grpc_target["chat"],
        "CHAT_RETRIEVER_TARGET": grpc_target["retriever"],
    }
    started = subprocess.run([str(SERVICES_SCRIPT), "up"], env=env, capture_output=True, text=True)
    try:
        assert started.returncode == 0, f"services.sh up failed:\n{started.stdout}{started.stderr}"
        yield ports
    finally:
        subprocess.run([str(SERVICES_SCRIPT), "down"], env=env, check=True)


@pytest.mark.parametrize("service", HTTP_SERVICES)
def test_service_is_ready_with_every_dependency_answering(stack: StackPorts, service: str) -> None:
    reply = httpx.get(f"http://127.0.0.1:{stack.http[service]}/readyz", timeout=10)
    body = reply.json()
    assert reply.status_code == 200, body
    assert EXPECTED_DEPENDENCIES[service] <= set(body["dependencies"])
    assert all(dep["ok"] for dep in body["dependencies"].values())


@pytest.mark.parametrize("service", HTTP_SERVICES)
def test_service_exposes_prometheus_metrics(stack: StackPorts, service: str) -> None:
    base = f"http://127.0.0.1:{stack.http[service]}"
    httpx.get(f"{base}/healthz", timeout=5)
    metrics = httpx.get(f"{base}/metrics", timeout=5)
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'ragchat_http_requests_total{method="GET",route="/healthz",status="200"}' in metrics.text


@pytest.mark.parametrize("service", GRPC_SERVICES)
def test_grpc_health_and_reflection(stack: StackPorts, service: str) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{stack.grpc[service]}") as channel:
        status = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=5
        )
        assert status.status == health_pb2.HealthCheckResponse.SERVING
        replies = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
        )
        names = {s.name for reply in replies for s in reply.list_services_response.service}
    assert "grpc.health.v1.Health" in names


def test_sigterm_stops_a_service_cleanly(standard_topics, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    log_path = tmp_path / "embedder.log"
    env = {**os.environ, "EMBEDDER_HTTP_PORT": str(port)}
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "ragchat-embedder")], env=env, stdout=log, stderr=log
        )
    try:
        deadline = time.monotonic() + 180  # generous: model loading on a busy 2-core machine
        while not _answers_200(port, "/readyz"):
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.3)
        process.send_signal(signal.SIGTERM)
        # uvicorn re-raises the captured SIGTERM once its graceful shutdown is complete.
        assert process.wait(timeout=40) in (0, -signal.SIGTERM), log_path.read_text()
    finally:
        if process.poll() is None:
            process.kill()
    events = [
        json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")
    ]
    stopped = [e["dependency"] for e in events if e.get("event") == "dependency stopped"]
    assert "kafka" in stopped
    assert all(e["service"] == "embedder" for e in events if "service" in e)


def test_sigterm_during_start_up_stops_the_wait_for_dependencies(tmp_path: Path) -> None:
    closed_port = free_port()  # nothing listens there: the gateway keeps waiting for "postgres"
    log_path = tmp_path / "gateway.log"
    env = {
        **os.environ,
        "GATEWAY_HTTP_PORT": str(free_port()),
        "POSTGRES_PORT": str(closed_port),
        "GATEWAY_STARTUP_TIMEOUT_S": "600",
    }
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "ragchat-gateway")], env=env, stdout=log, stderr=log
        )
    try:
        deadline = time.monotonic() + 180  # generous: model loading on a busy 2-core machine
        while "dependency not reachable yet" not in log_path.read_text():
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.3)
        process.send_signal(signal.SIGTERM)
        # Far below the 600 s start-up timeout: the stop request ended the wait.
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert "stop requested while waiting for postgres" in log_path.read_text()
