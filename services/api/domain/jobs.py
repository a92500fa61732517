"""Jobs: record a job's spec and input files, queue its task, and report on it.

A job is ``jobs/<id>/`` in the artifact store (spec, inputs, results, summary) plus a task
on its queue; the state comes from the queue, and a stored summary means it succeeded.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import msgspec

from services.api.problems import problem
from services.api.schemas import (
    JobLinks,
    JobList,
    JobResult,
    JobSummary,
    JobView,
    MjdRecordOut,
    ModelView,
    Progress,
    convert,
)
from services.api.urls import JOB, JOB_ARTIFACT, JOB_RESULT
from shared import layout
from shared.artifacts import ArtifactStore, check_id, new_id
from shared.errors import DataError
from shared.metrics import MetricReport
from shared.queue import TERMINAL, JobKind, JobQueue, JobState, QueueUnavailable
from shared.telemetry import JOBS_SUBMITTED


class JobService:
    def __init__(self, store: ArtifactStore, queue: JobQueue) -> None:
        self.store = store
        self.queue = queue

    def submit(self, kind: str, spec: dict[str, Any], files: dict[str, bytes]) -> JobView:
        """Store the job's files and spec, then queue it; 503 when the queue is down."""
        job_id = new_id()
        for name, data in files.items():
            self.store.write_bytes(layout.JOBS, job_id, name, data)
        spec = {**spec, "kind": kind, "created": time.time()}
        self.store.write_json(layout.JOBS, job_id, layout.JOB_SPEC, spec)
        try:
            self.queue.submit(kind, job_id)
        except QueueUnavailable as exc:
            raise problem(503, str(exc)) from None
        JOBS_SUBMITTED.labels(kind).inc()
        return self.view(job_id, spec)

    def spec(self, job_id: str, field_name: str = "job_id") -> dict[str, Any]:
        try:
            check_id(job_id, field_name)
        except DataError:
            raise problem(404, f"no job {job_id[:64]!r}", field_name) from None
        if not self.store.exists(layout.JOBS, job_id, layout.JOB_SPEC):
            raise problem(404, f"no job {job_id!r}", field_name)
        return self.store.read_json(layout.JOBS, job_id, layout.JOB_SPEC)

    def summary(self, job_id: str) -> dict[str, Any] | None:
        return layout.finished_summary(self.store, job_id)

    def view(self, job_id: str, spec: dict[str, Any] | None = None) -> JobView:
        spec = spec if spec is not None else self.spec(job_id)
        try:
            state, info = self.queue.state(job_id)
        except QueueUnavailable as exc:
            raise problem(503, str(exc)) from None
        summary = self.summary(job_id)
        if summary is not None and state not in TERMINAL:
            state = "SUCCESS"  # finished; its Celery state expired or was lost
        progress = None
        if state == "PROGRESS" and isinstance(info, dict) and "done" in info:
            progress = Progress(done=int(info["done"]), total=int(info["total"]))
        artifacts = (summary or {}).get("artifacts", [])
        return JobView(
            id=job_id,
            kind=JobKind(spec["kind"]),
            state=JobState(state),
            created=spec.get("created"),
            progress=progress,
            error=str(info) if state == "FAILURE" else None,
            summary=convert(summary, JobSummary) if summary is not None else None,
            links=JobLinks(
                self_=JOB.format(job_id=job_id),
                result=JOB_RESULT.format(job_id=job_id),
                artifacts=[JOB_ARTIFACT.format(job_id=job_id, name=n) for n in artifacts],
            ),
        )

    def list(
        self, kind: JobKind | None, state: JobState | None, limit: int, offset: int
    ) -> JobList:
        """Newest first. Without a state filter only the page's jobs are asked about; with
        one, every job of the kind is (the queue holds the states)."""
        folder = self.store.root / layout.JOBS
        specs = []
        for path in folder.iterdir() if folder.is_dir() else []:
            spec_path = path / layout.JOB_SPEC
            if spec_path.is_file():
                spec = msgspec.json.decode(spec_path.read_bytes())
                if kind is None or spec.get("kind") == kind:
                    specs.append((spec.get("created", 0), path.name, spec))
        specs.sort(reverse=True)
        if state is None:
            page = [self.view(job_id, spec) for _, job_id, spec in specs[offset:][:limit]]
            return JobList(total=len(specs), offset=offset, limit=limit, jobs=page)
        views = [self.view(job_id, spec) for _, job_id, spec in specs]
        views = [v for v in views if v.state == state]
        return JobList(total=len(views), offset=offset, limit=limit, jobs=views[offset:][:limit])

    def cancel(self, job_id: str) -> JobView:
        """Mark the job cancelled (tasks check the mark, so a redelivered copy stops too),
        then revoke it so a queued copy is dropped."""
        spec = self.spec(job_id)
        if self.summary(job_id) is None:
            self.store.write_bytes(layout.JOBS, job_id, layout.JOB_CANCELLED, b"")
            self.queue.revoke(job_id)
        return self.view(job_id, spec)

    def result(self, job_id: str) -> JobResult:
        spec = self.spec(job_id)
        view = self.view(job_id, spec)
        if view.summary is None:
            raise problem(409, f"job is {view.state}; the result exists once it succeeds", "job_id")
        if spec["kind"] == "mjd":
            records = [convert(r, MjdRecordOut) for r in layout.mjd_records(self.store, job_id)]
            return JobResult(summary=view.summary, records=records)
        if spec["kind"] == "training":
            model = self.store.read_json(layout.JOBS, job_id, layout.TRAINING_REPORT)
            return JobResult(summary=view.summary, model=convert(model, ModelView))
        report = self.store.read_json(layout.JOBS, job_id, layout.METRICS_REPORT)
        return JobResult(summary=view.summary, report=convert(report, MetricReport))

    def artifact(self, job_id: str, name: str) -> tuple[Path, str]:
        """The path and media type of an artifact the finished job lists."""
        self.spec(job_id)
        if name not in (self.summary(job_id) or {}).get("artifacts", []):
            raise problem(404, f"job {job_id!r} has no artifact {name[:64]!r}", "name")
        media_type = layout.ARTIFACT_MEDIA_TYPES[name.rsplit(".", 1)[-1]]
        return self.store.path(layout.JOBS, job_id, name), media_type

    def finished_mjd_records(self, job_id: str, field_name: str) -> list[dict[str, Any]]:
        spec = self.spec(job_id, field_name)
        if spec["kind"] != "mjd" or self.summary(job_id) is None:
            raise problem(409, "not a finished MJD job", field_name)
        return layout.mjd_records(self.store, job_id)
