"""The Open Inference Protocol v2 (KServe, Triton): its bodies and the mapping of its
tensors to and from the predictor. Errors are domain errors; the OIP controller answers
them as OIP's ``error`` body (DataError as 400)."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
import numpy as np
from litestar import Response
from msgspec import Struct

from services.api.domain.predictions import Disconnect, Predictions
from services.predictor import Predictor
from shared import oip_wire as wire
from shared.errors import DataError, NotFound, echo
from shared.labels import LABEL_NAMES
from shared.metrics import entropy
from shared.platform.registry import ModelRegistry

STUDENT = "mjd-student"  # the model name on the OIP v2 routes
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


INPUTS = [TensorMeta("premise", "BYTES", [-1]), TensorMeta("hypothesis", "BYTES", [-1])]
OUTPUTS = [
    TensorMeta("probabilities", "FP32", [-1, len(LABEL_NAMES)]),
    TensorMeta("entropy", "FP32", [-1]),
    TensorMeta("truncated", "BOOL", [-1]),
]


#: the media type of an answer with binary outputs (its JSON header comes first)
BINARY_MEDIA = "application/octet-stream"


def check_model(name: str) -> None:
    if name != STUDENT:
        raise NotFound(f"unknown model {echo(name)}; this server has {STUDENT!r}", field="name")


def metadata(versions: list[str]) -> ModelMetadata:
    return ModelMetadata(
        name=STUDENT,
        versions=versions,
        platform="onnxruntime_onnx",
        inputs=INPUTS,
        outputs=OUTPUTS,
        parameters={"labels": list(LABEL_NAMES)},
    )


def version_metadata(name: str, version: str, registry: ModelRegistry) -> ModelMetadata:
    """The metadata of one published version (404 for another)."""
    check_model(name)
    _published(version, registry)
    return metadata([version])


def version_ready(name: str, version: str, predictor: Predictor) -> bool:
    """Whether a request naming ``version`` is served: the served version or a pinned one
    (loaded by its first request). An unknown version is 404."""
    check_model(name)
    _published(version, predictor.registry)
    served = predictor.current is not None and predictor.current.version == version
    return served or version in predictor.settings.predict_pinned


def _published(version: str, registry: ModelRegistry) -> None:
    try:
        registry.get(version)
    except DataError as exc:  # UnknownVersion, or a name no version can have
        raise NotFound(exc.message, field="version") from None


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
        return [(t.name, default) for t in OUTPUTS]
    names = [t.name for t in OUTPUTS]
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
    check_model(name)
    premises, hypotheses = _texts(body, "premise"), _texts(body, "hypothesis")
    if len(premises) != len(hypotheses):
        raise DataError("premise and hypothesis differ in length", field="inputs")
    wanted = wanted_outputs(body)
    pairs = predictions.checked_pairs(premises, hypotheses, ("premise[{}]", "hypothesis[{}]"))
    result = await predictions.run(pairs, version, gone)
    values = {
        "probabilities": result.probabilities.astype(np.float32),
        "entropy": entropy(result.probabilities).astype(np.float32),
        "truncated": np.asarray(result.truncated, dtype=bool),
    }
    datatypes = {t.name: t.datatype for t in OUTPUTS}
    outputs, binary = [], []
    for output, as_binary in wanted:
        array = values[output]
        tensor = TensorOut(output, datatypes[output], list(array.shape))
        if as_binary:
            binary.append(wire.tensor_bytes(array))
            tensor.parameters = {"binary_data_size": len(binary[-1])}
        else:
            tensor.data = array.ravel().tolist()
        outputs.append(tensor)
    header = InferOut(STUDENT, result.model.version, body.id, outputs)
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
