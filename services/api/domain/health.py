"""Readiness: the artifact store and the job store take writes, the job queue answers, a
worker consumes each required queue; and which model version and execution provider
/v1/predict answers with (null before one is promoted)."""

from __future__ import annotations

from services.api.domain.predictions import serving_view
from services.api.schemas import Readiness
from services.predictor import Predictor
from shared.artifacts import ArtifactStore, StoreNotWritable
from shared.db.store import JobStore
from shared.queue import JobQueue, QueueUnavailable


def readiness(
    store: ArtifactStore,
    database: JobStore,
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
    workers = queue.workers()
    consumed = set().union(*workers.values()) if workers else set()
    missing = [q for q in required if q not in consumed]
    if missing:
        return Readiness(
            status="unavailable", reason=f"no worker on queue(s): {', '.join(missing)}"
        )
    return Readiness(
        status="ready", workers=sorted(workers), predictor=serving_view(predictor.current)
    )
