"""Readiness: the artifact store and the job store take writes, the job queue answers, a
worker consumes each required queue; and which model version and execution provider
/v1/predict answers with (null before one is promoted). Answers come from a result at most
MJD_READY_CACHE_SECONDS old, worked out by one thread at a time: a burst of probes costs one
broker round trip, not a thread each."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from msgspec import Struct

from services.api.domain.predictions import serving_view
from services.api.model_schemas import ServingView
from services.predictor import Predictor
from shared.platform.artifacts import ArtifactStore, StoreNotWritable
from shared.platform.db.database import Database
from shared.platform.queue import JobQueue, QueueUnavailable


class Health(Struct):
    status: str


class Readiness(Struct):
    status: str
    reason: str | None = None
    workers: dict[str, int] | None = None  # workers consuming each queue
    #: NLI's served model (as before tasks)
    predictor: ServingView | None = None
    #: the model served for each task (``name@version``), NLI's included
    served: dict[str, ServingView] | None = None


def readiness(
    store: ArtifactStore,
    database: Database,
    queue: JobQueue,
    required: tuple[str, ...],
    predictor: Predictor,
) -> Readiness:
    try:
        store.check_writable()  # every submission writes there first
    except StoreNotWritable as exc:
        return Readiness(status="unavailable", reason=str(exc))
    if not database.writable():
        return Readiness(status="unavailable", reason="the job store is not writable")
    try:
        queue.ping()
    except QueueUnavailable as exc:
        return Readiness(status="unavailable", reason=str(exc))
    consumers = {q: 0 for q in required}
    for queues in queue.workers().values():
        for name in queues:
            consumers[name] = consumers.get(name, 0) + 1
    missing = [q for q in required if not consumers[q]]
    if missing:
        return Readiness(
            status="unavailable", reason=f"no worker on queue(s): {', '.join(missing)}"
        )
    served = {task: serving_view(model) for task, model in predictor.served.items()}
    return Readiness(
        status="ready",
        workers=consumers,
        predictor=serving_view(predictor.current),
        served={task: view for task, view in served.items() if view is not None} or None,
    )


class CachedReadiness:
    """``check()`` run in one thread at a time, its result kept ``ttl`` seconds; ``checks``
    counts the runs."""

    def __init__(self, check: Callable[[], Readiness], ttl: float) -> None:
        self.check = check
        self.ttl = ttl
        self.checks = 0
        self._result: tuple[float, Readiness] | None = None
        self._running: asyncio.Future[Readiness] | None = None

    async def __call__(self) -> Readiness:
        if self._result is not None and time.monotonic() - self._result[0] < self.ttl:
            return self._result[1]
        if self._running is None:
            self._running = asyncio.ensure_future(self._refresh())
        return await asyncio.shield(self._running)

    async def _refresh(self) -> Readiness:
        try:
            self.checks += 1
            result = await asyncio.to_thread(self.check)
            self._result = (time.monotonic(), result)
            return result
        finally:
            self._running = None
