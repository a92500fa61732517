"""Who is calling: API keys from ``Authorization: Bearer <key>``, checked against the job
store, and the scope each route needs (a guard). Routes marked open (health, the OpenAPI
document) need no key; with MJD_AUTH=off every caller is an anonymous admin."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from litestar.connection import ASGIConnection
from litestar.datastructures import Headers
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from services.api import urls
from shared.platform.auth import Scope as KeyScope
from shared.platform.auth import allows, parse_key, secret_matches
from shared.platform.db.database import Database
from shared.platform.db.keys import ApiKey

#: a route handler whose opt has this key set needs no API key
OPEN = "open"
#: a route handler's opt key holding the scope it needs (rate limits count by it)
SCOPE = "scope"
#: how long a key looked up in the store is trusted (a revoked key stops within this)
KEY_CACHE_SECONDS = 5.0
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="mjd"'}


@dataclass(frozen=True, slots=True)
class Caller:
    """The key behind a request (None with authentication off) and what it may do."""

    key_id: str | None
    scopes: frozenset[KeyScope]

    @property
    def sees(self) -> str | None:
        """Whose jobs and datasets it sees: None for everyone's (an admin), else its own."""
        return None if KeyScope.ADMIN in self.scopes else self.key_id


ANONYMOUS_ADMIN = Caller(None, frozenset({KeyScope.ADMIN}))


class KeyRing:
    """API keys by id, read from the job store and kept for KEY_CACHE_SECONDS."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: dict[str, tuple[float, ApiKey | None]] = {}

    async def caller(self, headers: Headers) -> Caller:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException(
                "send an API key: Authorization: Bearer <key>", headers=CHALLENGE
            )
        parsed = parse_key(token.strip())
        key = await self._key(parsed[0]) if parsed else None
        if (
            parsed is None
            or key is None
            or key.revoked
            or not secret_matches(parsed[1], key.digest)
        ):
            raise NotAuthorizedException("the API key is not valid", headers=CHALLENGE)
        return Caller(key.id, frozenset(KeyScope(s) for s in key.scopes))

    async def _key(self, key_id: str) -> ApiKey | None:
        now = time.monotonic()
        cached = self._cache.get(key_id)
        if cached is not None and now - cached[0] < KEY_CACHE_SECONDS:
            return cached[1]
        key = await asyncio.to_thread(self.db.keys.get_key, key_id)
        if len(self._cache) > 10_000:  # unknown ids must not grow it without bound
            self._cache.clear()
        self._cache[key_id] = (now, key)
        return key


class Authentication(ASGIMiddleware):
    """Sets ``scope["user"]`` to the :class:`Caller`; open routes and the OpenAPI document
    are skipped. Refuses a request without a valid key (401, with WWW-Authenticate)."""

    exclude_opt_key = OPEN

    @staticmethod
    def should_bypass_for_scope(scope: Scope) -> bool:  # the OpenAPI document is public
        return str(scope["path"]).startswith(urls.OPENAPI)

    def __init__(self, keys: KeyRing | None) -> None:
        self.keys = keys

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if self.keys is None:
            scope["user"] = ANONYMOUS_ADMIN
        else:
            scope["user"] = await self.keys.caller(Headers.from_scope(scope))
        await next_app(scope, receive, send)


def requires(needed: KeyScope) -> Callable[[ASGIConnection, BaseRouteHandler], None]:
    """A guard: the caller's key must allow ``needed`` (403 otherwise)."""

    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        caller: Caller = connection.user
        if not allows(caller.scopes, needed):
            raise PermissionDeniedException(f"this API key lacks the {needed!s} scope")

    return guard
