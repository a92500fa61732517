"""What services share about jobs: the Celery app, the artifact store, submission,
cancellation and the progress protocol. Task bodies live with their service."""

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
from shared.settings import Settings

#: artifact names inside jobs/<job id>/
JOB_INPUT = "input.jsonl"
JOB_SPEC = "spec.json"
JOB_SUMMARY = "summary.json"
JOB_CANCELLED = "cancelled"


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


def submit(app: Celery, task_name: str, job_id: str) -> None:
    """Queue a job's task by name; the job id is the Celery task id."""
    app.send_task(task_name, args=[job_id], task_id=job_id)


def cancel(app: Celery, job_id: str) -> None:
    """Mark the job cancelled (tasks check the mark, so a redelivered copy stops too), then
    revoke it so a queued copy is dropped."""
    store().write_bytes("jobs", job_id, JOB_CANCELLED, b"")
    app.control.revoke(job_id)


def finished_summary(job_id: str) -> dict[str, Any] | None:
    """The stored summary when a (redelivered) task already finished this job: tasks are
    idempotent, and the summary is written last, after every result file."""
    if store().exists("jobs", job_id, JOB_SUMMARY):
        return store().read_json("jobs", job_id, JOB_SUMMARY)
    return None


def start_job(job_id: str) -> None:
    """Common start of every job task: refuse cancelled jobs, clear a killed run's debris."""
    if store().exists("jobs", job_id, JOB_CANCELLED):
        raise JobCancelled(job_id)
    store().remove_partial("jobs", job_id)


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
                summary = body(task, job_id, store().read_json("jobs", job_id, JOB_SPEC))
                store().write_json("jobs", job_id, JOB_SUMMARY, summary)
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
        if store().exists("jobs", job_id, JOB_CANCELLED):
            raise JobCancelled(job_id)
        if task.request.id:
            meta = {"done": done, "total": total, "pid": os.getpid()}
            task.update_state(state="PROGRESS", meta=meta)

    return report
