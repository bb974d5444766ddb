"""The gateway's REST and WebSocket routers, mounted in this order by ``main.create_app``.

To add a router: import it here and append it to :data:`ROUTERS` (one line each).
"""

from fastapi import APIRouter

ROUTERS: list[APIRouter] = []
