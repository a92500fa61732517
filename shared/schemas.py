"""Typed records for NLI instances and label distributions, with validation at construction.

Every validator raises :class:`DataError` naming the field; readers add the file and row.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.errors import DataError
from shared.labels import LABEL_NAMES, NUM_LABELS, Label

#: Largest deviation from 1 that a probability vector may have.
SUM_TOLERANCE = 1e-6


def _as_three_numbers(values: Any, field_name: str) -> tuple[float, ...]:
    if isinstance(values, Mapping):
        values = _from_label_mapping(values, field_name)
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise DataError(
            f"expected a list of {NUM_LABELS} numbers in E/N/C order, got {type(values).__name__}",
            field=field_name,
        )
    if len(values) != NUM_LABELS:
        raise DataError(
            f"expected {NUM_LABELS} values (E/N/C), got {len(values)}", field=field_name
        )
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


def _from_label_mapping(values: Mapping[str, Any], field_name: str) -> list[Any]:
    """Turn {"e": 3, "neutral": 1, ...} into E/N/C order; missing labels count as 0."""
    ordered = [0] * NUM_LABELS
    for key, value in values.items():
        try:
            label = Label.parse(str(key))
        except ValueError as exc:
            raise DataError(str(exc), field=field_name) from None
        ordered[label.index] = value
    return ordered


@dataclass(frozen=True, slots=True)
class Judgment:
    """A distribution over (E, N, C), optionally with the label counts it came from."""

    probs: tuple[float, float, float]
    counts: tuple[int, int, int] | None = None

    @classmethod
    def from_probs(cls, values: Any, field_name: str = "probs") -> Judgment:
        probs = _as_three_numbers(values, field_name)
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
    def from_counts(cls, values: Any, field_name: str = "counts") -> Judgment:
        numbers = _as_three_numbers(values, field_name)
        if any(not n.is_integer() for n in numbers):
            raise DataError(f"counts must be whole numbers, got {list(numbers)}", field=field_name)
        counts = tuple(int(n) for n in numbers)
        total = sum(counts)
        if total == 0:
            raise DataError("counts must not all be zero", field=field_name)
        return cls(probs=tuple(c / total for c in counts), counts=counts)  # type: ignore[arg-type]

    @classmethod
    def one_hot(cls, label: Label) -> Judgment:
        probs = [0.0] * NUM_LABELS
        probs[label.index] = 1.0
        return cls(probs=tuple(probs))  # type: ignore[arg-type]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"probs": list(self.probs)}
        if self.counts is not None:
            out["counts"] = list(self.counts)
        return out


@dataclass(frozen=True, slots=True)
class Explanation:
    text: str
    label: Label | None = None

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "label": None if self.label is None else self.label.value}


def text_id(premise: str, hypothesis: str) -> str:
    """A stable id for items that come without one, so files about the same items line up."""
    digest = hashlib.sha1(f"{premise}\x1f{hypothesis}".encode()).hexdigest()
    return digest[:16]


@dataclass(frozen=True, slots=True)
class Instance:
    """One NLI item.

    ``human`` is the crowd distribution (HJD) when known. ``references`` holds other named
    judgments that come with a dataset (e.g. ``mnli``: the 5 MNLI annotators, ``varierr``: the
    4 experts); ``gold_label`` is the dataset's single label when it has one.
    """

    id: str
    premise: str
    hypothesis: str
    explanations: tuple[Explanation, ...] = ()
    human: Judgment | None = None
    references: Mapping[str, Judgment] = field(default_factory=dict)
    gold_label: Label | None = None

    def __post_init__(self) -> None:
        for name in ("id", "premise", "hypothesis"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise DataError("must be a non-empty string", field=name)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "premise": self.premise,
            "hypothesis": self.hypothesis,
            "explanations": [e.to_json() for e in self.explanations],
            "human": None if self.human is None else self.human.to_json(),
        }
        if self.references:
            out["references"] = {k: v.to_json() for k, v in self.references.items()}
        if self.gold_label is not None:
            out["gold_label"] = self.gold_label.value
        return out


__all__ = ["LABEL_NAMES", "SUM_TOLERANCE", "Explanation", "Instance", "Judgment", "text_id"]
