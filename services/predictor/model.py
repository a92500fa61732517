"""One loaded student version, ready to run: an ONNX Runtime session and its tokenizer.

On the CUDA execution provider when it really loads (the session's providers are checked,
not the available list), else the CPU. Used by the API's micro-batcher, ``mjd predict`` and
the benchmarks.
"""

from __future__ import annotations

import ctypes
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shared.encoding import encode_batch, length_chunks, load_tokenizer, pad_id, to_arrays
from shared.errors import MjdError
from shared.platform.layout import INT8_FILE, MODEL_FILE, MODEL_METADATA, TOKENIZER_FILE
from shared.tasks import NLI

log = logging.getLogger(__name__)
CUDA, CPU = "CUDAExecutionProvider", "CPUExecutionProvider"


def cuda_driver_present() -> bool:
    """onnxruntime-gpu lists the CUDA provider even on machines without CUDA, where asking
    for it logs an error and falls back; ask only where the driver library loads."""
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    return True


def requested_providers(preference: str) -> list[str]:
    import onnxruntime as ort

    if preference == "cpu":
        return [CPU]
    has_cuda = CUDA in ort.get_available_providers() and cuda_driver_present()
    if preference == "cuda" and not has_cuda:
        raise MjdError("MJD_PREDICT_PROVIDER=cuda, but CUDA is not available to ONNX Runtime")
    return [CUDA, CPU] if has_cuda else [CPU]


def task_of(metadata: dict[str, Any]) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """The task ref, labels and input fields a model's metadata records (at its top, or in
    its export report); a model from before tasks is NLI's."""
    for where in (metadata, metadata.get("export") or {}):
        if where.get("task"):
            return str(where["task"]), tuple(where["labels"]), tuple(where["inputs"])
    return NLI.ref, NLI.label_names, NLI.input_names


@dataclass(slots=True)
class LoadedModel:
    version: str
    variant: str
    provider: str
    session: Any
    tokenizer: Any
    input_names: tuple[str, ...]
    max_batch: int
    max_tokens: int
    max_length: int
    #: the task it predicts (``name@version``), its labels (the output columns, K of them)
    #: and its input fields (the texts of a row, in this order)
    task: str = NLI.ref
    labels: tuple[str, ...] = NLI.label_names
    inputs: tuple[str, ...] = NLI.input_names

    @classmethod
    def load(
        cls,
        folder: Path,
        *,
        provider: str = "auto",
        variant: str = "fp32",
        max_batch: int = 32,
        max_tokens: int = 512,
    ) -> LoadedModel:
        """A model folder (a registry version, or ``mjd export`` output) ready to run."""
        import onnxruntime as ort

        if not (folder / MODEL_METADATA).is_file():
            raise MjdError(f"not an exported model folder (no {MODEL_METADATA}): {folder}")
        metadata = json.loads((folder / MODEL_METADATA).read_text())
        if variant == "int8" and not (folder / INT8_FILE).is_file():
            log.warning("%s has no int8 file; serving fp32", folder)
            variant = "fp32"
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # idle inference threads sleep instead of spinning: the event loop shares the cores
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(
            str(folder / (INT8_FILE if variant == "int8" else MODEL_FILE)),
            options,
            providers=requested_providers(provider),
        )
        loaded = session.get_providers()[0]  # what really loaded
        if provider == "cuda" and loaded != CUDA:
            raise MjdError(f"the CUDA provider did not load for {folder} (got {loaded})")
        max_length = int(metadata["spec"]["max_length"])
        task, labels, inputs = task_of(metadata)
        width = session.get_outputs()[0].shape[-1]
        if isinstance(width, int) and width != len(labels):
            raise MjdError(
                f"{folder}: the model answers {width} labels, its metadata names {len(labels)}"
            )
        return cls(
            version=str(metadata.get("version") or folder.name),
            variant=variant,
            provider=loaded,
            session=session,
            tokenizer=load_tokenizer(Path(folder) / TOKENIZER_FILE, max_length),
            input_names=tuple(metadata["export"]["input_names"]),
            max_batch=max_batch,
            max_tokens=max_tokens,
            max_length=max_length,
            task=task,
            labels=labels,
            inputs=inputs,
        )

    def predict(self, rows: Sequence[Sequence[str]]) -> tuple[np.ndarray, list[bool]]:
        """Probabilities [n, K] (in the task's label order) and, per row of input texts (in
        the order of ``inputs``), whether it was truncated; model calls group rows of
        similar length (see shared.encoding.length_chunks)."""
        encodings = encode_batch(self.tokenizer, rows)
        probabilities = np.empty((len(rows), len(self.labels)), dtype=np.float64)
        padding = pad_id(self.tokenizer)
        lengths = [len(e.ids) for e in encodings]
        for rows in length_chunks(lengths, self.max_batch, self.max_tokens):
            arrays = to_arrays([encodings[r] for r in rows], self.input_names, padding)
            probabilities[rows] = self.session.run(None, arrays)[0]
        return probabilities, [bool(e.overflowing) for e in encodings]

    def describe(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "variant": self.variant,
            "provider": self.provider,
            "max_length": self.max_length,
            "task": self.task,
            "labels": list(self.labels),
        }
