"""The built web app is served at ``/`` with a fallback to ``index.html`` for client-side routes,
while unknown API and WebSocket paths stay 404 errors."""

from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from ragchat_gateway.api.deps import ApiError, get_context
from ragchat_gateway.api.web import router
from ragchat_gateway.settings import GatewaySettings

pytestmark = pytest.mark.unit

INDEX = "<!doctype html><div id=root></div>"


def client_for(dist: Path) -> TestClient:
    """The web router after one API route, as in the gateway; the context holds settings."""
    app = FastAPI()

    @app.get("/api/v1/knowledge-bases")
    async def knowledge_bases() -> dict[str, list[str]]:
        return {"items": []}

    app.include_router(router)
    settings = GatewaySettings(web_dist=dist)
    app.dependency_overrides[get_context] = lambda: SimpleNamespace(settings=settings)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"error": {"code": exc.code}}, status_code=exc.status)

    return TestClient(app)


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(INDEX)
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log(1)")
    (tmp_path / "theme.js").write_text("/* theme */")
    (tmp_path.parent / "secret.txt").write_text("not for the web")
    return tmp_path


def test_serves_the_app_and_falls_back_to_it_for_client_routes(dist: Path) -> None:
    client = client_for(dist)
    for path in ["/", "/chat/3f1c", "/knowledge-bases/abc/crawl"]:
        reply = client.get(path)
        assert reply.status_code == 200, path
        assert reply.text == INDEX
        assert reply.headers["cache-control"] == "no-cache"


def test_serves_hashed_assets_as_immutable(dist: Path) -> None:
    reply = client_for(dist).get("/assets/index-abc123.js")
    assert reply.status_code == 200
    assert reply.text == "console.log(1)"
    assert "immutable" in reply.headers["cache-control"]
    assert reply.headers["content-type"].startswith("text/javascript")


def test_api_routes_win_and_unknown_api_paths_stay_errors(dist: Path) -> None:
    client = client_for(dist)
    assert client.get("/api/v1/knowledge-bases").json() == {"items": []}
    reply = client.get("/api/v1/no-such-thing")
    assert reply.status_code == 404
    assert reply.json() == {"error": {"code": "not_found"}}
    assert client.get("/ws/unknown").status_code == 404


def test_never_serves_files_outside_the_build(dist: Path) -> None:
    reply = client_for(dist).get("/..%2Fsecret.txt")
    assert reply.text == INDEX


def test_says_the_app_is_not_built(tmp_path: Path) -> None:
    reply = client_for(tmp_path / "missing").get("/chat")
    assert reply.status_code == 404
    assert reply.json() == {"error": {"code": "web_not_built"}}
