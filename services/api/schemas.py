"""Request and response bodies of the REST API, typed for the OpenAPI document.

Bodies that configure a run or a training are built from the domain specs (``RunSpec``,
``TrainSpec``) field by field, so each default and each choice lives once, in the spec;
the spec's own checks then run on the request (422 naming the field). Unknown fields are
refused (400).
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, get_type_hints

import msgspec
from msgspec import Struct

from services.api.model_schemas import ModelView
from shared.contracts import JobKind
from shared.contracts.specs import DataRef
from shared.contracts.summaries import JobSummary
from shared.method.explanations import ExplainSpec
from shared.method.runs import LLMChoice, RunSpec
from shared.metrics import MetricReport
from shared.platform.db.datasets import Dataset
from shared.platform.db.jobs import JobState, Priority
from shared.training import TrainSpec


def spec_struct(name: str, *specs: type, exclude: tuple[str, ...] = ()) -> type[Struct]:
    """A request struct with the fields, types and defaults of the ``specs`` dataclasses; a
    field that is a spec itself (ExplainSpec's ``decoding``) is a nested ``<Spec>In``."""
    fields = []
    for spec in specs:
        hints = get_type_hints(spec)
        for f in dataclasses.fields(spec):
            if f.name in exclude:
                continue
            kind = hints[f.name]
            if dataclasses.is_dataclass(kind):
                nested = spec_struct(f"{kind.__name__}In", kind)
                fields.append((f.name, nested, msgspec.field(default_factory=nested)))
            else:
                fields.append((f.name, kind, f.default))
    return msgspec.defstruct(name, fields, forbid_unknown_fields=True, kw_only=True)


#: a run and its LLM as a request sets them (bias and template version are the server's)
RunIn = spec_struct("RunIn", RunSpec, LLMChoice, exclude=("bias", "template_version"))
TrainIn = spec_struct("TrainIn", TrainSpec)
#: what explanations to write and how (ExplainSpec's fields), and the LLM that writes them
ExplainIn = spec_struct("ExplainIn", ExplainSpec)
LLMIn = spec_struct("LLMIn", LLMChoice)


def spec_of(body: Struct) -> dict[str, Any]:
    return msgspec.structs.asdict(body)


#: a task's name (its newest version) or ``name@version``
TaskName = Annotated[
    str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_-]{0,39}(@[0-9]{1,7})?$", max_length=48)
]


# ---------------------------------------------------------------------------- requests


class DatasetIn(Struct, forbid_unknown_fields=True):
    """``task``: what inline instances are of (a task's name, or ``name@version``)."""

    instances: list[dict[str, Any]] | None = None
    vendored: str | None = None
    name: str | None = None
    task: TaskName | None = None


class MjdJobIn(Struct, forbid_unknown_fields=True):
    """The items: a stored dataset, inline instances, or the explained items of a finished
    explanation job (``job_id``). ``priority: background``: it gives way to waiting MJD jobs
    between items."""

    dataset_id: str | None = None
    instances: list[dict[str, Any]] | None = None
    job_id: str | None = None
    run: RunIn = msgspec.field(default_factory=RunIn)  # type: ignore[valid-type]
    priority: Priority = Priority.NORMAL
    #: the task of inline ``instances`` (a dataset's or explanation job's is its own)
    task: TaskName | None = None


class ExplanationJobIn(ExplainIn):  # type: ignore[misc, valid-type]
    """Explanations written by an LLM for a stored dataset or inline instances (an inline
    item may carry the ``labels`` list to explain); ``run`` chooses the LLM as an MJD job's
    does."""

    dataset_id: str | None = None
    instances: list[dict[str, Any]] | None = None
    run: LLMIn = msgspec.field(default_factory=LLMIn)  # type: ignore[valid-type]
    #: the task of inline ``instances`` (a dataset's is its own)
    task: TaskName | None = None


class MetricsIn(Struct, forbid_unknown_fields=True):
    """``task``: whose labels the rows' columns are (default NLI's three)."""

    human: list[list[float]]
    model: list[list[float]]
    bootstrap: int = 1000
    seed: int = 0
    task: TaskName | None = None


class DistributionsRef(Struct, forbid_unknown_fields=True):
    dataset_id: str | None = None
    job_id: str | None = None
    distributions: list[list[float]] | None = None


class MetricsJobIn(Struct, forbid_unknown_fields=True):
    human: DistributionsRef
    model: DistributionsRef
    plot: bool = True
    bootstrap: int = 1000
    seed: int = 0
    #: the task of inline ``distributions`` (a dataset's or MJD job's is its own)
    task: TaskName | None = None


class TrainingJobIn(Struct, forbid_unknown_fields=True):
    data: DataRef
    dev: DataRef | None = None
    calibrate_on: int | None = None
    train: TrainIn = msgspec.field(default_factory=TrainIn)  # type: ignore[valid-type]
    quantize: bool = True
    promote: bool = False


# ---------------------------------------------------------------------------- responses


#: a stored dataset as the job store describes it
DatasetView = Dataset


class Progress(Struct):
    done: int
    total: int


class JobLinks(Struct):
    self_: str = msgspec.field(name="self")
    result: str = ""
    artifacts: list[str] = msgspec.field(default_factory=list)


class JobView(Struct):
    """A job as the job store knows it: times in seconds since the epoch, ``attempts`` the
    deliveries to a worker so far, ``error`` the failure's message, ``summary`` once it
    succeeded."""

    id: str
    kind: JobKind
    state: JobState
    priority: Priority
    created: float
    started: float | None
    finished: float | None
    attempts: int
    progress: Progress | None
    error: str | None
    summary: JobSummary | None
    links: JobLinks
    #: ``name@version`` of the task the job is for
    task: str = "nli@1"


class BootstrapIn(Struct, forbid_unknown_fields=True):
    """``items``: how many vendored explained items to use (all when unset)."""

    items: int | None = None


class BootstrapView(Struct):
    """A student bootstrap: a background MJD job on the vendored explained items, then a
    training job (promoting); ``state``: GENERATING, TRAINING, SUCCEEDED or FAILED."""

    number: int
    state: str
    created: float
    items: int
    dataset_id: str | None
    mjd_job_id: str | None
    training_job_id: str | None
    version: str | None
    error: str | None


class JobList(Struct):
    total: int
    offset: int
    limit: int
    jobs: list[JobView]


class MjdRecordOut(Struct):
    """One item's MJD with the raw label logits it was aggregated from."""

    id: str
    distribution: list[float]
    label_logits: list[list[list[float]]]
    letter_mass: list[list[float]]
    explanation_orders: list[list[int]]
    missing_mass: list[list[float]] | None
    spec: dict[str, Any]
    #: the task (``name@version``), its labels in column order, its option-order policy and
    #: the labels behind A, B, C, ... of each option order (absent in records from before)
    task: str | None = None
    labels: list[str] | None = None
    option_policy: str | None = None
    option_orders: list[list[str]] | None = None


class ExplanationOut(Struct):
    text: str
    label: str | None


class ExplainedRecordOut(Struct, omit_defaults=True):
    """One item with the LLM's explanations and what made them (template, model, decoding,
    the labels given, the raw answers), as the job's ``explained.jsonl`` has it: an NLI
    item's ``premise`` and ``hypothesis``, another task's ``inputs`` by field name."""

    id: str
    explanations: list[ExplanationOut]
    human: dict[str, Any] | None
    explanation_generation: dict[str, Any]
    premise: str | None = None
    hypothesis: str | None = None
    inputs: dict[str, str] | None = None
    references: dict[str, Any] | None = None
    gold_label: str | None = None


class JobResult(Struct, omit_defaults=True):
    """A finished job's result: MJD records, a metric report, the trained model, or the
    explained items."""

    summary: JobSummary
    records: list[MjdRecordOut] | None = None
    report: MetricReport | None = None
    model: ModelView | None = None
    explained: list[ExplainedRecordOut] | None = None


def convert(value: Any, kind: type[Any]) -> Any:
    """A stored JSON document (a summary, a model's metadata) as its response type."""
    return msgspec.convert(value, kind, strict=False)
