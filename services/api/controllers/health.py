"""Liveness, readiness and the Prometheus scrape."""

from __future__ import annotations

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec

from services.api import observability, urls
from services.api.auth import SCOPE, requires
from services.api.controllers import route
from services.api.domain.health import CachedReadiness, Health, Readiness
from shared.platform.auth import Scope
from shared.platform.queue import JobQueue

NOT_READY = {503: ResponseSpec(Readiness, description="Not ready; the reason says why")}


class HealthController(Controller):
    tags = ("health",)

    @route(get, urls.HEALTHZ, "healthz", "The process is alive", scope=None)
    async def healthz(self) -> Health:
        return Health(status="ok")

    @route(get, urls.READYZ, "readyz", "Ready to take jobs", scope=None, responses=NOT_READY)
    async def readyz(self, readiness: NamedDependency[CachedReadiness]) -> Response[Readiness]:
        """The artifact and job stores take writes, the queue answers and a worker consumes
        each queue (workers per queue); names the served model. At most 2 s old."""
        ready = await readiness()
        return Response(ready, status_code=200 if ready.status == "ready" else 503)

    @get(
        urls.PROMETHEUS, sync_to_thread=True, include_in_schema=False,
        guards=[requires(Scope.READ)], opt={SCOPE: str(Scope.READ)},
    )  # fmt: skip
    def metrics(self, request: Request, queue: NamedDependency[JobQueue]) -> Response[bytes]:
        # the content type as negotiated, as is (Litestar would add a second charset)
        body, content_type = observability.scrape(queue, request.headers.get("accept"))
        return Response(body, headers={"content-type": content_type})
