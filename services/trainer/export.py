"""ONNX export of a trained student, checked against torch on real inputs, and its optional
int8 variant (dynamic quantisation, per-channel weights) with its own parity and accuracy
report. Per-tensor weights moved probabilities by up to 0.097 here, per-channel by 0.023."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from services.trainer.student import Probabilities, Student, task_record
from services.trainer.training import evaluate_on, predict_probabilities
from shared.encoding import encode_rows
from shared.errors import MjdError
from shared.platform.layout import INT8_FILE, MODEL_FILE, TOKENIZER_FILE
from shared.training import SoftLabelled

OUTPUT_NAME = "probabilities"
#: the ONNX file's metadata_props naming its task (JSON values; see :func:`task_record`):
#: the model describes itself to any ONNX runtime, beside the version's metadata.json
ONNX_METADATA_PREFIX = "mjd."
OPSET = 17
#: largest |torch - ONNX| probability difference an fp32 export may show
PARITY_TOLERANCE = 1e-4


def onnx_probabilities(
    model_path: Path, tokenizer: Any, input_names: Sequence[str], rows: Sequence[Sequence[str]]
) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    batches = []
    for start in range(0, len(rows), 64):
        encoded = encode_rows(tokenizer, rows[start : start + 64], input_names)
        batches.append(session.run([OUTPUT_NAME], encoded.arrays)[0])
    return np.concatenate(batches).astype(np.float64)


def write_task_metadata(path: Path, record: dict[str, Any]) -> None:
    """Name the task (its ref, labels and inputs) in the ONNX file's metadata_props."""
    import json

    import onnx

    model = onnx.load(str(path))
    del model.metadata_props[:]
    for key, value in record.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = ONNX_METADATA_PREFIX + key, json.dumps(value)
    onnx.save(model, str(path))


def onnx_task_metadata(path: Path) -> dict[str, Any]:
    """What :func:`write_task_metadata` wrote (empty for a file from before tasks)."""
    import json

    import onnx

    props = onnx.load(str(path), load_external_data=False).metadata_props
    return {
        p.key.removeprefix(ONNX_METADATA_PREFIX): json.loads(p.value)
        for p in props
        if p.key.startswith(ONNX_METADATA_PREFIX)
    }


def export_onnx(
    student: Student, tokenizer: Any, sample: Sequence[Sequence[str]], path: Path
) -> None:
    """Trace with a real batch of >= 2 rows of different lengths, so neither axis is
    specialised; batch and sequence axes are dynamic. The file names its task."""
    if len(sample) < 2:
        raise MjdError("export needs at least 2 sample rows to trace dynamic axes")
    student.eval()
    encoded = encode_rows(tokenizer, sample[:2], student.input_names)
    inputs = tuple(torch.from_numpy(encoded.arrays[name]) for name in student.input_names)
    dynamic = {name: {0: "batch", 1: "sequence"} for name in student.input_names}
    dynamic[OUTPUT_NAME] = {0: "batch"}
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes on Python branches the parity check covers
        torch.onnx.export(
            Probabilities(student),
            inputs,
            str(path),
            input_names=list(student.input_names),
            output_names=[OUTPUT_NAME],
            dynamic_axes=dynamic,
            opset_version=OPSET,
            dynamo=False,  # the dynamo exporter needs onnxscript
        )
    write_task_metadata(path, task_record(student.task))


def quantize_int8(source: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.disable(logging.WARNING)  # a root-logger hint about pre-processing, on every call
    try:
        quantize_dynamic(str(source), str(target), per_channel=True, weight_type=QuantType.QInt8)
    finally:
        logging.disable(logging.NOTSET)


def _summary(report: Any) -> dict[str, float]:
    return {**report.headline().as_dict(), "f1_weighted": report.f1_weighted}


def export_student(
    student: Student, tokenizer: Any, check: SoftLabelled, folder: Path, *, int8: bool = True
) -> dict[str, Any]:
    """Write model.onnx (and model.int8.onnx) and the tokenizer into ``folder``; return the
    parity report. Raises when the fp32 export disagrees with torch beyond tolerance.
    ``check`` holds items of the student's task (reordered to its input fields)."""
    task = student.task
    check = check.for_task(task)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(folder / TOKENIZER_FILE))
    started = time.monotonic()
    export_onnx(student, tokenizer, check.rows, folder / MODEL_FILE)
    reference = predict_probabilities(student, tokenizer, check.rows)
    exported = onnx_probabilities(folder / MODEL_FILE, tokenizer, student.input_names, check.rows)
    difference = float(np.abs(reference - exported).max())
    if difference >= PARITY_TOLERANCE:
        raise MjdError(
            f"ONNX export disagrees with torch: max |dp| {difference:.2e} >= {PARITY_TOLERANCE}"
        )
    report: dict[str, Any] = {
        **task_record(task),
        "input_names": list(student.input_names),
        "output_name": OUTPUT_NAME,
        "opset": OPSET,
        "parity": {
            "items": len(check),
            "max_abs_diff": difference,
            "tolerance": PARITY_TOLERANCE,
        },
        "fp32": _summary(evaluate_on(task, check.targets, exported)),
    }
    if int8:
        quantize_int8(folder / MODEL_FILE, folder / INT8_FILE)
        quantized = onnx_probabilities(
            folder / INT8_FILE, tokenizer, student.input_names, check.rows
        )
        report["int8"] = {
            "file": INT8_FILE,
            "weights": "int8 per-channel (dynamic quantisation)",
            "max_abs_diff_vs_fp32": float(np.abs(quantized - exported).max()),
            "mean_abs_diff_vs_fp32": float(np.abs(quantized - exported).mean()),
            "argmax_agreement": float((quantized.argmax(1) == exported.argmax(1)).mean()),
            **_summary(evaluate_on(task, check.targets, quantized)),
        }
    report["seconds"] = time.monotonic() - started
    return report
