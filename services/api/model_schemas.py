"""Request and response bodies of the model registry and prediction routes (a trained
model's metadata is also a training job's result, in :mod:`services.api.schemas`)."""

from __future__ import annotations

from typing import Any

from msgspec import Struct

from shared.training import TrainSpec

# ---------------------------------------------------------------------------- requests


class PairIn(Struct, forbid_unknown_fields=True):
    premise: str
    hypothesis: str
    id: str | None = None


class PredictIn(Struct, forbid_unknown_fields=True):
    instances: list[PairIn]
    model: str | None = None


# ---------------------------------------------------------------------------- responses


class FileDigest(Struct):
    sha256: str
    bytes: int


class ModelView(Struct):
    """A published student version (its registry metadata)."""

    version: str
    created: float
    base_model: str
    spec: TrainSpec
    training_data: dict[str, Any]
    training: dict[str, Any]
    export: dict[str, Any]
    files: dict[str, FileDigest]
    job_id: str | None = None


class ServingView(Struct):
    version: str
    variant: str
    provider: str
    max_length: int


class ModelList(Struct):
    promoted: str | None
    serving: ServingView | None
    models: list[ModelView]


class Promotion(Struct):
    version: str
    promoted: float
    serving: ServingView | None


class PredictionOut(Struct):
    id: str | None
    distribution: list[float]
    entropy: float
    truncated: bool


class PredictOut(Struct):
    model: ServingView
    labels: list[str]
    predictions: list[PredictionOut]
    warnings: list[str]
