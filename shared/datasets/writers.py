"""Writers of instances and distributions, each file written atomically."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

from shared.files import write_atomically
from shared.schemas import Instance
from shared.tasks import NLI, Task


def write_jsonl(path: str | Path, records: Iterable[Mapping[str, Any]]) -> None:
    def write(handle: IO[Any]) -> None:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    write_atomically(Path(path), write)


def write_instances_jsonl(path: str | Path, instances: Iterable[Instance]) -> None:
    write_jsonl(path, (instance.to_json() for instance in instances))


def write_distributions_csv(
    path: str | Path, ids: Iterable[str], probs: np.ndarray, task: Task = NLI
) -> None:
    """One row per item: its id and a column per label (the task's names, its order)."""

    def write(handle: IO[Any]) -> None:
        writer = csv.writer(handle)
        writer.writerow(["id", *task.label_names])
        for item_id, row in zip(ids, probs, strict=True):
            writer.writerow([item_id, *(repr(float(p)) for p in row)])

    write_atomically(Path(path), write)


def write_distributions_jsonl(path: str | Path, ids: Iterable[str], probs: np.ndarray) -> None:
    write_jsonl(
        path,
        (
            {"id": i, "distribution": [float(p) for p in row]}
            for i, row in zip(ids, probs, strict=True)
        ),
    )
