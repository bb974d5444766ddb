"""``GET /widget.js`` serves the built widget as JavaScript any site may load."""

from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from ragchat_gateway.api.deps import ApiError, get_context
from ragchat_gateway.api.widget import router
from ragchat_gateway.settings import GatewaySettings

pytestmark = pytest.mark.unit


def client_for(widget_js: Path) -> TestClient:
    """The widget router alone; the context carries only the settings it reads."""
    app = FastAPI()
    app.include_router(router)
    settings = GatewaySettings(widget_js=widget_js)
    app.dependency_overrides[get_context] = lambda: SimpleNamespace(settings=settings)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"error": {"code": exc.code}}, status_code=exc.status)

    return TestClient(app)


def test_serves_the_built_widget_as_javascript(tmp_path: Path) -> None:
    script = tmp_path / "widget.js"
    script.write_text("(()=>{})();")
    reply = client_for(script).get("/widget.js", headers={"Origin": "https://shop.example"})
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/javascript")
    assert reply.headers["cache-control"] == "public, max-age=300"
    assert reply.text == "(()=>{})();"


def test_says_the_widget_is_not_built(tmp_path: Path) -> None:
    reply = client_for(tmp_path / "missing.js").get("/widget.js")
    assert reply.status_code == 404
    assert reply.json() == {"error": {"code": "widget_not_built"}}
