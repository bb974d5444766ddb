"""The gateway's REST and WebSocket routers, mounted in this order by ``main.create_app``.

To add a router: import it here and append it to :data:`ROUTERS` (one line each).
"""

from fastapi import APIRouter

from ragchat_gateway.api.analytics import router as analytics_router
from ragchat_gateway.api.api_keys import router as api_keys_router
from ragchat_gateway.api.audit import router as audit_router
from ragchat_gateway.api.auth import jwks_router
from ragchat_gateway.api.auth import router as auth_router
from ragchat_gateway.api.chat import router as chat_router
from ragchat_gateway.api.conversations import router as conversations_router
from ragchat_gateway.api.crawls import router as crawls_router
from ragchat_gateway.api.knowledge_bases import router as knowledge_bases_router
from ragchat_gateway.api.search import router as search_router
from ragchat_gateway.api.users import router as users_router
from ragchat_gateway.api.widget import router as widget_router
from ragchat_gateway.api.ws_chat import router as ws_chat_router
from ragchat_gateway.api.ws_events import router as ws_events_router

ROUTERS: list[APIRouter] = [
    auth_router,
    jwks_router,
    users_router,
    api_keys_router,
    audit_router,
    knowledge_bases_router,
    crawls_router,
    search_router,
    analytics_router,
    widget_router,
    chat_router,
    ws_chat_router,
    ws_events_router,
    conversations_router,
]
