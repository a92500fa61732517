"""Prediction and model routes: /v1/predict, the model registry (/v1/models), and the Open
Inference Protocol v2 routes (/v2/...) that KServe and Triton clients speak."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
import numpy as np
from litestar import Request, Response, get, post
from litestar.params import FromPath, JSONBody
from litestar.plugins.problem_details import ProblemDetailsException

from services.api.problems import problem
from services.predictor import NoModel, Prediction, Predictor, QueueFull
from shared import jobs
from shared.labels import LABELS
from shared.metrics import entropy
from shared.registry import ModelRegistry, UnknownVersion
from shared.telemetry import PREDICT_REJECTED

API = "/v1"
STUDENT = "mjd-student"  # the model name on the OIP v2 routes


def registry() -> ModelRegistry:
    return ModelRegistry(jobs.store())


def predictor(request: Request) -> Predictor:
    return request.app.state.predictor


# ---------------------------------------------------------------------------- validation


def checked_pairs(
    premises: Sequence[Any], hypotheses: Sequence[Any], fields: tuple[str, str]
) -> list[tuple[str, str]]:
    """Pairs within the server's limits; errors name the offending field, where ``fields``
    are format strings taking the row index."""
    settings = jobs.settings()
    if not premises:
        raise problem(422, "must not be empty", fields[0].split("[")[0])
    if len(premises) > settings.predict_max_instances:
        raise problem(
            422,
            f"{len(premises)} instances; at most {settings.predict_max_instances} per request",
            fields[0].split("[")[0],
        )
    pairs = []
    for index, texts in enumerate(zip(premises, hypotheses, strict=True)):
        for template, text in zip(fields, texts, strict=True):
            name = template.format(index)
            if not isinstance(text, str) or not text.strip():
                raise problem(422, "must be a non-empty string", name)
            if len(text) > settings.predict_max_chars:
                raise problem(
                    422,
                    f"{len(text)} characters; at most {settings.predict_max_chars} "
                    "(texts past the model's token limit but within this are truncated)",
                    name,
                )
        pairs.append((texts[0], texts[1]))
    return pairs


async def _predict(request: Request, pairs: list[tuple[str, str]], version: str | None) -> Any:
    try:
        return await predictor(request).predict(pairs, version)
    except QueueFull:
        PREDICT_REJECTED.inc()
        raise ProblemDetailsException(
            status_code=429,
            detail="the prediction queue is full; retry shortly",
            headers={"Retry-After": "1"},
        ) from None
    except NoModel as exc:
        raise problem(503, str(exc)) from None
    except UnknownVersion as exc:
        raise problem(404, exc.message, "model") from None


# ---------------------------------------------------------------------------- /v1


class PairIn(msgspec.Struct, forbid_unknown_fields=True):
    premise: str
    hypothesis: str
    id: str | None = None


class PredictIn(msgspec.Struct, forbid_unknown_fields=True):
    instances: list[PairIn]
    model: str | None = None


@post(f"{API}/predict", status_code=200)
async def predict(data: JSONBody[PredictIn], request: Request) -> dict[str, Any]:
    """Predicted judgment distributions (E/N/C order) for premise/hypothesis pairs."""
    pairs = checked_pairs(
        [i.premise for i in data.instances],
        [i.hypothesis for i in data.instances],
        ("instances[{}].premise", "instances[{}].hypothesis"),
    )
    result: Prediction = await _predict(request, pairs, data.model)
    entropies = entropy(result.probabilities)
    cut = [i for i, flag in enumerate(result.truncated) if flag]
    return {
        "model": result.model.describe(),
        "labels": [str(label) for label in LABELS],
        "predictions": [
            {
                "id": instance.id,
                "distribution": row.tolist(),
                "entropy": float(h),
                "truncated": flag,
            }
            for instance, row, h, flag in zip(
                data.instances, result.probabilities, entropies, result.truncated, strict=True
            )
        ],
        "warnings": [
            f"instances[{i}]: longer than {result.model.max_length} tokens; truncated "
            "(longest text first)"
            for i in cut
        ],
    }


@get(f"{API}/models", sync_to_thread=True)
def list_models(request: Request) -> dict[str, Any]:
    serving = predictor(request).current
    return {
        "promoted": registry().promoted(),
        "serving": serving.describe() if serving else None,
        "models": registry().versions(),
    }


def _known(version: str) -> dict[str, Any]:
    try:
        return registry().get(version)
    except UnknownVersion as exc:
        raise problem(404, exc.message, "version") from None


@get(f"{API}/models/{{version:str}}", sync_to_thread=True)
def get_model(version: FromPath[str]) -> dict[str, Any]:
    return _known(version)


@post(f"{API}/models/{{version:str}}/promote", status_code=200)
async def promote_model(version: FromPath[str], request: Request) -> dict[str, Any]:
    """Make ``version`` the served model; this server switches before answering, other
    replicas within MJD_MODEL_POLL_SECONDS."""
    _known(version)
    pointer = registry().promote(version)
    try:
        loaded = await predictor(request).reload()
    except Exception as exc:
        raise problem(500, f"promoted, but the model failed to load: {exc}", "version") from None
    return {**pointer, "serving": loaded.describe() if loaded else None}


# ---------------------------------------------------------------------------- OIP v2


class TensorIn(msgspec.Struct):
    name: str
    shape: list[int]
    datatype: str
    data: list[Any]
    parameters: dict[str, Any] | None = None


class InferIn(msgspec.Struct):
    inputs: list[TensorIn]
    id: str | None = None
    outputs: list[dict[str, Any]] | None = None
    parameters: dict[str, Any] | None = None


def _oip_problem(status: int, detail: str, field_name: str | None = None) -> Any:
    """Problem details that also carry OIP's ``error`` member."""
    return problem(status, detail, field_name, error=detail)


def _model_name(name: str) -> None:
    if name != STUDENT:
        raise _oip_problem(404, f"unknown model {name!r}; this server has {STUDENT!r}", "name")


@get("/v2", sync_to_thread=False)
def server_metadata() -> dict[str, Any]:
    return {"name": "mjd", "version": "0.1.0", "extensions": []}


@get("/v2/health/live", sync_to_thread=False)
def oip_live() -> dict[str, bool]:
    return {"live": True}


@get("/v2/health/ready", sync_to_thread=False)
def oip_ready(request: Request) -> Response[dict[str, bool]]:
    ready = predictor(request).current is not None
    return Response({"ready": ready}, status_code=200 if ready else 503)


@get("/v2/models/{name:str}/ready", sync_to_thread=False)
def oip_model_ready(name: FromPath[str], request: Request) -> Response[dict[str, Any]]:
    _model_name(name)
    ready = predictor(request).current is not None
    return Response({"name": name, "ready": ready}, status_code=200 if ready else 503)


@get("/v2/models/{name:str}", sync_to_thread=True)
def oip_model_metadata(name: FromPath[str]) -> dict[str, Any]:
    _model_name(name)
    return {
        "name": STUDENT,
        "versions": [m["version"] for m in registry().versions()],
        "platform": "onnxruntime_onnx",
        "inputs": [
            {"name": "premise", "datatype": "BYTES", "shape": [-1]},
            {"name": "hypothesis", "datatype": "BYTES", "shape": [-1]},
        ],
        "outputs": [
            {"name": "probabilities", "datatype": "FP32", "shape": [-1, len(LABELS)]},
            {"name": "entropy", "datatype": "FP32", "shape": [-1]},
            {"name": "truncated", "datatype": "BOOL", "shape": [-1]},
        ],
        "parameters": {"labels": [str(label) for label in LABELS]},
    }


def _texts(body: InferIn, name: str) -> list[Any]:
    index = next((i for i, t in enumerate(body.inputs) if t.name == name), None)
    if index is None:
        raise _oip_problem(400, f"missing input tensor {name!r}", "inputs")
    tensor = body.inputs[index]
    if tensor.datatype != "BYTES":
        raise _oip_problem(400, "expected datatype BYTES", f"inputs[{index}].datatype")
    rows = int(np.prod(tensor.shape)) if tensor.shape else -1
    if len(tensor.shape) not in (1, 2) or (len(tensor.shape) == 2 and tensor.shape[1] != 1):
        raise _oip_problem(400, "expected shape [n] or [n, 1]", f"inputs[{index}].shape")
    if rows != len(tensor.data):
        raise _oip_problem(
            400, f"shape holds {rows} values, data has {len(tensor.data)}", f"inputs[{index}].data"
        )
    return tensor.data


async def _infer(name: str, version: str | None, body: InferIn, request: Request) -> dict[str, Any]:
    _model_name(name)
    premises, hypotheses = _texts(body, "premise"), _texts(body, "hypothesis")
    if len(premises) != len(hypotheses):
        raise _oip_problem(400, "premise and hypothesis differ in length", "inputs")
    try:
        pairs = checked_pairs(premises, hypotheses, ("premise[{}]", "hypothesis[{}]"))
    except ProblemDetailsException as exc:
        raise _oip_problem(400, str(exc.detail), (exc.extra or {}).get("field")) from None
    result: Prediction = await _predict(request, pairs, version)
    n = len(pairs)
    return {
        "model_name": STUDENT,
        "model_version": result.model.version,
        "id": body.id,
        "outputs": [
            {
                "name": "probabilities",
                "datatype": "FP32",
                "shape": [n, len(LABELS)],
                "data": result.probabilities.astype(np.float32).ravel().tolist(),
            },
            {
                "name": "entropy",
                "datatype": "FP32",
                "shape": [n],
                "data": entropy(result.probabilities).astype(np.float32).tolist(),
            },
            {"name": "truncated", "datatype": "BOOL", "shape": [n], "data": result.truncated},
        ],
    }


@post("/v2/models/{name:str}/infer", status_code=200)
async def oip_infer(
    name: FromPath[str], data: JSONBody[InferIn], request: Request
) -> dict[str, Any]:
    return await _infer(name, None, data, request)


@post("/v2/models/{name:str}/versions/{version:str}/infer", status_code=200)
async def oip_infer_version(
    name: FromPath[str],
    version: FromPath[str],
    data: JSONBody[InferIn],
    request: Request,
) -> dict[str, Any]:
    return await _infer(name, version, data, request)


ROUTES = [
    predict,
    list_models,
    get_model,
    promote_model,
    server_metadata,
    oip_live,
    oip_ready,
    oip_model_ready,
    oip_model_metadata,
    oip_infer,
    oip_infer_version,
]
