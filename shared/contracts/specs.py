"""What each kind of job is asked to do, as the API stores it and its worker reads it back:
one msgspec struct per kind, its nested parts the domain's own specs (RunSpec, ExplainSpec,
TrainSpec), so their defaults and checks hold at both ends. Stored specs decode leniently
(``strict=False``; keys a later version added are ignored), through
:func:`shared.contracts.kinds.decode_spec`."""

from __future__ import annotations

from msgspec import Struct, field

from shared.errors import DataError
from shared.method.explanations import ExplainSpec
from shared.method.runs import LLMBackend, LLMChoice, RunSpec
from shared.tasks import NLI, Task
from shared.training import TrainSpec


class LLMSpec(Struct, kw_only=True):
    """The LLM a generation or explanation job runs on: its backend, model and endpoint
    *name* (the worker looks the URL up in its own settings)."""

    backend: LLMBackend = "local"
    model: str | None = None
    endpoint: str | None = None

    @property
    def llm(self) -> LLMChoice:
        return LLMChoice(self.backend, self.model, self.endpoint)


class MjdJobSpec(LLMSpec, kw_only=True):
    """MJDs of the job's stored items (from a dataset, inline, or a finished explanation
    job's items; ``items``: how many, as the API counted them)."""

    run: RunSpec = field(default_factory=RunSpec)
    items: int | None = None
    dataset_id: str | None = None
    explanation_job_id: str | None = None
    #: the task, whole: a job keeps the version it was queued with (specs from before: NLI)
    task: Task = NLI

    def __post_init__(self) -> None:
        """The run must fit the task (one bias per label)."""
        try:
            self.run.for_task(self.task)
        except DataError as exc:
            raise exc.located("run.") from None


class ExplanationJobSpec(LLMSpec, kw_only=True):
    """Explanations for the job's stored items."""

    explain: ExplainSpec = field(default_factory=ExplainSpec)
    items: int | None = None
    dataset_id: str | None = None
    task: Task = NLI


class MetricsJobSpec(Struct, kw_only=True):
    """An evaluation of the job's stored human and model distributions."""

    plot: bool = True
    bootstrap: int = 1000
    seed: int = 0
    #: both sides' task (the API refuses sides of different label sets)
    task: Task = NLI


class DataRef(Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """Where a training's data comes from: exactly one of a vendored dataset, a stored
    dataset, or a finished MJD job (its MJDs as soft targets)."""

    vendored: str | None = None
    dataset_id: str | None = None
    mjd_job_id: str | None = None


class TrainingJobSpec(Struct, kw_only=True):
    """A student distilled from ``data`` (checked on ``dev`` or a held-out part), exported to
    ONNX, published and, when ``promote``, served."""

    data: DataRef
    dev: DataRef | None = None
    calibrate_on: int | None = None
    train: TrainSpec = field(default_factory=TrainSpec)
    quantize: bool = True
    promote: bool = False
    #: the task the student predicts: its data's (a dataset's or an MJD job's)
    task: Task = NLI
