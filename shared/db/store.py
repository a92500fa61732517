"""The job store: jobs, datasets, the student bootstrap and model versions in a relational
database (their files stay in the artifact store).

Every state change is one short transaction, so the API, the workers and the reconciler can
share the store from many processes. States move QUEUED -> RUNNING -> SUCCEEDED | FAILED |
CANCELLED; a job that is delivered again (a worker died) goes RUNNING again with one more
attempt. Errors are stored as text written by the worker, never as exception objects.
"""

from __future__ import annotations

import contextlib
import fcntl
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, delete, event, func, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from shared.db.models import ApiKeyRow, BootstrapRow, DatasetRow, JobRow, ModelRow

MIGRATIONS = Path(__file__).with_name("migrations")
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

    @classmethod
    def of(cls, row: JobRow) -> Job:
        values = {name: getattr(row, name) for name in cls.__slots__}
        return cls(**{**values, "state": JobState(row.state), "priority": Priority(row.priority)})


@dataclass(frozen=True, slots=True)
class Dataset:
    id: str
    name: str | None
    instances: int
    with_human: int
    with_explanations: int
    created: float


@dataclass(frozen=True, slots=True)
class Bootstrap:
    """A student bootstrap as the store records it (its jobs say how far it got)."""

    number: int
    created: float
    items: int
    dataset_id: str | None
    mjd_job_id: str | None
    training_job_id: str | None


def _engine(url: str) -> Engine:
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(  # an unreachable server is an error in seconds, not a hang
            url,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=5,
            connect_args={"connect_timeout": 5},
        )
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(connection: Any, _: Any) -> None:  # many processes share one file
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """One migrating process at a time (the API and every worker upgrade at start)."""
    if engine.dialect.name == "sqlite":
        database = make_url(str(engine.url)).database
        if not database or database == ":memory:":  # one process owns it
            yield
            return
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        with open(f"{database}.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield
        return
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(727274)"))
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(727274)"))


@contextlib.contextmanager
def scratch_database(admin_url: str, prefix: str) -> Iterator[str]:
    """A PostgreSQL database made on the server of ``admin_url`` for one run (tests,
    benchmarks) and dropped at its end; yields its URL."""
    admin = create_engine(
        admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )
    name = f"{prefix}_{secrets.token_hex(6)}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
        try:
            yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    finally:
        admin.dispose()


def migrate(engine: Engine, revision: str = "head", *, down: bool = False) -> None:
    """Upgrade (or downgrade) the schema to ``revision``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with _migration_lock(engine), engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


class JobStore:
    """Jobs and datasets over one database; safe to share between threads."""

    def __init__(self, url: str, *, upgrade: bool = True) -> None:
        self.url = url
        self.engine = _engine(url)
        if upgrade:
            migrate(self.engine)
        self.session = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[Session]:
        with self.session.begin() as session:
            yield session

    def writable(self) -> bool:
        """Whether a write goes through (for readiness)."""
        try:
            with self.engine.begin() as connection:
                connection.execute(update(JobRow).where(JobRow.id == "").values(attempts=0))
        except Exception:  # any driver or file error means not ready
            return False
        return True

    # ------------------------------------------------------------------------ jobs

    def create_job(
        self,
        job_id: str,
        kind: str,
        spec: dict[str, Any],
        priority: str = Priority.NORMAL,
        owner: str | None = None,
    ) -> Job:
        row = JobRow(
            id=job_id,
            kind=kind,
            state=JobState.QUEUED,
            priority=Priority(priority),
            owner=owner,
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
        with self.session() as session:
            return list(
                session.scalars(
                    select(JobRow.id)
                    .where(JobRow.state.in_([str(s) for s in FINISHED]), JobRow.finished < when)
                    .order_by(JobRow.finished)
                    .limit(limit)
                )
            )

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

    # ------------------------------------------------------------------------ datasets

    def add_dataset(self, dataset: Dataset, owner: str | None = None) -> None:
        values = {f: getattr(dataset, f) for f in Dataset.__slots__}
        with self._tx() as session:
            session.add(DatasetRow(**values, owner=owner))

    def delete_dataset(self, dataset_id: str) -> bool:
        with self._tx() as session:
            result = session.execute(delete(DatasetRow).where(DatasetRow.id == dataset_id))
            return bool(result.rowcount)

    def datasets_before(self, when: float, limit: int = 1000) -> list[str]:
        """Ids of datasets made before ``when`` (for retention), oldest first."""
        with self.session() as session:
            return list(
                session.scalars(
                    select(DatasetRow.id)
                    .where(DatasetRow.created < when)
                    .order_by(DatasetRow.created)
                    .limit(limit)
                )
            )

    def get_dataset(self, dataset_id: str, owner: str | None = None) -> Dataset | None:
        """The dataset; None when it does not exist or, given ``owner``, is not theirs."""
        with self.session() as session:
            row = session.get(DatasetRow, dataset_id)
            if row is None or (owner is not None and row.owner != owner):
                return None
            return Dataset(**{f: getattr(row, f) for f in Dataset.__slots__})

    # ------------------------------------------------------------------------ bootstraps

    def claim_bootstrap(self, items: int) -> Bootstrap | None:
        """Record a new bootstrap, numbered after the latest; None when another starter
        recorded that number first (it bootstraps, this one does not)."""
        with self.session() as session:
            latest = session.scalar(select(func.max(BootstrapRow.number)))
        row = BootstrapRow(number=(latest or 0) + 1, created=time.time(), items=items)
        try:
            with self._tx() as session:
                session.add(row)
        except IntegrityError:
            return None
        return _bootstrap(row)

    def note_bootstrap(self, number: int, column: str, value: str) -> bool:
        """Note a bootstrap's dataset, MJD job or training job, unless one is noted already
        (then False: another request got there first)."""
        field = {
            "dataset_id": BootstrapRow.dataset_id,
            "mjd_job_id": BootstrapRow.mjd_job_id,
            "training_job_id": BootstrapRow.training_job_id,
        }[column]
        with self._tx() as session:
            result = session.execute(
                update(BootstrapRow)
                .where(BootstrapRow.number == number, field.is_(None))
                .values({field: value})
            )
            return bool(result.rowcount)

    def latest_bootstrap(self) -> Bootstrap | None:
        with self.session() as session:
            row = session.scalars(
                select(BootstrapRow).order_by(BootstrapRow.number.desc()).limit(1)
            ).first()
            return _bootstrap(row) if row is not None else None

    # ------------------------------------------------------------------------ model versions

    def add_model(self, record: dict[str, Any]) -> bool:
        """Record a published version (``record`` has its version, created time and, when a
        job trained it, job_id); False when it is recorded already."""
        version = str(record["version"])
        row = ModelRow(
            version=version,
            number=int(version[1:]),
            created=float(record["created"]),
            job_id=record.get("job_id"),
            record=record,
        )
        try:
            with self._tx() as session:
                session.add(row)
        except IntegrityError:
            return False
        return True

    def get_model(self, version: str) -> dict[str, Any] | None:
        with self.session() as session:
            row = session.get(ModelRow, version)
            return dict(row.record) if row is not None else None

    def list_models(self) -> list[dict[str, Any]]:
        """Published versions, newest first."""
        with self.session() as session:
            rows = session.scalars(select(ModelRow).order_by(ModelRow.number.desc())).all()
            return [dict(r.record) for r in rows]

    def delete_model(self, version: str) -> bool:
        with self._tx() as session:
            result = session.execute(delete(ModelRow).where(ModelRow.version == version))
            return bool(result.rowcount)

    def promote_model(self, version: str, when: float) -> bool:
        with self._tx() as session:
            result = session.execute(
                update(ModelRow).where(ModelRow.version == version).values(promoted=when)
            )
            return bool(result.rowcount)

    def promoted_model(self) -> tuple[str, float] | None:
        """The version promoted last, and when."""
        with self.session() as session:
            row = session.execute(
                select(ModelRow.version, ModelRow.promoted)
                .where(ModelRow.promoted.is_not(None))
                .order_by(ModelRow.promoted.desc())
                .limit(1)
            ).first()
            return (str(row[0]), float(row[1])) if row is not None else None

    # ------------------------------------------------------------------------ API keys

    def add_key(self, key_id: str, name: str, scopes: list[str], digest: str) -> ApiKey:
        row = ApiKeyRow(id=key_id, name=name, scopes=scopes, digest=digest, created=time.time())
        with self._tx() as session:
            session.add(row)
        return _api_key(row)

    def get_key(self, key_id: str) -> ApiKey | None:
        with self.session() as session:
            row = session.get(ApiKeyRow, key_id)
            return _api_key(row) if row is not None else None

    def list_keys(self) -> list[ApiKey]:
        with self.session() as session:
            rows = session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.created)).all()
            return [_api_key(r) for r in rows]

    def revoke_key(self, key_id: str) -> bool:
        with self._tx() as session:
            result = session.execute(
                update(ApiKeyRow)
                .where(ApiKeyRow.id == key_id, ApiKeyRow.revoked.is_(None))
                .values(revoked=time.time())
            )
            return bool(result.rowcount)

    def active_keys(self) -> int:
        with self.session() as session:
            count = session.scalar(
                select(func.count()).select_from(ApiKeyRow).where(ApiKeyRow.revoked.is_(None))
            )
            return int(count or 0)


def _bootstrap(row: BootstrapRow) -> Bootstrap:
    return Bootstrap(**{name: getattr(row, name) for name in Bootstrap.__slots__})


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key as the store keeps it: never the secret, only its digest."""

    id: str
    name: str
    scopes: tuple[str, ...]
    digest: str
    created: float
    revoked: float | None


def _api_key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(row.id, row.name, tuple(row.scopes), row.digest, row.created, row.revoked)
