"""The staff web app at ``/``: files from the Vite build (``services/gateway/web/dist``) and, for
any other path, its ``index.html`` so client-side routes (``/chat/<id>``, ...) survive a reload.

This router must be included after every other one: its ``/{path}`` route matches everything.
Paths under ``/api/`` and ``/ws/`` never fall back to the app; they answer 404 in the API's error
shape.
"""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from ragchat_gateway.api.deps import ApiError, Context

router = APIRouter(include_in_schema=False)

# Vite puts content hashes in asset names: they never change, so browsers may keep them.
ASSET_CACHE_CONTROL = "public, max-age=31536000, immutable"
# index.html names the current assets: revalidate it on every load.
PAGE_CACHE_CONTROL = "no-cache"
# The Content-Security-Policy and the other security headers of the app's pages come from
# RequestContextMiddleware (api/deps.py), like every response's.
PAGE_HEADERS = {"Cache-Control": PAGE_CACHE_CONTROL}
NOT_APP_PREFIXES = ("api/", "ws/")


def built_file(dist: Path, path: str) -> Path | None:
    """The file of the build at ``path``, or None (missing, a folder, or outside ``dist``)."""
    if not path:
        return None
    root = dist.resolve()
    candidate = (root / path).resolve()
    if candidate.is_relative_to(root) and candidate.is_file():
        return candidate
    return None


@router.get("/{path:path}")
async def web_app(path: str, context: Context) -> FileResponse:
    """A file of the built app, or ``index.html`` for a client-side route."""
    if path.startswith(NOT_APP_PREFIXES) or path in {"api", "ws"}:
        raise ApiError(404, "not_found", f"no such endpoint: /{path}")
    dist = context.settings.web_dist
    found = built_file(dist, path)
    if found is not None:
        if found.name == "index.html":
            return FileResponse(found, headers=PAGE_HEADERS)
        cache = ASSET_CACHE_CONTROL if path.startswith("assets/") else PAGE_CACHE_CONTROL
        return FileResponse(found, headers={"Cache-Control": cache})
    index = dist / "index.html"
    if not index.is_file():
        raise ApiError(
            404,
            "web_not_built",
            "the web app is not built: run `make web` (npm ci and npm run build in web/)",
        )
    return FileResponse(index, headers=PAGE_HEADERS)
