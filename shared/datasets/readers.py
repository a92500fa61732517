"""The public readers: any registered format, every row validated, errors naming the file,
row and field; no row is ever dropped silently."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shared.datasets.detect import detect_format
from shared.datasets.generic import generic_id, generic_judgment
from shared.datasets.lewidi import LewidiParser
from shared.datasets.records import RowParser, located, records, text, utf8_text
from shared.datasets.registry import Reader, reader_for, task_for
from shared.datasets.vendored import DEFAULT_DATASETS_DIR, vendored_path
from shared.errors import DataError
from shared.schemas import Instance, text_id
from shared.tasks import BUILTIN, NLI, Task


@dataclass(frozen=True, slots=True)
class Dataset:
    """A file's instances and the task they are of; ``renormalised`` counts the soft labels
    that were rounded (LeWiDi's 2 decimals) and renormalised to sum to 1."""

    task: Task
    instances: list[Instance]
    format: str
    renormalised: int = 0


@dataclass(frozen=True, slots=True)
class DistributionSet:
    """N distributions in the task's label order with their ids.

    ``ids_from_data`` is False when the file had neither ids nor texts, so rows can only be
    matched by position.
    """

    ids: list[str]
    probs: np.ndarray
    source: str
    ids_from_data: bool = True
    task: Task = NLI

    def __len__(self) -> int:
        return len(self.ids)


def _format(path: Path, fmt: str) -> str:
    return detect_format(path) if fmt == "auto" else fmt


def read_dataset(
    path: str | Path,
    fmt: str = "auto",
    *,
    task: Task | None = None,
    tasks: Iterable[Task] = (),
    datasets_dir: Path = DEFAULT_DATASETS_DIR,
) -> Dataset:
    """Read a file's instances and find their task: ``task`` when given, else the one the
    file names (LeWiDi's ``annotation task``, among the built-in tasks and ``tasks``), else
    NLI. ``datasets_dir`` holds the explained file that model explanation files join."""
    with utf8_text(path):
        name = _format(Path(path), fmt)
        reader = reader_for(name)
        chosen = task_for(reader, name, Path(path), task, [*tasks, *BUILTIN.values()])
        instances, parser = _read_instances(Path(path), reader, chosen, datasets_dir)
    renormalised = parser.renormalised if isinstance(parser, LewidiParser) else 0
    return Dataset(chosen, instances, name, renormalised)


def read_instances(
    path: str | Path,
    fmt: str = "auto",
    *,
    task: Task | None = None,
    datasets_dir: Path = DEFAULT_DATASETS_DIR,
) -> list[Instance]:
    """The instances of :func:`read_dataset` (NLI unless the file or ``task`` says else)."""
    return read_dataset(path, fmt, task=task, datasets_dir=datasets_dir).instances


def _read_instances(
    path: Path, reader: Reader, task: Task, datasets_dir: Path
) -> tuple[list[Instance], RowParser]:
    source = str(path)
    parser = reader.parser(
        lambda name, fmt: read_instances(
            vendored_path(name, datasets_dir), fmt, datasets_dir=datasets_dir
        ),
        task,
    )
    instances: list[Instance] = []
    seen: dict[str, int] = {}
    for index, (row, record) in enumerate(reader.rows(path, task)):
        with located(source, row):
            instance = parser.parse(record, index)
            if instance.id in seen:
                raise DataError(
                    f"duplicate id {instance.id!r} (first at row {seen[instance.id]})", field="id"
                )
            seen[instance.id] = row
        instances.append(instance)
    if not instances:
        raise DataError("file has no records", source=source)
    parser.finish(len(instances), source)
    return instances, parser


def read_distributions(
    path: str | Path,
    fmt: str = "auto",
    *,
    task: Task | None = None,
    tasks: Iterable[Task] = (),
    datasets_dir: Path = DEFAULT_DATASETS_DIR,
) -> DistributionSet:
    """Read one distribution per row: the human distribution of a dataset, or the
    ``distribution``/``probs``/``label``/``counts`` of a generic file (texts optional), in
    the task's label order (found as :func:`read_dataset` does)."""
    with utf8_text(path):
        name = _format(Path(path), fmt)
        reader = reader_for(name)
        chosen = task_for(reader, name, Path(path), task, [*tasks, *BUILTIN.values()])
        return _read_distributions(Path(path), reader, chosen, datasets_dir)


def _read_distributions(
    path: Path, reader: Reader, task: Task, datasets_dir: Path
) -> DistributionSet:
    source = str(path)
    if not reader.texts_optional:
        instances, _ = _read_instances(path, reader, task, datasets_dir)
        missing = next((i for i, inst in enumerate(instances, 1) if inst.human is None), None)
        if missing is not None:
            raise DataError("row has no human distribution", source=source, row=missing)
        return DistributionSet(
            ids=[inst.id for inst in instances],
            probs=np.array([inst.human.probs for inst in instances], dtype=np.float64),  # type: ignore[union-attr]
            source=source,
            task=task,
        )
    ids: list[str] = []
    rows: list[tuple[float, ...]] = []
    seen: dict[str, int] = {}
    any_missing_id = False
    for row, record in reader.rows(path, task):
        with located(source, row):
            if not isinstance(record, Mapping):
                raise DataError(f"expected a JSON object, got {type(record).__name__}")
            judgment = generic_judgment(record, task)
            item_id = generic_id(record)
            if item_id is None and all(record.get(n) for n in task.input_names):
                item_id = text_id(*(text(record, n) for n in task.input_names))
            if item_id is None:
                any_missing_id = True
                item_id = f"row-{row}"
            if item_id in seen:
                raise DataError(
                    f"duplicate id {item_id!r} (first at row {seen[item_id]})", field="id"
                )
            seen[item_id] = row
        ids.append(item_id)
        rows.append(judgment.probs)
    if not rows:
        raise DataError("file has no records", source=source)
    return DistributionSet(ids, np.array(rows, dtype=np.float64), source, not any_missing_id, task)


def read_row_field(path: str | Path, name: str) -> list[Any]:
    """Each row's ``name`` field (None where absent), in the order :func:`read_instances`
    reads a JSON lines or JSON array file: e.g. the ``labels`` list ``mjd explain`` takes."""
    with utf8_text(path):
        return [
            record.get(name) if isinstance(record, Mapping) else None
            for _, record in records(Path(path))
        ]
