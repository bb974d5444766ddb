"""The gateway's shared HTTP behaviour, on a small app built with the same pieces as the real one:
every error is ``{"error": {code, message, request_id}}`` (API errors, gRPC refusals, validation,
unknown routes, crashes), each response carries the request and trace ids and the security
headers, bodies over the limit are refused with 413 (declared or streamed), and CORS is strict for
the web app and open without credentials on the widget's paths."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field
from ragchat_gateway.api.deps import (
    ApiError,
    PlainText,
    RequestContextMiddleware,
    install_error_handlers,
)
from ragchat_gateway.main import CorsByPath
from ragchat_gateway.settings import GatewaySettings

pytestmark = pytest.mark.unit

LIMIT = 1000


class Echo(BaseModel):
    text: str = Field(min_length=1, max_length=5000)


class Stored(BaseModel):
    name: PlainText


class Refusal(grpc.aio.AioRpcError):
    """A gRPC refusal as a stub raises it (built directly: no server involved)."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details)


def build_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/api/v1/echo")
    async def echo(body: Echo) -> Echo:
        return body

    @app.post("/api/v1/stored")
    async def stored(body: Stored) -> Stored:
        return body

    @app.get("/api/v1/teapot")
    async def teapot() -> None:
        raise ApiError(409, "conflict", "a knowledge base named 'x' exists")

    @app.get("/api/v1/grpc/{code}")
    async def refused(code: str) -> None:
        raise Refusal(grpc.StatusCode[code], f"auth says {code}")

    @app.get("/api/v1/crash")
    async def crash() -> None:
        raise RuntimeError("secret internal detail")

    settings = GatewaySettings(
        cors_origins=["https://app.example"], widget_paths=["/api/v1/echo"], max_body_bytes=LIMIT
    )
    app.add_middleware(CorsByPath, settings=settings)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=LIMIT)
    return app


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(build_app(), raise_server_exceptions=False) as test_client:
        yield test_client


def assert_error(response: object, status: int, code: str) -> dict[str, str]:
    assert response.status_code == status
    body = response.json()
    error: dict[str, str] = body["error"]
    assert error["code"] == code
    assert error["message"]
    assert error["request_id"] == response.headers["X-Request-ID"]
    return error


def test_api_error_has_the_error_shape(client: TestClient) -> None:
    error = assert_error(client.get("/api/v1/teapot"), 409, "conflict")
    assert error["message"] == "a knowledge base named 'x' exists"


@pytest.mark.parametrize(
    ("code", "status", "name"),
    [
        ("UNAUTHENTICATED", 401, "unauthenticated"),
        ("PERMISSION_DENIED", 403, "forbidden"),
        ("NOT_FOUND", 404, "not_found"),
        ("INVALID_ARGUMENT", 400, "bad_request"),
        ("ALREADY_EXISTS", 409, "conflict"),
        ("FAILED_PRECONDITION", 409, "conflict"),
        ("UNAVAILABLE", 503, "unavailable"),
        ("INTERNAL", 502, "upstream_error"),
    ],
)
def test_grpc_refusals_map_to_http(client: TestClient, code: str, status: int, name: str) -> None:
    error = assert_error(client.get(f"/api/v1/grpc/{code}"), status, name)
    if status < 500:
        assert error["message"] == f"auth says {code}"
    else:
        assert code not in error["message"]


def test_validation_errors_are_422_in_the_error_shape_with_the_field(client: TestClient) -> None:
    error = assert_error(client.post("/api/v1/echo", json={"text": ""}), 422, "validation_error")
    assert "body.text" in error["message"]
    error = assert_error(
        client.post(
            "/api/v1/echo", content=b"{not json", headers={"Content-Type": "application/json"}
        ),
        422,
        "validation_error",
    )


def test_unknown_route_and_crash_keep_the_shape(client: TestClient) -> None:
    assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")
    error = assert_error(client.get("/api/v1/crash"), 500, "internal")
    assert "secret" not in error["message"]


def test_request_id_is_echoed_when_sane_and_generated_otherwise(client: TestClient) -> None:
    echoed = client.get("/api/v1/teapot", headers={"X-Request-ID": "req-42"})
    assert echoed.headers["X-Request-ID"] == "req-42"
    assert echoed.json()["error"]["request_id"] == "req-42"
    replaced = client.get("/api/v1/teapot", headers={"X-Request-ID": "bad id\twith spaces"})
    assert replaced.headers["X-Request-ID"] not in ("", "bad id\twith spaces")
    assert "X-Trace-ID" in replaced.headers


def test_security_headers_and_csp(client: TestClient) -> None:
    response = client.post("/api/v1/echo", json={"text": "hi"})
    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "Content-Security-Policy" not in client.get("/docs").headers


def test_bodies_over_the_limit_are_413_declared_or_streamed(client: TestClient) -> None:
    big = '{"text": "' + "x" * (LIMIT + 10) + '"}'
    declared = client.post(
        "/api/v1/echo", content=big, headers={"Content-Type": "application/json"}
    )
    assert_error(declared, 413, "payload_too_large")

    def chunks() -> Iterator[bytes]:
        data = big.encode()
        for start in range(0, len(data), 100):
            yield data[start : start + 100]

    streamed = client.post(
        "/api/v1/echo", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert_error(streamed, 413, "payload_too_large")


def test_cors_is_strict_for_the_app_and_open_without_credentials_for_the_widget(
    client: TestClient,
) -> None:
    preflight = {"Access-Control-Request-Method": "GET"}
    allowed = client.options(
        "/api/v1/teapot", headers={**preflight, "Origin": "https://app.example"}
    )
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    stranger = client.options(
        "/api/v1/teapot", headers={**preflight, "Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in stranger.headers

    widget = client.options(
        "/api/v1/echo",
        headers={
            "Origin": "https://customer.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-api-key, content-type",
        },
    )
    assert widget.status_code == 200
    assert widget.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in widget.headers


@pytest.mark.parametrize("escaped", ["a\\u0000b", "\\ud800x"])
def test_text_postgres_or_protobuf_cannot_hold_is_422(client: TestClient, escaped: str) -> None:
    body = '{"name": "' + escaped + '"}'
    response = client.post(
        "/api/v1/stored", content=body, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 422, "validation_error")
    accepted = client.post("/api/v1/stored", json={"name": "Product docs"})
    assert accepted.status_code == 200
