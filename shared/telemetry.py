"""Prometheus metrics shared by the API and the workers.

Workers run in several processes, so mjd up sets PROMETHEUS_MULTIPROC_DIR (wiped at start)
and the API's /metrics aggregates every process's files (prometheus_client multiprocess
mode). Series names are listed in :data:`SERIES` for the dashboards and alert rules.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import Counter, Histogram

JOBS_SUBMITTED = Counter("mjd_jobs_submitted_total", "Jobs queued by the API", ["queue"])
JOBS_FINISHED = Counter("mjd_jobs_finished_total", "Jobs finished by workers", ["queue", "state"])
JOB_SECONDS = Histogram(
    "mjd_job_duration_seconds",
    "Wall time of finished jobs",
    ["queue", "state"],
    buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
)

SERIES = (
    "mjd_requests_total",
    "mjd_request_duration_seconds",
    "mjd_jobs_submitted_total",
    "mjd_jobs_finished_total",
    "mjd_job_duration_seconds",
    "mjd_queue_depth",
)


def instrument_worker(queue: str) -> None:
    """Count every task outcome of this worker and time it (Celery signals)."""
    from celery.signals import task_postrun, task_prerun

    started: dict[str, float] = {}

    @task_prerun.connect(weak=False)
    def _start(task_id: str | None = None, **_: Any) -> None:
        if task_id:
            started[task_id] = time.monotonic()

    @task_postrun.connect(weak=False)
    def _finish(task_id: str | None = None, state: str | None = None, **_: Any) -> None:
        begin = started.pop(task_id or "", None)
        label = state or "UNKNOWN"
        JOBS_FINISHED.labels(queue, label).inc()
        if begin is not None:
            JOB_SECONDS.labels(queue, label).observe(time.monotonic() - begin)
