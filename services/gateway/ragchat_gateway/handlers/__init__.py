"""Kafka consumers and background tasks of the gateway, wired by ``main.create_app``.

Each entry of :data:`WIRINGS` is called once at start-up with the runtime and the context, before
the app starts: it subscribes to topics on ``context.broker`` or adds a resource (a background
task with a start and a stop) with ``runtime.add_resource``. To add one: import it here and
append it to :data:`WIRINGS` (one line each).
"""

from collections.abc import Callable

from ragchat_common.runtime import ServiceRuntime

from ragchat_gateway.api.deps import GatewayContext
from ragchat_gateway.handlers.analytics import wire_analytics
from ragchat_gateway.handlers.crawl_jobs import wire_crawl_jobs
from ragchat_gateway.handlers.progress import wire_progress_relay

Wiring = Callable[[ServiceRuntime, GatewayContext], None]

WIRINGS: list[Wiring] = [
    wire_progress_relay,
    wire_crawl_jobs,
    wire_analytics,
]
