"""The serving core: loaded ONNX students, length chunking, the model repository (promoted
and pinned versions, hot reload) and the micro-batcher.

Used by the API, the CLI and the benchmarks; imports no other service."""

from services.predictor.batcher import (
    ClientGone,
    NoModel,
    NotServed,
    Overdue,
    Prediction,
    Predictor,
    QueueFull,
)
from services.predictor.model import LoadedModel

__all__ = [
    "ClientGone",
    "LoadedModel",
    "NoModel",
    "NotServed",
    "Overdue",
    "Prediction",
    "Predictor",
    "QueueFull",
]
