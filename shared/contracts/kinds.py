"""The one table of job kinds: each kind's Celery task, queue, worker module, spec type and
summary type. Queues, task routes, the workers ``mjd up`` runs, the reconciler and the API
derive from it; no kind, task name or queue is spelled anywhere else (the architecture test
greps for them)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, get_type_hints

import msgspec

from shared.contracts.specs import (
    ExplanationJobSpec,
    MetricsJobSpec,
    MjdJobSpec,
    TrainingJobSpec,
)
from shared.contracts.summaries import (
    ExplanationSummary,
    MetricsSummary,
    MjdSummary,
    TrainingSummary,
)
from shared.errors import DataError, msgspec_location


class JobKind(StrEnum):
    """What a job does."""

    MJD = "mjd"
    METRICS = "metrics"
    TRAINING = "training"
    EXPLANATION = "explanation"


@dataclass(frozen=True, slots=True)
class KindRow:
    """One kind of job: the Celery task that runs it, the queue it waits in (the task
    name's prefix, as Celery routes it), the module of the worker that consumes that queue,
    and the types of its stored spec and summary."""

    kind: JobKind
    task: str
    worker: str
    spec: type[msgspec.Struct]
    summary: type[msgspec.Struct]

    @property
    def queue(self) -> str:
        return self.task.split(".", 1)[0]


#: explanation jobs run on the generation queue (``mjd``), whose workers hold the LLM
KINDS: dict[JobKind, KindRow] = {
    row.kind: row
    for row in (
        KindRow(
            JobKind.MJD,
            "mjd.generate",
            "services.generator.worker",
            MjdJobSpec,
            MjdSummary,
        ),
        KindRow(
            JobKind.METRICS,
            "metrics.evaluate",
            "services.metrics.worker",
            MetricsJobSpec,
            MetricsSummary,
        ),
        KindRow(
            JobKind.TRAINING,
            "training.train",
            "services.trainer.worker",
            TrainingJobSpec,
            TrainingSummary,
        ),
        KindRow(
            JobKind.EXPLANATION,
            "mjd.explain",
            "services.generator.worker",
            ExplanationJobSpec,
            ExplanationSummary,
        ),
    )
}
#: the Celery task (by name) that runs each kind of job
TASKS: dict[str, str] = {str(kind): row.task for kind, row in KINDS.items()}
#: the queues, in the table's order, one per worker module
QUEUES: tuple[str, ...] = tuple(dict.fromkeys(row.queue for row in KINDS.values()))
#: module and queue of each worker the stack runs
WORKERS: tuple[tuple[str, str], ...] = tuple(
    dict.fromkeys((row.worker, row.queue) for row in KINDS.values())
)


def queue_of(kind: str) -> str:
    """The queue a ``kind`` job waits in."""
    return KINDS[JobKind(kind)].queue


def decode_spec(kind: str, stored: dict[str, Any]) -> msgspec.Struct:
    """A stored job spec as its kind's type; a DataError naming the field for an unknown
    kind or a malformed spec (never a KeyError deep inside a worker)."""
    try:
        row = KINDS[JobKind(kind)]
    except ValueError:
        raise DataError(f"unknown job kind {kind!r}", field="kind") from None
    try:
        return msgspec.convert(stored, row.spec, strict=False)
    except msgspec.ValidationError as exc:
        message, field = msgspec_location(str(exc))
        raise DataError(f"malformed {kind} job spec: {message}", field=field) from None
    except DataError as exc:  # a domain spec's own check (RunSpec, TrainSpec, ...)
        raise exc.located(_nested_prefix(row.spec, exc.field)) from None


def _nested_prefix(spec: type[msgspec.Struct], field: str | None) -> str:
    """Where in the spec a nested domain spec's field lies (``run.``, ``train.``)."""
    hints = get_type_hints(spec)
    for name in spec.__struct_fields__:
        nested = hints[name]
        if dataclasses.is_dataclass(nested) and field in nested.__dataclass_fields__:
            return f"{name}."
    return ""


def encode(value: msgspec.Struct) -> dict[str, Any]:
    """A spec or summary as the JSON document the job store keeps."""
    return msgspec.to_builtins(value)
