"""Rate limits kept in Redis, so every gateway replica counts against the same budget.

Four budgets: a global one (all requests of the deployment), one per user, one per API key and
one per client IP on the credential endpoints (login, registration, refresh, invitations), which
slows password guessing. Counting is done by the ``limits`` library with its fixed-window strategy
on async Redis: one atomic Lua call per hit, and the window's end gives an exact ``Retry-After``.
A fixed window can let up to twice the rate through around a window boundary; for brute-force
protection and fairness that is enough, and it costs one Redis round trip per request where a
moving window costs a sorted set per identity.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from enum import StrEnum

from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import FixedWindowRateLimiter
from ragchat.v1 import principal_pb2
from ragchat_common.logs import get_logger
from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError

from ragchat_gateway.settings import GatewaySettings

log = get_logger(__name__)
# How long a request waits for one of the limiter's Redis connections.
POOL_WAIT_S = 5.0


class LimitScope(StrEnum):
    """Whose budget a request is counted against."""

    GLOBAL = "global"
    USER = "user"
    API_KEY = "api_key"
    LOGIN_IP = "login_ip"


@dataclass(frozen=True)
class RateLimitPolicy:
    """The budgets, in the ``limits`` notation (``"10/minute"``, ``"100 per second"``)."""

    user: str = "300/minute"
    api_key: str = "600/minute"
    login_ip: str = "10/minute"
    global_: str = "5000/second"
    enabled: bool = True
    # Redis key prefix: replicas of one deployment share it; separate stacks on one Redis don't.
    key_prefix: str = "ratelimit"

    @classmethod
    def of(cls, settings: GatewaySettings) -> RateLimitPolicy:
        """The policy configured by ``GATEWAY_RATE_LIMIT_*``."""
        return cls(
            user=settings.rate_limit_user,
            api_key=settings.rate_limit_api_key,
            login_ip=settings.rate_limit_login_ip,
            global_=settings.rate_limit_global,
            enabled=settings.rate_limit_enabled,
            key_prefix=settings.rate_limit_key_prefix,
        )

    def items(self) -> dict[LimitScope, RateLimitItem]:
        """Each scope's parsed budget; a malformed one fails at start-up, not on a request."""
        return {
            LimitScope.GLOBAL: parse(self.global_),
            LimitScope.USER: parse(self.user),
            LimitScope.API_KEY: parse(self.api_key),
            LimitScope.LOGIN_IP: parse(self.login_ip),
        }


class RateLimited(Exception):
    """A budget is spent; ``retry_after_s`` says when the next request may pass."""

    def __init__(self, scope: LimitScope, retry_after_s: int) -> None:
        super().__init__(f"rate limit ({scope}) exceeded, retry after {retry_after_s} s")
        self.scope = scope
        self.retry_after_s = retry_after_s

    @property
    def headers(self) -> dict[str, str]:
        """The response headers telling a client when to come back."""
        return {"Retry-After": str(self.retry_after_s)}


class RateLimiter:
    """Counts requests per scope and identity in Redis and refuses the ones over budget."""

    def __init__(self, redis: Redis, policy: RateLimitPolicy, max_connections: int = 64) -> None:
        # A pool of its own on the gateway's Redis, bounded and blocking: a burst of requests
        # waits for a connection instead of failing with "too many connections".
        shared = redis.connection_pool
        self.pool = BlockingConnectionPool(
            connection_class=shared.connection_class,
            max_connections=max_connections,
            timeout=POOL_WAIT_S,
            **shared.connection_kwargs,
        )
        self.storage = RedisStorage(
            "async+redis://",
            implementation="redispy",
            key_prefix=policy.key_prefix,
            # Documented option of the redis-py bridge; the signature types options as scalars.
            connection_pool=self.pool,  # type: ignore[arg-type]
        )
        self.strategy = FixedWindowRateLimiter(self.storage)
        self.policy = policy
        self.items = policy.items()

    async def check(self, scope: LimitScope, identity: str = "all") -> None:
        """Count one request of ``identity`` in ``scope``; raise :class:`RateLimited` if over.

        When Redis cannot be reached the request passes uncounted (logged): an API that stops
        whenever Redis stalls is worse than a moment without limits.
        """
        if not self.policy.enabled:
            return
        item = self.items[scope]
        try:
            if await self.strategy.hit(item, scope.value, identity):
                return
            stats = await self.strategy.get_window_stats(item, scope.value, identity)
        except RedisError as exc:
            log.warning(
                "rate limit not counted, Redis unavailable", scope=scope.value, error=str(exc)
            )
            return
        raise RateLimited(scope, retry_after(stats.reset_time, time.time()))

    async def close(self) -> None:
        """Close the limiter's Redis connections."""
        await self.pool.aclose()

    async def check_principal(self, principal: principal_pb2.Principal) -> None:
        """Count one request of an authenticated caller against its API key's or user's budget."""
        await self.check(principal_scope(principal), principal.subject)

    async def reset(self, scope: LimitScope, identity: str = "all") -> None:
        """Forget the count of one identity (e.g. after an operator unblocks an IP)."""
        await self.strategy.clear(self.items[scope], scope.value, identity)


def retry_after(reset_time: float, now: float) -> int:
    """Whole seconds until ``reset_time``, at least 1 (``Retry-After: 0`` invites a retry storm)."""
    return max(1, math.ceil(reset_time - now))


def principal_scope(principal: principal_pb2.Principal) -> LimitScope:
    """Whose budget the principal spends: its API key's or its user's."""
    if principal.kind == principal_pb2.PRINCIPAL_KIND_API_KEY:
        return LimitScope.API_KEY
    return LimitScope.USER
