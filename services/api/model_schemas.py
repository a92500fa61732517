"""Request and response bodies of the model registry and prediction routes (a trained
model's metadata is also a training job's result, in :mod:`services.api.schemas`)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar.params import KwargDefinition
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


_OPTIONAL_TEXT = {"oneOf": [{"type": "string"}, {"type": "null"}]}
#: how the OpenAPI document shows an instance: NLI's pair, or any task's fields by name
INSTANCE_SCHEMA = {
    "anyOf": [
        {
            "title": "PairIn",
            "description": "An NLI instance (the default task)",
            "type": "object",
            "properties": {
                "premise": {"type": "string"},
                "hypothesis": {"type": "string"},
                "id": _OPTIONAL_TEXT,
            },
            "required": ["hypothesis", "premise"],
            "additionalProperties": False,
        },
        {
            "title": "TaskInstanceIn",
            "description": "An instance of the request's task: each of its input fields (GET "
            "/v1/tasks/{name}) as a non-empty string, and an optional id",
            "type": "object",
            "additionalProperties": _OPTIONAL_TEXT,
        },
    ]
}


class PredictIn(Struct, forbid_unknown_fields=True):
    #: objects of the task's input fields (and an optional ``id``); checked against the
    #: task by the domain (errors name ``instances[i].<field>``)
    instances: Annotated[
        list[dict[str, Any]], KwargDefinition(schema_extra={"items": INSTANCE_SCHEMA})
    ]
    model: str | None = None
    #: the task (``name`` or ``name@version``) whose promoted student answers; default nli
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
