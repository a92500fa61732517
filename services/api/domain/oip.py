"""The Open Inference Protocol v2 (KServe, Triton): its bodies and the mapping of its
tensors to and from the predictor. Every error also carries OIP's ``error`` member."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from litestar.plugins.problem_details import ProblemDetailsException
from msgspec import Struct

from services.api.domain.predictions import LABEL_NAMES, Disconnect, Predictions
from services.api.problems import echo, problem
from shared.metrics import entropy

STUDENT = "mjd-student"  # the model name on the OIP v2 routes
Datatype = Literal["BOOL", "UINT8", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES"]


class TensorIn(Struct):
    name: str
    shape: list[int]
    datatype: str
    data: list[Any]
    parameters: dict[str, Any] | None = None


class InferIn(Struct):
    inputs: list[TensorIn]
    id: str | None = None
    outputs: list[dict[str, Any]] | None = None
    parameters: dict[str, Any] | None = None


class TensorOut(Struct):
    name: str
    datatype: Datatype
    shape: list[int]
    data: list[Any]


class InferOut(Struct):
    model_name: str
    model_version: str
    id: str | None
    outputs: list[TensorOut]


class TensorMeta(Struct):
    name: str
    datatype: Datatype
    shape: list[int]


class ModelMetadata(Struct):
    name: str
    versions: list[str]
    platform: str
    inputs: list[TensorMeta]
    outputs: list[TensorMeta]
    parameters: dict[str, Any]


class ServerMetadata(Struct):
    name: str
    version: str
    extensions: list[str]


class Live(Struct):
    live: bool


class Ready(Struct):
    ready: bool


class ModelReady(Struct):
    name: str
    ready: bool


INPUTS = [TensorMeta("premise", "BYTES", [-1]), TensorMeta("hypothesis", "BYTES", [-1])]
OUTPUTS = [
    TensorMeta("probabilities", "FP32", [-1, len(LABEL_NAMES)]),
    TensorMeta("entropy", "FP32", [-1]),
    TensorMeta("truncated", "BOOL", [-1]),
]


def oip_problem(status: int, detail: str, field_name: str | None = None) -> Any:
    """Problem details that also carry OIP's ``error`` member."""
    return problem(status, detail, field_name, error=detail)


def check_model(name: str) -> None:
    if name != STUDENT:
        raise oip_problem(404, f"unknown model {echo(name)}; this server has {STUDENT!r}", "name")


def metadata(versions: list[str]) -> ModelMetadata:
    return ModelMetadata(
        name=STUDENT,
        versions=versions,
        platform="onnxruntime_onnx",
        inputs=INPUTS,
        outputs=OUTPUTS,
        parameters={"labels": LABEL_NAMES},
    )


def _texts(body: InferIn, name: str) -> list[Any]:
    index = next((i for i, t in enumerate(body.inputs) if t.name == name), None)
    if index is None:
        raise oip_problem(400, f"missing input tensor {echo(name)}", "inputs")
    tensor = body.inputs[index]
    if tensor.datatype != "BYTES":
        raise oip_problem(400, "expected datatype BYTES", f"inputs[{index}].datatype")
    rows = int(np.prod(tensor.shape)) if tensor.shape else -1
    if len(tensor.shape) not in (1, 2) or (len(tensor.shape) == 2 and tensor.shape[1] != 1):
        raise oip_problem(400, "expected shape [n] or [n, 1]", f"inputs[{index}].shape")
    if rows != len(tensor.data):
        raise oip_problem(
            400, f"shape holds {rows} values, data has {len(tensor.data)}", f"inputs[{index}].data"
        )
    return tensor.data


async def infer(
    predictions: Predictions,
    name: str,
    version: str | None,
    body: InferIn,
    gone: Disconnect,
) -> InferOut:
    check_model(name)
    premises, hypotheses = _texts(body, "premise"), _texts(body, "hypothesis")
    if len(premises) != len(hypotheses):
        raise oip_problem(400, "premise and hypothesis differ in length", "inputs")
    try:
        pairs = predictions.checked_pairs(premises, hypotheses, ("premise[{}]", "hypothesis[{}]"))
    except ProblemDetailsException as exc:
        raise oip_problem(400, str(exc.detail), (exc.extra or {}).get("field")) from None
    result = await predictions.run(pairs, version, gone)
    n = len(pairs)
    probabilities = result.probabilities.astype(np.float32)
    return InferOut(
        model_name=STUDENT,
        model_version=result.model.version,
        id=body.id,
        outputs=[
            TensorOut(
                "probabilities", "FP32", [n, len(LABEL_NAMES)], probabilities.ravel().tolist()
            ),
            TensorOut(
                "entropy", "FP32", [n], entropy(result.probabilities).astype(np.float32).tolist()
            ),
            TensorOut("truncated", "BOOL", [n], result.truncated),
        ],
    )
