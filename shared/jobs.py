"""The job protocol every worker follows: the Celery app, the artifact store, the task
wrapper (idempotent, cancellable, summary last) and progress reports. Task bodies live with
their service; the API's side (submit, revoke, state) is :mod:`shared.queue`."""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from celery import Celery, Task
from celery.exceptions import Ignore

from shared.artifacts import ArtifactStore
from shared.celery_app import create_celery
from shared.errors import MjdError
from shared.layout import JOB_CANCELLED, JOB_SPEC, JOB_SUMMARY, JOBS
from shared.layout import finished_summary as stored_summary
from shared.settings import Settings


class JobCancelled(Exception):
    """Raised inside a task whose job was cancelled; the task ends without a result."""


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


def finished_summary(job_id: str) -> dict[str, Any] | None:
    return stored_summary(store(), job_id)


def start_job(job_id: str) -> None:
    """Common start of every job task: refuse cancelled jobs, clear a killed run's debris."""
    if store().exists(JOBS, job_id, JOB_CANCELLED):
        raise JobCancelled(job_id)
    store().remove_partial(JOBS, job_id)


@contextmanager
def cancellable(task: Task) -> Iterator[None]:
    """End a cancelled job as REVOKED (not FAILURE), without a result."""
    try:
        yield
    except JobCancelled:
        task.backend.mark_as_revoked(task.request.id, reason="cancelled", request=task.request)
        raise Ignore() from None


def job_task(app: Celery, name: str) -> Callable[[Callable[..., dict[str, Any]]], Task]:
    """Register ``body(task, job_id, spec) -> summary`` as the Celery task ``name`` with the
    job protocol around it: a finished job returns its stored summary (idempotent
    redelivery), a cancelled one ends REVOKED, and the summary is written last."""

    def decorate(body: Callable[..., dict[str, Any]]) -> Task:
        @app.task(name=name, bind=True)
        @functools.wraps(body)
        def run(task: Task, job_id: str) -> dict[str, Any]:
            with cancellable(task):
                done = finished_summary(job_id)
                if done is not None:
                    return done
                start_job(job_id)
                summary = body(task, job_id, store().read_json(JOBS, job_id, JOB_SPEC))
                store().write_json(JOBS, job_id, JOB_SUMMARY, summary)
                return summary

        return run

    return decorate


def progress_reporter(task: Task, job_id: str, every: float = 0.5) -> Callable[[int, int], None]:
    """Report (done, total) as the PROGRESS state at most once per ``every`` seconds, and stop
    the task (JobCancelled) once its job is cancelled."""
    last = [0.0]

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] < every and done < total:
            return
        last[0] = now
        if store().exists(JOBS, job_id, JOB_CANCELLED):
            raise JobCancelled(job_id)
        if task.request.id:
            meta = {"done": done, "total": total, "pid": os.getpid()}
            task.update_state(state="PROGRESS", meta=meta)

    return report
