"""Jobs in the store. States move QUEUED -> RUNNING -> SUCCEEDED | FAILED | CANCELLED; a job
that is delivered again (a worker died) goes RUNNING again with one more attempt. Errors are
stored as text written by the worker, never as exception objects."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, func, select, update

from shared.platform.db.models import JobRow
from shared.platform.db.repository import Repository

#: the longest error text kept (the head of a traceback's message is what matters)
MAX_ERROR_CHARS = 2000


class JobState(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class Priority(StrEnum):
    """A background job gives way, between items, to normal jobs of its kind waiting in the
    queue (the student bootstrap runs in the background)."""

    NORMAL = "normal"
    BACKGROUND = "background"


FINISHED = (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)
UNFINISHED = (JobState.QUEUED, JobState.RUNNING)


@dataclass(frozen=True, slots=True)
class Job:
    """A job as the store knows it."""

    id: str
    kind: str
    state: JobState
    priority: Priority
    owner: str | None
    spec: dict[str, Any]
    created: float
    started: float | None
    finished: float | None
    done: int | None
    total: int | None
    attempts: int
    requeued: int
    error: str | None
    summary: dict[str, Any] | None
    #: ``name@version`` of the job's task
    task: str = "nli@1"

    @classmethod
    def of(cls, row: JobRow) -> Job:
        values = {name: getattr(row, name) for name in cls.__slots__}
        return cls(**{**values, "state": JobState(row.state), "priority": Priority(row.priority)})


class JobRepository(Repository):
    def create_job(
        self,
        job_id: str,
        kind: str,
        spec: dict[str, Any],
        priority: str = Priority.NORMAL,
        owner: str | None = None,
        task: str = "nli@1",
    ) -> Job:
        row = JobRow(
            id=job_id,
            kind=kind,
            state=JobState.QUEUED,
            priority=Priority(priority),
            owner=owner,
            task=task,
            spec=spec,
            created=time.time(),
            attempts=0,
            requeued=0,
        )
        with self._tx() as session:
            session.add(row)
        return Job.of(row)

    def get_job(self, job_id: str) -> Job | None:
        with self.session() as session:
            row = session.get(JobRow, job_id)
            return Job.of(row) if row is not None else None

    def list_jobs(
        self, kind: str | None, state: str | None, limit: int, offset: int, owner: str | None = None
    ) -> tuple[int, list[Job]]:
        """One page, newest first, and how many match in all (indexed by kind/state/owner);
        only ``owner``'s jobs when one is given."""
        where = []
        if owner is not None:
            where.append(JobRow.owner == owner)
        if kind is not None:
            where.append(JobRow.kind == kind)
        if state is not None:
            where.append(JobRow.state == state)
        with self.session() as session:
            total = session.scalar(select(func.count()).select_from(JobRow).where(*where))
            rows = session.scalars(
                select(JobRow)
                .where(*where)
                .order_by(JobRow.created.desc(), JobRow.id.desc())
                .limit(limit)
                .offset(offset)
            ).all()
            return int(total or 0), [Job.of(r) for r in rows]

    def _change(self, job_id: str, only: tuple[JobState, ...], **values: Any) -> bool:
        """Set ``values`` when the job is in one of the states ``only``; whether it was."""
        with self._tx() as session:
            result = session.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.state.in_([str(s) for s in only]))
                .values(**values)
            )
            return bool(result.rowcount)

    def start(self, job_id: str) -> Job | None:
        """A delivery of the job begins: RUNNING, one more attempt. None when it is finished
        (or unknown), so the delivery does nothing."""
        started = self._change(
            job_id,
            UNFINISHED,
            state=JobState.RUNNING,
            started=time.time(),
            attempts=JobRow.attempts + 1,
        )
        return self.get_job(job_id) if started else None

    def hand_back(self, job_id: str) -> bool:
        """A running job gives way (a background job, to waiting normal ones): QUEUED again,
        and this delivery is not counted as an attempt."""
        return self._change(
            job_id, (JobState.RUNNING,), state=JobState.QUEUED, attempts=JobRow.attempts - 1
        )

    def waiting(self, kind: str, priority: str = Priority.NORMAL) -> int:
        """How many ``kind`` jobs of ``priority`` wait to run."""
        with self.session() as session:
            count = session.scalar(
                select(func.count())
                .select_from(JobRow)
                .where(
                    JobRow.kind == kind,
                    JobRow.state == JobState.QUEUED,
                    JobRow.priority == Priority(priority),
                )
            )
            return int(count or 0)

    def progress(self, job_id: str, done: int, total: int) -> JobState | None:
        """Record progress of a running job; returns its state (CANCELLED stops the work)."""
        self._change(job_id, (JobState.RUNNING,), done=done, total=total)
        job = self.get_job(job_id)
        return job.state if job else None

    def succeed(self, job_id: str, summary: dict[str, Any]) -> bool:
        job = self.get_job(job_id)
        progress = {"done": job.total, "total": job.total} if job and job.total else {}
        return self._change(
            job_id,
            (JobState.RUNNING,),
            state=JobState.SUCCEEDED,
            summary=summary,
            finished=time.time(),
            error=None,
            **progress,
        )

    def fail(self, job_id: str, error: str) -> bool:
        return self._change(
            job_id,
            UNFINISHED,
            state=JobState.FAILED,
            error=error[:MAX_ERROR_CHARS],
            finished=time.time(),
        )

    def cancel(self, job_id: str) -> bool:
        """Cancel an unfinished job; a running one stops at its next progress report."""
        return self._change(job_id, UNFINISHED, state=JobState.CANCELLED, finished=time.time())

    def delete_job(self, job_id: str) -> bool:
        """Forget a finished job (its files are the caller's to remove)."""
        with self._tx() as session:
            result = session.execute(
                delete(JobRow).where(
                    JobRow.id == job_id, JobRow.state.in_([str(s) for s in FINISHED])
                )
            )
            return bool(result.rowcount)

    def finished_before(self, when: float, limit: int = 1000) -> list[str]:
        """Ids of jobs that finished before ``when`` (for retention), oldest first."""
        finished = JobRow.state.in_([str(s) for s in FINISHED])
        return self._oldest_ids(JobRow.finished, when, limit, finished)

    def unfinished(self, older_than: float) -> list[Job]:
        """QUEUED or RUNNING jobs created before ``older_than`` (for the reconciler)."""
        with self.session() as session:
            rows = session.scalars(
                select(JobRow)
                .where(JobRow.state.in_([str(s) for s in UNFINISHED]))
                .where(JobRow.created < older_than)
                .order_by(JobRow.created)
            ).all()
            return [Job.of(r) for r in rows]

    def mark_requeued(self, job_id: str) -> bool:
        return self._change(job_id, UNFINISHED, state=JobState.QUEUED, requeued=JobRow.requeued + 1)
