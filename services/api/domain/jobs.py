"""Jobs: record a job in the job store, keep its input files in the artifact store, queue its
task, and report on it from the store. The reconciler re-queues jobs whose message was lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec

from services.api.model_schemas import ModelView
from services.api.observability import JOBS_SUBMITTED
from services.api.schemas import (
    ExplainedRecordOut,
    JobLinks,
    JobList,
    JobResult,
    JobSummary,
    JobView,
    MjdRecordOut,
    Progress,
    convert,
)
from services.api.urls import JOB, JOB_ARTIFACT, JOB_RESULT
from shared.contracts import JobKind, encode
from shared.errors import Conflict, DataError, NotFound, echo
from shared.metrics import MetricReport
from shared.platform import layout
from shared.platform.artifacts import ArtifactStore, check_id, new_id
from shared.platform.db.database import Database
from shared.platform.db.jobs import FINISHED, Job, JobState, Priority
from shared.platform.queue import JobQueue, QueueUnavailable
from shared.schemas import Instance
from shared.tasks import NLI, Task
from shared.tasks.files import task_from_json

log = logging.getLogger(__name__)
#: a job this young may still be on its way to the queue; the reconciler leaves it be
RECONCILE_GRACE_SECONDS = 30.0


def job_progress(job: Job, summary: JobSummary | None) -> Progress | None:
    """Done and total of the job's work as its worker last reported them. A succeeded job
    that reported none (a metrics job without a bootstrap, a job whose files were complete
    before its worker stopped) is complete over its summary's items: done == total."""
    if job.total is not None:
        done = job.total if job.state == JobState.SUCCEEDED else job.done or 0
        return Progress(done=done, total=job.total)
    if job.state == JobState.SUCCEEDED and summary is not None:
        return Progress(done=summary.items, total=summary.items)
    return None


def job_task(job: Job) -> Task:
    """The task a job was queued with (kept whole in its spec; specs from before: NLI)."""
    stored = job.spec.get("task")
    return NLI if stored is None else task_from_json(stored)


def job_view(job: Job) -> JobView:
    summary = convert(job.summary, JobSummary) if job.summary is not None else None
    artifacts = summary.artifacts if summary is not None else []
    return JobView(
        id=job.id,
        kind=JobKind(job.kind),
        state=job.state,
        priority=job.priority,
        created=job.created,
        started=job.started,
        finished=job.finished,
        attempts=job.attempts,
        progress=job_progress(job, summary),
        error=job.error,
        summary=summary,
        links=JobLinks(
            self_=JOB.format(job_id=job.id),
            result=JOB_RESULT.format(job_id=job.id),
            artifacts=[JOB_ARTIFACT.format(job_id=job.id, name=n) for n in artifacts],
        ),
        task=job.task,
    )


class JobService:
    def __init__(self, store: ArtifactStore, queue: JobQueue, db: Database) -> None:
        self.store = store
        self.queue = queue
        self.db = db

    def submit(
        self,
        kind: JobKind,
        spec: msgspec.Struct,
        files: dict[str, bytes],
        priority: Priority = Priority.NORMAL,
        owner: str | None = None,
    ) -> JobView:
        """Store the job's files, record it, then queue it. When the queue is down the job
        ends FAILED ("could not queue") and the client gets 503: no job waits forever."""
        job_id = new_id()
        for name, data in files.items():
            self.store.write_bytes(layout.JOBS, job_id, name, data)
        task = getattr(spec, "task", None)
        ref = task.ref if task is not None else "nli@1"
        self.db.jobs.create_job(job_id, kind, encode(spec), priority, owner, ref)
        try:
            self.queue.submit(kind, job_id)
        except QueueUnavailable:
            self.db.jobs.fail(job_id, "could not queue the job: the job queue is unavailable")
            raise
        JOBS_SUBMITTED.labels(kind).inc()
        return self.view(job_id, None)

    def job(self, job_id: str, sees: str | None, field_name: str = "job_id") -> Job:
        """The job, if the caller sees it (``sees``: the owner whose jobs it sees, None for
        everyone's); another owner's job is as missing as an unknown one."""
        try:
            check_id(job_id, field_name)
        except DataError:
            raise NotFound(f"no job {echo(job_id)}", field=field_name) from None
        job = self.db.jobs.get_job(job_id)
        if job is None or (sees is not None and job.owner != sees):
            raise NotFound(f"no job {echo(job_id)}", field=field_name)
        return job

    def view(self, job_id: str, sees: str | None) -> JobView:
        return job_view(self.job(job_id, sees))

    def list(
        self,
        kind: JobKind | None,
        state: JobState | None,
        limit: int,
        offset: int,
        sees: str | None,
    ) -> JobList:
        """Newest first: one indexed query."""
        total, jobs = self.db.jobs.list_jobs(kind, state, limit, offset, sees)
        return JobList(
            total=total, offset=offset, limit=limit, jobs=[job_view(job) for job in jobs]
        )

    def cancel(self, job_id: str, sees: str | None) -> JobView:
        """A queued job never runs; a running one stops at its next progress report."""
        self.job(job_id, sees)
        if self.db.jobs.cancel(job_id):
            self.queue.revoke(job_id)
        return self.view(job_id, sees)

    def purge(self, job_id: str, sees: str | None) -> None:
        """A finished job's files and record (409 while it may still run)."""
        job = self.job(job_id, sees)
        if job.state not in FINISHED:
            raise Conflict(f"job is {job.state}; cancel it first", field="job_id")
        self.db.jobs.delete_job(job_id)
        self.store.remove(layout.JOBS, job_id)

    def result(self, job_id: str, sees: str | None) -> JobResult:
        job = self.job(job_id, sees)
        if job.state != JobState.SUCCEEDED or job.summary is None:
            raise Conflict(
                f"job is {job.state}; the result exists once it succeeds", field="job_id"
            )
        summary = convert(job.summary, JobSummary)
        if job.kind == JobKind.MJD:
            records = [convert(r, MjdRecordOut) for r in layout.mjd_records(self.store, job_id)]
            return JobResult(summary=summary, records=records)
        if job.kind == JobKind.TRAINING:
            model = self.store.read_json(layout.JOBS, job_id, layout.TRAINING_REPORT)
            return JobResult(summary=summary, model=convert(model, ModelView))
        if job.kind == JobKind.EXPLANATION:
            task = job_task(job)
            explained = layout.explained_records(self.store, job_id)
            if task.name != NLI.name:  # the layout is flat: inputs beside the id
                names = task.input_names
                explained = [{**r, "inputs": {n: r[n] for n in names}} for r in explained]
            return JobResult(
                summary=summary, explained=convert(explained, list[ExplainedRecordOut])
            )
        report = self.store.read_json(layout.JOBS, job_id, layout.METRICS_REPORT)
        return JobResult(summary=summary, report=convert(report, MetricReport))

    def artifact(self, job_id: str, name: str, sees: str | None) -> tuple[Path, str]:
        """The path and media type of an artifact the finished job lists."""
        job = self.job(job_id, sees)
        if name not in (job.summary or {}).get("artifacts", []):
            raise NotFound(f"job {echo(job_id)} has no artifact {echo(name)}", field="name")
        media_type = layout.ARTIFACT_MEDIA_TYPES[name.rsplit(".", 1)[-1]]
        return self.store.path(layout.JOBS, job_id, name), media_type

    def finished_mjd_records(
        self, job_id: str, field_name: str, sees: str | None
    ) -> tuple[Task, list[dict[str, Any]]]:
        """A finished MJD job's task and records."""
        job = self.job(job_id, sees, field_name)
        if job.kind != JobKind.MJD or job.state != JobState.SUCCEEDED:
            raise Conflict("not a finished MJD job", field=field_name)
        return job_task(job), layout.mjd_records(self.store, job_id)

    def finished_explanations(
        self, job_id: str, field_name: str, sees: str | None
    ) -> tuple[Task, list[Instance]]:
        """The explained items of a finished explanation job the caller sees (404 for
        another's), as an MJD job reads them: 422 for a job of another kind, 409 until it
        succeeds."""
        job = self.job(job_id, sees, field_name)
        if job.kind != JobKind.EXPLANATION:
            raise DataError(
                f"job {echo(job_id)} is a {job.kind} job, not an explanation job", field=field_name
            )
        if job.state != JobState.SUCCEEDED:
            raise Conflict(
                f"job is {job.state}; its explanations exist once it succeeds", field=field_name
            )
        task = job_task(job)
        return task, layout.explained_instances(self.store, job_id, task)

    def reconcile(self, grace: float = RECONCILE_GRACE_SECONDS) -> dict[str, int]:
        """Queue again, once, every unfinished job whose message is gone (the embedded Redis
        restarted empty, a broker lost it); a job lost a second time fails instead."""
        try:
            waiting = self.queue.pending()
        except QueueUnavailable:
            return {"requeued": 0, "failed": 0}
        requeued = failed = 0
        for job in self.db.jobs.unfinished(older_than=time.time() - grace):
            if job.id in waiting:
                continue
            if job.requeued:
                failed += self.db.jobs.fail(job.id, "its queue message was lost twice; resubmit it")
                continue
            if self.db.jobs.mark_requeued(job.id):
                try:
                    self.queue.submit(job.kind, job.id)
                except QueueUnavailable:
                    return {"requeued": requeued, "failed": failed}
                requeued += 1
        if requeued or failed:
            log.warning("reconciler: %d job(s) re-queued, %d failed as lost", requeued, failed)
        return {"requeued": requeued, "failed": failed}


class Reconciler:
    """Runs its ``rounds`` (:meth:`JobService.reconcile`, the bootstrap's advance) at start
    and every ``every`` seconds, in a thread (they talk to the database and Redis)."""

    def __init__(self, rounds: Sequence[Callable[[], object]], every: float) -> None:
        self.rounds = rounds
        self.every = every
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def _loop(self) -> None:
        while True:
            for round_ in self.rounds:
                try:
                    await asyncio.to_thread(round_)
                except Exception:  # a failed round must not end the loop
                    log.exception("reconciler round failed")
            await asyncio.sleep(self.every)
