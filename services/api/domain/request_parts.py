"""Small checks and encodings of job requests that :mod:`submissions` builds specs with."""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np

from shared.errors import DataError
from shared.method.explanations import labels_column
from shared.method.runs import LLMChoice
from shared.schemas import Judgment
from shared.tasks import NLI, Task


def request_labels(records: list[dict[str, Any]], task: Task) -> list[list[str] | None]:
    """The ``labels`` list of each inline record (None where it has none), checked."""
    try:
        return labels_column([record.get("labels") for record in records], "instances", task)
    except DataError as exc:
        raise DataError(exc.message, field=f"instances[{(exc.row or 1) - 1}].{exc.field}") from None


def same_labels(first: Task, second: Task, field_name: str) -> None:
    """Two sides of one comparison must share a label set (in the same order)."""
    if first.label_names != second.label_names:
        raise DataError(
            f"its task {second.ref} has labels {', '.join(second.label_names)}; the other "
            f"side's ({first.ref}) has {', '.join(first.label_names)}",
            field=field_name,
        )


def llm_fields(llm: LLMChoice, endpoint: str | None) -> dict[str, Any]:
    """A job spec's LLM: the choice with its endpoint as the name this server resolved."""
    return {"backend": llm.backend, "model": llm.model, "endpoint": endpoint}


def distributions_file(ids: list[str], rows: np.ndarray) -> bytes:
    return b"".join(
        msgspec.json.encode({"id": i, "distribution": r.tolist()}) + b"\n"
        for i, r in zip(ids, rows, strict=True)
    )


def checked_rows(rows: list[list[float]], field_name: str, task: Task = NLI) -> np.ndarray:
    """Distributions of a request over ``task``'s labels, each checked (errors name
    ``field_name[row]``)."""
    if not rows:
        raise DataError("must not be empty", field=field_name)
    for index, row in enumerate(rows):
        try:
            Judgment.from_probs(row, f"{field_name}[{index}]", task)
        except DataError as exc:
            raise DataError(exc.message, field=exc.field) from None
    return np.asarray(rows, dtype=np.float64)


def same_length(human: np.ndarray, model: np.ndarray) -> None:
    if len(human) != len(model):
        raise DataError(f"row counts differ: human {len(human)}, model {len(model)}", field="model")
