"""``csv``: uploaded tables read as generic records (see :mod:`shared.datasets.generic`)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shared.datasets.records import located
from shared.errors import DataError
from shared.schemas import Judgment
from shared.tasks import NLI, Task

#: how csv_rows checks the columns it reads, so a bad row names them, not its record key
_CSV_JUDGMENTS = {"probs": Judgment.from_probs, "counts": Judgment.from_counts}


def csv_columns(task: Task) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The task's probability columns (its label names) and count columns (``n_<label>``)."""
    return task.label_names, tuple(f"n_{name}" for name in task.label_names)


def csv_rows(path: Path, task: Task = NLI) -> Iterator[tuple[int, dict[str, Any]]]:
    """CSV rows as records: the id and input columns as they are, the task's probability
    columns become ``probs``, its count columns ``counts``."""
    probs, counts = csv_columns(task)
    texts = ("id", *(n for field in task.inputs for n in (field.name, *field.aliases)))
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        number = 0  # rows read so far; the header is row 1
        try:
            columns = set(reader.fieldnames or [])
            _check_label_columns(columns, probs, counts, task, path)
            number = 1
            for number, row in enumerate(reader, start=2):
                record: dict[str, Any] = {k: v for k, v in row.items() if k in texts and v}
                for names, key in ((probs, "probs"), (counts, "counts")):
                    if columns.issuperset(names):
                        record[key] = [_csv_number(row[n], n, number, path) for n in names]
                        with located(str(path), number):  # name the file's columns
                            _CSV_JUDGMENTS[key](record[key], ",".join(names), task)
                        break
                yield number, record
        except csv.Error as exc:  # e.g. a field over csv.field_size_limit() (131,072 chars)
            raise DataError(
                f"not readable as CSV: {exc}", source=str(path), row=number + 1
            ) from None


def _check_label_columns(
    columns: set[str], probs: tuple[str, ...], counts: tuple[str, ...], task: Task, path: Path
) -> None:
    """A table with some of the task's label columns but not all of them is a mistake (a
    misspelt or missing label), not a file without distributions."""
    for names in (probs, counts):
        have = [n for n in names if n in columns]
        if have and len(have) < len(names) and not columns.issuperset(probs):
            missing = [n for n in names if n not in columns]
            raise DataError(
                f"has label column(s) {', '.join(have)} but not {', '.join(missing)} "
                f"(task {task.name}: one column per label, {', '.join(names)})",
                source=str(path),
                row=1,
                field=missing[0],
            )


def _csv_number(text: str | None, column: str, row: int, path: Path) -> float:
    try:
        return float(text) if text not in (None, "") else float("nan")
    except ValueError:
        raise DataError(
            f"not a number: {text!r}", source=str(path), row=row, field=column
        ) from None
