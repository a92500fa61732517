"""The job store's tables. Times are seconds since the epoch (floats), as the API shows them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Float, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: the task of rows written before tasks existed
TASK_BEFORE = "nli@1"


class Base(DeclarativeBase):
    pass


class JobRow(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    #: "normal", or "background": a background job gives way to waiting normal ones
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    #: the API key that submitted it (None: made with authentication off)
    owner: Mapped[str | None] = mapped_column(String(16), default=None)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    created: Mapped[float] = mapped_column(Float)
    started: Mapped[float | None] = mapped_column(Float, default=None)
    finished: Mapped[float | None] = mapped_column(Float, default=None)
    done: Mapped[int | None] = mapped_column(Integer, default=None)
    total: Mapped[int | None] = mapped_column(Integer, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: times the reconciler put the job's message back after it was lost
    requeued: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    #: ``name@version`` of the task the job is for
    task: Mapped[str] = mapped_column(String(64), default=TASK_BEFORE)

    __table_args__ = (
        Index("ix_jobs_created", "created"),
        Index("ix_jobs_kind_created", "kind", "created"),
        Index("ix_jobs_state_created", "state", "created"),
        Index("ix_jobs_kind_state_priority", "kind", "state", "priority"),
        Index("ix_jobs_owner_created", "owner", "created"),
    )


class DatasetRow(Base):
    __tablename__ = "datasets"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(Text, default=None)
    instances: Mapped[int] = mapped_column(Integer)
    with_human: Mapped[int] = mapped_column(Integer)
    with_explanations: Mapped[int] = mapped_column(Integer)
    created: Mapped[float] = mapped_column(Float, index=True)
    owner: Mapped[str | None] = mapped_column(String(16), default=None)
    task: Mapped[str] = mapped_column(String(64), default=TASK_BEFORE)


class BootstrapRow(Base):
    """One student bootstrap: its dataset, its MJD job and, once that succeeded, its
    training job. ``number`` counts bootstraps; two starters racing for the next number
    collide on the primary key, so only one of them bootstraps."""

    __tablename__ = "bootstraps"

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created: Mapped[float] = mapped_column(Float)
    items: Mapped[int] = mapped_column(Integer)
    dataset_id: Mapped[str | None] = mapped_column(String(64), default=None)
    mjd_job_id: Mapped[str | None] = mapped_column(String(64), default=None)
    training_job_id: Mapped[str | None] = mapped_column(String(64), default=None)


class ModelRow(Base):
    """A published student version: its metadata record (the files stay in the artifact
    store) and when it was last promoted; the most recently promoted one is served."""

    __tablename__ = "models"

    version: Mapped[str] = mapped_column(String(16), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, index=True)
    created: Mapped[float] = mapped_column(Float)
    job_id: Mapped[str | None] = mapped_column(String(64), default=None)
    promoted: Mapped[float | None] = mapped_column(Float, default=None, index=True)
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: the task it predicts (one promoted version is served per task)
    task: Mapped[str] = mapped_column(String(64), default=TASK_BEFORE)

    __table_args__ = (Index("ix_models_task_promoted", "task", "promoted"),)


class TaskRow(Base):
    """A user-defined task version, whole (built-in tasks live in code)."""

    __tablename__ = "tasks"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created: Mapped[float] = mapped_column(Float)
    owner: Mapped[str | None] = mapped_column(String(16), default=None)


class ApiKeyRow(Base):
    """An API key: its public id, what it may do and a SHA-256 digest of its secret (the
    secret itself is shown once, when the key is made, and never stored)."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    digest: Mapped[str] = mapped_column(String(64))
    created: Mapped[float] = mapped_column(Float)
    revoked: Mapped[float | None] = mapped_column(Float, default=None)
