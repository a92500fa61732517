"""Rate limits per API key and scope (Litestar's rate-limit middleware), counted in Redis so
every API replica shares them; 429 with Retry-After. Without authentication the caller is
its address. If Redis cannot be reached the limits are not applied (the queue's own checks
answer 503 for what needs it), rather than failing every request."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

import redis
from litestar import Request
from litestar.middleware.base import DefineMiddleware
from litestar.middleware.rate_limit import (
    CacheObject,
    RateLimitConfig,
    RateLimitMiddleware,
    get_remote_address,
)
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from redis.asyncio import Redis as AsyncRedis

from services.api.auth import OPEN, SCOPE, Caller
from shared.platform.auth import Scope
from shared.platform.settings import Settings

log = logging.getLogger(__name__)
STORE = "rate_limit"


@dataclass
class ScopedRateLimitConfig(RateLimitConfig):
    #: the scope whose routes it counts
    scope: str = ""


class ScopedRateLimit(RateLimitMiddleware):
    """Counts each caller's requests to the routes of one scope under its own key, and says
    when to retry."""

    config: ScopedRateLimitConfig

    def cache_key_from_request(self, request: Request[Any, Any, Any]) -> str:
        return f"{self.config.scope}::{self.get_identifier_for_request(request)}"

    def create_response_headers(self, cache_object: CacheObject) -> dict[str, str]:
        headers = super().create_response_headers(cache_object)
        if headers[self.config.rate_limit_remaining_header_key] == "0":
            headers["Retry-After"] = headers[self.config.rate_limit_reset_header_key]
        return headers


class LenientRedisStore(RedisStore):
    """A Redis store that lets requests through, unlimited, while Redis is unreachable."""

    async def get(self, key: str, renew_for: Any = None) -> bytes | None:
        try:
            return await super().get(key, renew_for)
        except redis.RedisError as exc:
            log.warning("rate limits not applied: Redis is unreachable (%s)", type(exc).__name__)
            return None

    async def set(self, key: str, value: Any, expires_in: Any = None) -> None:
        with contextlib.suppress(redis.RedisError):
            await super().set(key, value, expires_in)


def caller_identity(request: Request[Any, Any, Any]) -> str:
    caller: Caller = request.user
    return caller.key_id or get_remote_address(request)


def rate_limits(settings: Settings) -> list[DefineMiddleware]:
    """One middleware per scope with a limit (MJD_RATE_LIMITS, requests per minute)."""
    middleware = []
    for scope, per_minute in settings.rate_limits.items():
        if per_minute <= 0:
            continue

        async def in_scope(request: Request[Any, Any, Any], scope: str = scope) -> bool:
            return request.route_handler.opt.get(SCOPE) == scope

        config = ScopedRateLimitConfig(
            rate_limit=("minute", per_minute),
            exclude_opt_key=OPEN,
            identifier_for_request=caller_identity,
            check_throttle_handler=in_scope,
            middleware_class=ScopedRateLimit,
            store=STORE,
            scope=str(Scope(scope)),
        )
        middleware.append(config.middleware)
    return middleware


def rate_store(settings: Settings) -> Store:
    """Redis (shared by the replicas) when REDIS_URL is set, else this process's memory."""
    if settings.redis_url:
        client = AsyncRedis.from_url(settings.redis_url, socket_timeout=1, socket_connect_timeout=1)
        return LenientRedisStore(client, namespace="mjd-rate")
    return MemoryStore()
