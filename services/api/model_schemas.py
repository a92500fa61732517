"""Request and response bodies of the model registry and prediction routes (a trained
model's metadata is also a training job's result, in :mod:`services.api.schemas`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from msgspec import Struct, field

from shared.labels import LABEL_NAMES
from shared.tasks import NLI
from shared.training import TrainSpec

# ---------------------------------------------------------------------------- requests


class PairIn(Struct, forbid_unknown_fields=True):
    """An NLI instance (the default task)."""

    premise: str
    hypothesis: str
    id: str | None = None


@dataclass
class PredictIn:
    """The body of ``POST /v1/predict`` as the OpenAPI document shows it (what is read is
    :class:`PredictRequest`): instances as objects of the task's input fields, and an
    optional ``id`` each (NLI's: PairIn)."""

    instances: list[PairIn | dict[str, str | None]]
    model: str | None = None
    #: the task (``name`` or ``name@version``) whose promoted student answers; default nli
    task: str | None = None


class PredictRequest(Struct, forbid_unknown_fields=True):
    """The body of ``POST /v1/predict`` as it is read; the domain checks each instance
    against the task's fields (errors name ``instances[i].<field>``)."""

    instances: list[dict[str, Any]]
    model: str | None = None
    task: str | None = None


# ---------------------------------------------------------------------------- responses


class FileDigest(Struct):
    sha256: str
    bytes: int


class ModelView(Struct):
    """A published student version (its registry metadata); versions from before tasks
    are NLI's."""

    version: str
    created: float
    base_model: str
    spec: TrainSpec
    training_data: dict[str, Any]
    training: dict[str, Any]
    export: dict[str, Any]
    files: dict[str, FileDigest]
    job_id: str | None = None
    #: the task it predicts (``name@version``), its labels (output columns) and inputs
    task: str = NLI.ref
    labels: list[str] = field(default_factory=lambda: list(LABEL_NAMES))
    inputs: list[str] = field(default_factory=lambda: list(NLI.input_names))


class ServingView(Struct):
    version: str
    variant: str
    provider: str
    max_length: int
    task: str = NLI.ref
    labels: list[str] = field(default_factory=lambda: list(LABEL_NAMES))


class ModelList(Struct, omit_defaults=True):
    #: NLI's promoted version and the model serving it (as before tasks)
    promoted: str | None
    serving: ServingView | None
    models: list[ModelView]
    #: every task's promoted version (``name@version`` -> version), when any is
    promoted_by_task: dict[str, str] = {}
    #: the models served, one per task, when any is
    served: list[ServingView] = []


class Promotion(Struct):
    version: str
    promoted: float
    serving: ServingView | None
    task: str = NLI.ref


class PredictionOut(Struct):
    id: str | None
    distribution: list[float]
    entropy: float
    truncated: bool


class PredictOut(Struct):
    model: ServingView
    #: the task's labels: the columns of every distribution
    labels: list[str]
    predictions: list[PredictionOut]
    warnings: list[str]
    #: the task (``name@version``) the model predicts
    task: str = NLI.ref
