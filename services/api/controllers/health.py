"""Liveness, readiness and the Prometheus scrape."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec

from services.api import observability, urls
from services.api.auth import requires
from services.api.controllers import route
from services.api.domain.health import readiness
from services.api.schemas import Health, Readiness
from services.predictor import Predictor
from shared.auth import Scope
from shared.db.store import JobStore
from shared.queue import JobQueue
from shared.registry import ModelRegistry

NOT_READY = {503: ResponseSpec(Readiness, description="Not ready; the reason says why")}


class HealthController(Controller):
    tags = ("health",)

    @route(get, urls.HEALTHZ, "healthz", "The process is alive", scope=None)
    async def healthz(self) -> Health:
        return Health(status="ok")

    @route(get, urls.READYZ, "readyz", "Ready to take jobs", scope=None, responses=NOT_READY)
    def readyz(
        self,
        queue: NamedDependency[JobQueue],
        required_queues: NamedDependency[tuple[str, ...]],
        predictor: NamedDependency[Predictor],
        registry: NamedDependency[ModelRegistry],
        database: NamedDependency[JobStore],
    ) -> Response[Readiness]:
        """The artifact and job stores take writes, the queue answers and a worker consumes
        each queue; names the served model."""
        ready = readiness(registry.store, database, queue, required_queues, predictor)
        return Response(ready, status_code=200 if ready.status == "ready" else 503)

    @get(
        urls.PROMETHEUS, sync_to_thread=True, include_in_schema=False,
        guards=[requires(Scope.READ)],
    )  # fmt: skip
    def metrics(self, queue: NamedDependency[JobQueue]) -> Response[bytes]:
        return Response(observability.scrape(queue), media_type=observability.MEDIA_TYPE)
