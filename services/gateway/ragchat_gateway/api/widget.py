"""``GET /widget.js``: the embeddable chat widget that customers' sites load with one script tag.

The file is built from ``services/gateway/web/widget`` (``npm run build`` there). Any site may
load it (a script tag is not subject to CORS); what it may do is decided per request by its API
key's allowed origins.
"""

from fastapi import APIRouter
from fastapi.responses import FileResponse

from ragchat_gateway.api.deps import ApiError, Context

router = APIRouter(tags=["widget"])

# Short enough that a fixed widget reaches every site within minutes, long enough to spare the
# gateway one request per page view.
WIDGET_CACHE_CONTROL = "public, max-age=300"


@router.get("/widget.js", include_in_schema=False)
async def widget_script(context: Context) -> FileResponse:
    """The widget's JavaScript (404 with a reason when it was never built)."""
    path = context.settings.widget_js
    if not path.is_file():
        raise ApiError(
            404,
            "widget_not_built",
            "widget.js is not built: run `npm ci && npm run build` in services/gateway/web/widget",
        )
    return FileResponse(
        path,
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": WIDGET_CACHE_CONTROL},
    )
