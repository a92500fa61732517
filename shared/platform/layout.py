"""The artifact store's layout: the one owner of every name under ``datasets/<id>/``,
``jobs/<id>/`` and ``models/``. Services read and write these files only through the names
here, so a reader in one service and the writer in another can never drift apart."""

from __future__ import annotations

from typing import Any

import msgspec

from shared.datasets import read_instances, read_row_field
from shared.errors import DataError
from shared.jsonl import json_lines
from shared.method.explanations import labels_column
from shared.platform.artifacts import DATASETS, JOBS, ArtifactStore
from shared.schemas import Instance
from shared.tasks import NLI, Task

# datasets/<dataset id>/
DATASET_INSTANCES = "instances.jsonl"

# jobs/<job id>/, every kind (the job itself, its spec and state, is in the job store)
#: written last by a finished task: its files are complete (a redelivery takes them as they
#: are)
JOB_SUMMARY = "summary.json"
# MJD jobs
MJD_INPUT = "input.jsonl"
MJD_RESULT = "result.jsonl"
#: the records of the items done so far, one line each, so that a job delivered again (its
#: worker stopped, or it gave way to other jobs) goes on where it stopped
MJD_CHECKPOINT = "checkpoint.jsonl"
# explanation jobs: their items in MJD_INPUT (each with the ``labels`` list it came with, if
# any), their explained items in EXPLANATION_RESULT (the layout ``mjd generate`` reads)
EXPLANATION_RESULT = "explained.jsonl"
# metrics jobs
METRICS_HUMAN = "human.jsonl"
METRICS_MODEL = "model.jsonl"
METRICS_REPORT = "report.json"
#: the main plot: the ternary plot for 3 labels, the mean distributions for any other K
METRICS_PLOT = "ternary.png"
METRICS_ENTROPY_PLOT = "entropy.png"
#: ordinal tasks: human vs model expected value per item
METRICS_EXPECTED_PLOT = "expected.png"
# training jobs
TRAINING_REPORT = "report.json"
#: the model version a training job claimed, reused when its task is redelivered
TRAINING_VERSION = "version.json"

# models/v<N>/
MODEL_METADATA = "metadata.json"
MODEL_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
TOKENIZER_FILE = "tokenizer.json"

#: media types of the files a job lists as downloadable artifacts
ARTIFACT_MEDIA_TYPES = {
    "json": "application/json",
    "jsonl": "application/x-ndjson",
    "png": "image/png",
}


def dataset_exists(store: ArtifactStore, dataset_id: str) -> bool:
    return store.exists(DATASETS, dataset_id, DATASET_INSTANCES)


def dataset_instances(store: ArtifactStore, dataset_id: str, task: Task = NLI) -> list[Instance]:
    path = store.path(DATASETS, dataset_id, DATASET_INSTANCES)
    return read_instances(path, "jsonl", task=task)


def job_input(store: ArtifactStore, job_id: str, task: Task = NLI) -> list[Instance]:
    return read_instances(store.path(JOBS, job_id, MJD_INPUT), "jsonl", task=task)


def job_labels(store: ArtifactStore, job_id: str, task: Task = NLI) -> list[list[str] | None]:
    """The ``labels`` list of each of an explanation job's items (None where it has none)."""
    path = store.path(JOBS, job_id, MJD_INPUT)
    return labels_column(read_row_field(path, "labels"), MJD_INPUT, task)


def _json_lines(store: ArtifactStore, job_id: str, name: str) -> list[dict[str, Any]]:
    return [record for _, record in json_lines(store.path(JOBS, job_id, name))]


def mjd_records(store: ArtifactStore, job_id: str) -> list[dict[str, Any]]:
    """The records of a finished MJD job, as stored (one JSON object per item)."""
    return _json_lines(store, job_id, MJD_RESULT)


def explained_records(store: ArtifactStore, job_id: str) -> list[dict[str, Any]]:
    """The explained items of a finished explanation job, as stored."""
    return _json_lines(store, job_id, EXPLANATION_RESULT)


def explained_instances(store: ArtifactStore, job_id: str, task: Task = NLI) -> list[Instance]:
    """The explained items of a finished explanation job, as an MJD job reads them."""
    return read_instances(store.path(JOBS, job_id, EXPLANATION_RESULT), "jsonl", task=task)


def checkpointed_records(store: ArtifactStore, job_id: str, ids: list[str]) -> list[dict[str, Any]]:
    """The checkpointed records of an MJD job's first items, in order: a line cut short by
    a killed writer, and whatever follows it, is dropped, as is a record whose id is not
    the next input item's."""
    path = store.path(JOBS, job_id, MJD_CHECKPOINT)
    if not path.is_file():
        return []
    records: list[dict[str, Any]] = []
    try:
        for _, record in json_lines(path):
            if len(records) >= len(ids) or record.get("id") != ids[len(records)]:
                break
            records.append(record)
    except (DataError, UnicodeDecodeError):  # the line a killed writer cut short
        pass
    return records


def checkpoint_records(store: ArtifactStore, job_id: str, records: list[dict[str, Any]]) -> None:
    """Make the checkpoint exactly ``records`` (after a resume drops a torn tail), then
    :func:`append_checkpoint` adds one line per finished item."""
    data = b"".join(msgspec.json.encode(r) + b"\n" for r in records)
    store.write_bytes(JOBS, job_id, MJD_CHECKPOINT, data)


def append_checkpoint(store: ArtifactStore, job_id: str, record: dict[str, Any]) -> None:
    with store.path(JOBS, job_id, MJD_CHECKPOINT).open("ab") as handle:
        handle.write(msgspec.json.encode(record) + b"\n")


def finished_summary(store: ArtifactStore, job_id: str) -> dict[str, Any] | None:
    """The stored summary when a (redelivered) task already finished this job: tasks are
    idempotent, and the summary is written last, after every result file."""
    if store.exists(JOBS, job_id, JOB_SUMMARY):
        return store.read_json(JOBS, job_id, JOB_SUMMARY)
    return None
