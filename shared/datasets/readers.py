"""The public readers: any registered format, every row validated, errors naming the file,
row and field; no row is ever dropped silently."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shared.datasets.detect import detect_format
from shared.datasets.generic import generic_id, generic_judgment
from shared.datasets.records import located, records, text, utf8_text
from shared.datasets.registry import Reader, reader_for
from shared.datasets.vendored import DEFAULT_DATASETS_DIR, vendored_path
from shared.errors import DataError
from shared.schemas import Instance, text_id


@dataclass(frozen=True, slots=True)
class DistributionSet:
    """N distributions in E/N/C order with their ids.

    ``ids_from_data`` is False when the file had neither ids nor texts, so rows can only be
    matched by position.
    """

    ids: list[str]
    probs: np.ndarray
    source: str
    ids_from_data: bool = True

    def __len__(self) -> int:
        return len(self.ids)


def _reader(path: Path, fmt: str) -> Reader:
    return reader_for(detect_format(path) if fmt == "auto" else fmt)


def read_instances(
    path: str | Path, fmt: str = "auto", *, datasets_dir: Path = DEFAULT_DATASETS_DIR
) -> list[Instance]:
    """Read NLI instances; every row must carry premise and hypothesis. ``datasets_dir``
    holds the explained file that model explanation files are joined to."""
    with utf8_text(path):
        return _read_instances(Path(path), _reader(Path(path), fmt), datasets_dir)


def _read_instances(path: Path, reader: Reader, datasets_dir: Path) -> list[Instance]:
    source = str(path)
    parser = reader.parser(
        lambda name, fmt: read_instances(
            vendored_path(name, datasets_dir), fmt, datasets_dir=datasets_dir
        )
    )
    instances: list[Instance] = []
    seen: dict[str, int] = {}
    for index, (row, record) in enumerate(reader.rows(path)):
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
    return instances


def read_distributions(
    path: str | Path, fmt: str = "auto", *, datasets_dir: Path = DEFAULT_DATASETS_DIR
) -> DistributionSet:
    """Read one distribution per row: the human distribution of a dataset, or the
    ``distribution``/``probs``/``label``/``counts`` of a generic file (texts optional)."""
    with utf8_text(path):
        return _read_distributions(Path(path), _reader(Path(path), fmt), datasets_dir)


def _read_distributions(path: Path, reader: Reader, datasets_dir: Path) -> DistributionSet:
    source = str(path)
    if not reader.texts_optional:
        instances = _read_instances(path, reader, datasets_dir)
        missing = next((i for i, inst in enumerate(instances, 1) if inst.human is None), None)
        if missing is not None:
            raise DataError("row has no human distribution", source=source, row=missing)
        return DistributionSet(
            ids=[inst.id for inst in instances],
            probs=np.array([inst.human.probs for inst in instances], dtype=np.float64),  # type: ignore[union-attr]
            source=source,
        )
    ids: list[str] = []
    rows: list[tuple[float, ...]] = []
    seen: dict[str, int] = {}
    any_missing_id = False
    for row, record in reader.rows(path):
        with located(source, row):
            if not isinstance(record, Mapping):
                raise DataError(f"expected a JSON object, got {type(record).__name__}")
            judgment = generic_judgment(record)
            item_id = generic_id(record)
            if item_id is None and record.get("premise") and record.get("hypothesis"):
                item_id = text_id(text(record, "premise"), text(record, "hypothesis"))
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
    return DistributionSet(ids, np.array(rows, dtype=np.float64), source, not any_missing_id)


def read_row_field(path: str | Path, name: str) -> list[Any]:
    """Each row's ``name`` field (None where absent), in the order :func:`read_instances`
    reads a JSON lines or JSON array file: e.g. the ``labels`` list ``mjd explain`` takes."""
    with utf8_text(path):
        return [
            record.get(name) if isinstance(record, Mapping) else None
            for _, record in records(Path(path))
        ]
