"""Typed records for instances of any task and label distributions, validated at construction.

Every validator raises :class:`DataError` naming the field; readers add the file and row.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.errors import DataError
from shared.labels import LABEL_NAMES
from shared.tasks import MAX_LABELS, NLI, Task

#: Largest deviation from 1 that a probability vector may have.
SUM_TOLERANCE = 1e-6


def _as_numbers(values: Any, field_name: str, task: Task) -> tuple[float, ...]:
    if isinstance(values, Mapping):
        values = _from_label_mapping(values, field_name, task)
    order = "/".join(task.label_names)
    k = len(task.labels)
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise DataError(
            f"expected a list of {k} numbers in {order} order, got {type(values).__name__}",
            field=field_name,
        )
    if len(values) != k:
        raise DataError(f"expected {k} values ({order}), got {len(values)}", field=field_name)
    numbers = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise DataError(f"expected numbers, got {value!r}", field=field_name)
        number = float(value)
        if math.isnan(number) or math.isinf(number):
            raise DataError(f"values must be finite, got {value!r}", field=field_name)
        if number < 0:
            raise DataError(f"values must be non-negative, got {value!r}", field=field_name)
        numbers.append(number)
    return tuple(numbers)


def _from_label_mapping(values: Mapping[str, Any], field_name: str, task: Task) -> list[Any]:
    """Turn {"e": 3, "neutral": 1, ...} into the task's label order; missing labels count 0."""
    ordered: list[Any] = [0] * len(task.labels)
    for key, value in values.items():
        try:
            ordered[task.index(str(key))] = value
        except DataError as exc:
            raise DataError(exc.message, field=field_name) from None
    return ordered


@dataclass(frozen=True, slots=True)
class Judgment:
    """A distribution over a task's labels (in its order), optionally with the label counts
    it came from."""

    probs: tuple[float, ...]
    counts: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if not 2 <= len(self.probs) <= MAX_LABELS:
            raise DataError(f"expected 2 to {MAX_LABELS} probabilities", field="probs")

    @classmethod
    def from_probs(cls, values: Any, field_name: str = "probs", task: Task = NLI) -> Judgment:
        probs = _as_numbers(values, field_name, task)
        total = sum(probs)
        if abs(total - 1.0) > SUM_TOLERANCE:
            raise DataError(
                f"probabilities must sum to 1 (within {SUM_TOLERANCE:g}), got {total:.8g}",
                field=field_name,
            )
        if any(p > 1.0 for p in probs):
            raise DataError("probabilities must be at most 1", field=field_name)
        return cls(probs=probs)  # type: ignore[arg-type]

    @classmethod
    def from_counts(cls, values: Any, field_name: str = "counts", task: Task = NLI) -> Judgment:
        numbers = _as_numbers(values, field_name, task)
        if any(not n.is_integer() for n in numbers):
            raise DataError(f"counts must be whole numbers, got {list(numbers)}", field=field_name)
        counts = tuple(int(n) for n in numbers)
        total = sum(counts)
        if total == 0:
            raise DataError("counts must not all be zero", field=field_name)
        return cls(probs=tuple(c / total for c in counts), counts=counts)  # type: ignore[arg-type]

    @classmethod
    def one_hot(cls, label: str, task: Task = NLI) -> Judgment:
        probs = [0.0] * len(task.labels)
        probs[task.index(label)] = 1.0
        return cls(probs=tuple(probs))  # type: ignore[arg-type]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"probs": list(self.probs)}
        if self.counts is not None:
            out["counts"] = list(self.counts)
        return out


@dataclass(frozen=True, slots=True)
class Explanation:
    """An explanation's text and, where known, the label (its name) it argues for."""

    text: str
    label: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "label": None if self.label is None else str(self.label)}


def text_id(*texts: str) -> str:
    """A stable id for items that come without one, so files about the same items line up
    (NLI's is of premise and hypothesis, as before)."""
    digest = hashlib.sha1("\x1f".join(texts).encode()).hexdigest()
    return digest[:16]


@dataclass(frozen=True, slots=True)
class Instance:
    """One item of a task: ``inputs`` holds the task's input texts by field name.

    ``human`` is the crowd distribution (HJD) when known. ``references`` holds other named
    judgments that come with a dataset (e.g. ``mnli``: the 5 MNLI annotators, ``varierr``: the
    4 experts); ``gold_label`` is the dataset's single label (its name) when it has one.
    """

    id: str
    inputs: Mapping[str, str]
    explanations: tuple[Explanation, ...] = ()
    human: Judgment | None = None
    references: Mapping[str, Judgment] = field(default_factory=dict)
    gold_label: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip():
            raise DataError("must be a non-empty string", field="id")
        if not isinstance(self.inputs, Mapping) or not self.inputs:
            raise DataError("expected an object of the task's inputs", field="inputs")
        for name, value in self.inputs.items():
            if not isinstance(value, str) or not value.strip():
                raise DataError("must be a non-empty string", field=name)

    @classmethod
    def nli(cls, id: str, premise: str, hypothesis: str, **fields: Any) -> Instance:
        return cls(id, {"premise": premise, "hypothesis": hypothesis}, **fields)

    @property
    def premise(self) -> str:
        """The NLI task's first input."""
        return self.inputs["premise"]

    @property
    def hypothesis(self) -> str:
        """The NLI task's second input."""
        return self.inputs["hypothesis"]

    def to_json(self) -> dict[str, Any]:
        """The generic JSON lines layout: the inputs by name beside the id."""
        out: dict[str, Any] = {
            "id": self.id,
            **self.inputs,
            "explanations": [e.to_json() for e in self.explanations],
            "human": None if self.human is None else self.human.to_json(),
        }
        if self.references:
            out["references"] = {k: v.to_json() for k, v in self.references.items()}
        if self.gold_label is not None:
            out["gold_label"] = str(self.gold_label)
        return out


__all__ = ["LABEL_NAMES", "SUM_TOLERANCE", "Explanation", "Instance", "Judgment", "text_id"]
