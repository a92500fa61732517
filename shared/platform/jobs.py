"""The job protocol every worker follows: the Celery app, the artifact store, the job store,
the task wrapper (attempts counted, idempotent, cancellable, every failure recorded, summary
last) and progress reports. Task bodies live with their service; the API's side (record,
submit, revoke) is services.api.domain.jobs over :mod:`shared.platform.queue`."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

import msgspec
from celery import Celery, Task
from celery.exceptions import SoftTimeLimitExceeded
from prometheus_client import Counter, Histogram

from shared.contracts import KINDS, JobKind, decode_spec, encode
from shared.errors import DataError, MjdError
from shared.platform.artifacts import ArtifactStore
from shared.platform.celery_app import create_celery
from shared.platform.db.database import Database
from shared.platform.db.jobs import JobState, Priority
from shared.platform.layout import JOB_SUMMARY, JOBS
from shared.platform.layout import finished_summary as stored_summary
from shared.platform.settings import Settings

log = logging.getLogger(__name__)

#: the workers' series (shared.platform.telemetry.WORKER_SERIES), defined here: only processes that
#: run jobs register them
JOBS_FINISHED = Counter(
    "mjd_jobs_finished_total", "Job deliveries ended by workers, by final state", ["queue", "state"]
)
JOB_SECONDS = Histogram(
    "mjd_job_duration_seconds",
    "Wall time of finished jobs",
    ["queue", "state"],
    buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
)


class JobCancelled(Exception):
    """Raised inside a task whose job was cancelled; the task ends without a result."""


class JobYielded(Exception):
    """Raised inside a background task that gives way to waiting normal jobs: the job is
    queued again behind them (its body keeps what it has done, see the generator's
    checkpoint) and this delivery is not counted as an attempt."""


@functools.cache
def settings() -> Settings:
    return Settings.from_env()


@functools.cache
def store() -> ArtifactStore:
    return ArtifactStore(settings().artifacts_dir)


def broker_url() -> str:
    url = settings().redis_url
    if not url:
        raise MjdError(
            "REDIS_URL is not set (mjd up sets it, starting an embedded Redis if needed)"
        )
    return url


def celery_app(name: str) -> Celery:
    return create_celery(name, settings(), broker_url())


def database() -> Database:
    return _database(settings().store_url)


@functools.cache
def _database(url: str) -> Database:
    """One job store per process (and URL); the schema is upgraded on first use."""
    return Database(url)


def finished_summary(job_id: str) -> dict[str, Any] | None:
    return stored_summary(store(), job_id)


def describe_error(exc: BaseException) -> str:
    """What a failed job says about its error: the exception's type and message."""
    message = str(exc).strip()
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


#: a task body: (task, job id, the job's typed spec) -> its typed summary
Body = Callable[[Task, str, Any], msgspec.Struct]


def job_task(app: Celery, kind: JobKind) -> Callable[[Body], Task]:
    """Register ``body(task, job_id, spec) -> summary`` as the Celery task of ``kind`` jobs
    (:data:`shared.contracts.KINDS`) with the job protocol around it: the stored spec is
    decoded as the kind's spec type first (a malformed one fails the job naming its field)
    and the summary stored as JSON. Each delivery counts as an attempt; past
    MJD_MAX_ATTEMPTS the job fails as given up instead of looping. A finished or cancelled
    job is left alone, files of a run that finished before its worker died are taken as
    they are, and every exception of the body (MemoryError and RecursionError too) fails the
    job with its message instead of reaching Celery. The store's state, not Celery's, is
    what the API reports."""
    row = KINDS[kind]
    queue = row.queue

    def decorate(body: Body) -> Task:
        @app.task(name=row.task, bind=True)
        @functools.wraps(body)
        def run(task: Task, job_id: str) -> dict[str, Any] | None:
            began = time.monotonic()
            state, summary = _run(body, task, job_id)
            if state is not None:
                JOBS_FINISHED.labels(queue, state).inc()
                JOB_SECONDS.labels(queue, state).observe(time.monotonic() - began)
            return summary

        return run

    return decorate


def _run(body: Body, task: Task, job_id: str) -> tuple[JobState | None, dict[str, Any] | None]:
    """One delivery of a job: the state it ended in (None when it did nothing) and its
    summary."""
    db = database()
    job = db.jobs.start(job_id)
    if job is None:  # finished, cancelled or unknown: this delivery does nothing
        log.info("job %s is not waiting to run; delivery dropped", job_id)
        return None, None
    limit = settings().max_attempts
    if job.attempts > limit:
        db.jobs.fail(job_id, f"gave up after {limit} attempts (the worker stopped each time)")
        return JobState.FAILED, None
    done = finished_summary(job_id)
    if done is not None:  # the files were complete before the last worker stopped
        db.jobs.succeed(job_id, done)
        return JobState.SUCCEEDED, done
    store().remove_partial(JOBS, job_id)
    try:
        spec = decode_spec(job.kind, job.spec)
    except DataError as exc:
        db.jobs.fail(job_id, f"the job's spec cannot be read: {exc}")
        return JobState.FAILED, None
    try:
        summary = encode(body(task, job_id, spec))
    except JobCancelled:
        return JobState.CANCELLED, None
    except JobYielded:
        if db.jobs.hand_back(job_id):  # a cancel in between wins
            task.app.send_task(task.name, args=[job_id], task_id=job_id)
        return None, None
    except SoftTimeLimitExceeded:
        db.jobs.fail(job_id, f"stopped at the time limit ({settings().task_soft_time_limit:.0f} s)")
        return JobState.FAILED, None
    except Exception as exc:
        log.exception("job %s failed", job_id)
        db.jobs.fail(job_id, describe_error(exc))
        return JobState.FAILED, None
    store().write_json(JOBS, job_id, JOB_SUMMARY, summary)
    db.jobs.succeed(job_id, summary)
    return JobState.SUCCEEDED, summary


def progress_reporter(job_id: str, every: float = 0.5) -> Callable[[int, int], None]:
    """Record (done, total) in the job store at most once per ``every`` seconds, and stop
    the task (JobCancelled) once its job is cancelled."""
    last = [0.0]

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] < every and done < total:
            return
        last[0] = now
        if database().jobs.progress(job_id, done, total) == JobState.CANCELLED:
            raise JobCancelled(job_id)

    return report


def cancel_check(job_id: str) -> Callable[[], bool]:
    """For work that asks between its steps whether to go on: is the job cancelled (or its
    record gone)? A body that stopped for it raises :class:`JobCancelled`."""

    def cancelled() -> bool:
        job = database().jobs.get_job(job_id)
        return job is None or job.state == JobState.CANCELLED

    return cancelled


def give_way_check(job_id: str) -> Callable[[], bool]:
    """For a background job, a check to make between items: is a normal job of its kind
    waiting (then the body checkpoints and raises :class:`JobYielded`)? For a normal job,
    a check that is always False."""
    job = database().jobs.get_job(job_id)
    if job is None or job.priority != Priority.BACKGROUND:
        return lambda: False
    kind = job.kind
    return lambda: database().jobs.waiting(kind) > 0
