"""The Open Inference Protocol v2 (KServe, Triton): its bodies and the mapping of its
tensors to and from the predictor. One model per task: ``mjd-student`` is NLI's (as before
tasks), ``mjd-student-<task name>`` another's; its inputs are the task's input fields as
BYTES tensors, its ``probabilities`` are [-1, K] and ``parameters.labels`` its labels, from
the model served for it. Errors are domain errors; the OIP controller answers
them as OIP's ``error`` body (DataError as 400)."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
import numpy as np
from litestar import Response
from msgspec import Struct

from services.api.domain.predictions import Disconnect, Predictions, model_name
from shared import oip_wire as wire
from shared.errors import DataError, NotFound, echo
from shared.metrics import entropy
from shared.platform.db.model_versions import record_task
from shared.platform.registry import ModelRegistry
from shared.tasks import Task

Datatype = Literal["BOOL", "UINT8", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES"]


class TensorIn(Struct):
    name: str
    shape: list[int]
    datatype: str
    #: absent when the tensor's data follows the JSON (parameters.binary_data_size)
    data: list[Any] | None = None
    parameters: dict[str, Any] | None = None


class OutputIn(Struct):
    """An output the request wants; ``parameters.binary_data`` asks for it as binary data."""

    name: str
    parameters: dict[str, Any] | None = None


class InferIn(Struct):
    inputs: list[TensorIn]
    id: str | None = None
    #: only these outputs are answered (default: all)
    outputs: list[OutputIn] | None = None
    #: ``binary_data_output``: every output as binary data unless an output says otherwise
    parameters: dict[str, Any] | None = None


class TensorOut(Struct, omit_defaults=True):
    name: str
    datatype: Datatype
    shape: list[int]
    #: absent when the tensor is sent as binary data after the JSON
    data: list[Any] | None = None
    #: ``binary_data_size`` of a binary tensor
    parameters: dict[str, Any] | None = None


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


class Ready(Struct, omit_defaults=True):
    ready: bool
    #: why not, when not ready (OIP's error member)
    error: str | None = None


class ModelReady(Struct, omit_defaults=True):
    name: str
    ready: bool
    error: str | None = None


#: the outputs of every model, in this order (probabilities has K columns: the task's labels)
OUTPUT_TYPES: dict[str, Datatype] = {
    "probabilities": "FP32",
    "entropy": "FP32",
    "truncated": "BOOL",
}


#: the media type of an answer with binary outputs (its JSON header comes first)
BINARY_MEDIA = "application/octet-stream"


def metadata(task: Task, versions: list[str], predictions: Predictions) -> ModelMetadata:
    """A task's model: its input fields as BYTES tensors and probabilities [-1, K], from
    the model served for it (else from the task)."""
    model = predictions.served_model(task.name)
    inputs = model.inputs if model is not None else task.input_names
    labels = model.labels if model is not None else task.label_names
    return ModelMetadata(
        name=model_name(task.name),
        versions=versions,
        platform="onnxruntime_onnx",
        inputs=[TensorMeta(name, "BYTES", [-1]) for name in inputs],
        outputs=[
            TensorMeta(name, datatype, [-1, len(labels)] if name == "probabilities" else [-1])
            for name, datatype in OUTPUT_TYPES.items()
        ],
        parameters={"labels": list(labels), "task": model.task if model else task.ref},
    )


def model_metadata(name: str, predictions: Predictions) -> ModelMetadata:
    """With the published versions of the model's task (any version of it), newest first."""
    task = predictions.oip_task(name)
    found = predictions.predictor.registry.versions()
    named = [m["version"] for m in found if record_task(m).partition("@")[0] == task.name]
    return metadata(task, named, predictions)


def version_metadata(name: str, version: str, predictions: Predictions) -> ModelMetadata:
    """The metadata of one published version of the model's task (404 for another)."""
    task = predictions.oip_task(name)
    _published(version, task, predictions.predictor.registry)
    return metadata(task, [version], predictions)


def model_ready(name: str, predictions: Predictions) -> bool:
    """Whether a model is served for the task ``name`` stands for (404: no such task)."""
    return predictions.served_model(predictions.oip_task(name).name) is not None


def version_ready(name: str, version: str, predictions: Predictions) -> bool:
    """Whether a request naming ``version`` is served: the served version or a pinned one
    (loaded by its first request). An unknown version, or one of another task, is 404."""
    task = predictions.oip_task(name)
    _published(version, task, predictions.predictor.registry)
    model = predictions.served_model(task.name)
    served = model is not None and model.version == version
    return served or version in predictions.settings.predict_pinned


def _published(version: str, task: Task, registry: ModelRegistry) -> None:
    try:
        own = registry.task_of(version)
    except DataError as exc:  # UnknownVersion, or a name no version can have
        raise NotFound(exc.message, field="version") from None
    if own.partition("@")[0] != task.name:
        raise NotFound(
            f"version {version} is a model of task {own}, not of {model_name(task.name)!r}",
            field="version",
        )


def _texts(body: InferIn, name: str) -> list[Any]:
    index = next((i for i, t in enumerate(body.inputs) if t.name == name), None)
    if index is None:
        raise DataError(f"missing input tensor {echo(name)}", field="inputs")
    tensor = body.inputs[index]
    if tensor.datatype != "BYTES":
        raise DataError("expected datatype BYTES", field=f"inputs[{index}].datatype")
    if tensor.data is None:
        raise DataError("no data and no binary_data_size", field=f"inputs[{index}].data")
    rows = int(np.prod(tensor.shape)) if tensor.shape else -1
    if len(tensor.shape) not in (1, 2) or (len(tensor.shape) == 2 and tensor.shape[1] != 1):
        raise DataError("expected shape [n] or [n, 1]", field=f"inputs[{index}].shape")
    if rows != len(tensor.data):
        raise DataError(
            f"shape holds {rows} values, data has {len(tensor.data)}", field=f"inputs[{index}].data"
        )
    return tensor.data


def _flag(parameters: dict[str, Any] | None, key: str, field_name: str, default: bool) -> bool:
    value = (parameters or {}).get(key, default)
    if not isinstance(value, bool):
        raise DataError("must be true or false", field=field_name)
    return value


def wanted_outputs(body: InferIn) -> list[tuple[str, bool]]:
    """The outputs to answer, in the request's order (default: all), each with whether it
    goes as binary data; an unknown or repeated name is 400."""
    default = _flag(body.parameters, "binary_data_output", "parameters.binary_data_output", False)
    if not body.outputs:
        return [(name, default) for name in OUTPUT_TYPES]
    names = list(OUTPUT_TYPES)
    wanted: list[tuple[str, bool]] = []
    for index, output in enumerate(body.outputs):
        field_name = f"outputs[{index}]"
        if output.name not in names:
            detail = f"unknown output {echo(output.name)}; this model has {', '.join(names)}"
            raise DataError(detail, field=f"{field_name}.name")
        if output.name in dict(wanted):
            raise DataError(f"output {output.name!r} is asked for twice", field=field_name)
        if (output.parameters or {}).get("classification"):
            raise DataError("classification outputs are not supported", field=field_name)
        binary = _flag(
            output.parameters, "binary_data", f"{field_name}.parameters.binary_data", default
        )
        wanted.append((output.name, binary))
    return wanted


class Answer(Struct):
    """An inference answer: its JSON header and the binary outputs that follow it."""

    header: InferOut
    binary: bytes


async def infer(
    predictions: Predictions,
    name: str,
    version: str | None,
    body: InferIn,
    gone: Disconnect,
) -> Answer:
    task = predictions.oip_task(name)
    model = predictions.served_model(task.name)
    inputs = model.inputs if model is not None else task.input_names
    columns = [_texts(body, field) for field in inputs]
    if len({len(column) for column in columns}) > 1:
        raise DataError(f"{', '.join(inputs)} differ in length", field="inputs")
    wanted = wanted_outputs(body)
    rows = predictions.checked_rows(columns, [f"{field}[{{}}]" for field in inputs])
    result = await predictions.run(rows, version, gone, task.name)
    values = {
        "probabilities": result.probabilities.astype(np.float32),
        "entropy": entropy(result.probabilities).astype(np.float32),
        "truncated": np.asarray(result.truncated, dtype=bool),
    }
    outputs, binary = [], []
    for output, as_binary in wanted:
        array = values[output]
        tensor = TensorOut(output, OUTPUT_TYPES[output], list(array.shape))
        if as_binary:
            binary.append(wire.tensor_bytes(array))
            tensor.parameters = {"binary_data_size": len(binary[-1])}
        else:
            tensor.data = array.ravel().tolist()
        outputs.append(tensor)
    header = InferOut(model_name(task.name), result.model.version, body.id, outputs)
    return Answer(header, b"".join(binary))


def answer_response(answer: Answer) -> Response[Any]:
    """JSON, or with binary outputs the JSON header (its length in
    Inference-Header-Content-Length) followed by their bytes."""
    if not answer.binary:
        return Response(answer.header)
    header = msgspec.json.encode(answer.header)
    return Response(
        header + answer.binary,
        media_type=BINARY_MEDIA,
        headers={wire.HEADER_LENGTH: str(len(header))},
    )
