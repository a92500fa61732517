"""``lewidi``: LeWiDi 2025 VariErrNLI json (a mapping of id to item)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from shared.datasets.records import json_document, require, text
from shared.errors import DataError
from shared.labels import LABEL_NAMES
from shared.schemas import Explanation, Instance, Judgment


def lewidi_soft_label_to_probs(soft_label: Any) -> list[float]:
    """LeWiDi's VariErr ``soft_label`` is per-label binary: {label: {"0": p, "1": q}}, where q is
    the share of annotators who found that label valid. These shares need not sum to 1, so the
    3-way distribution is q normalised over E/N/C. Plain {label: p} mappings pass through."""
    if not isinstance(soft_label, Mapping):
        raise DataError("expected a mapping of label to probability", field="soft_label")
    shares = []
    for name in LABEL_NAMES:
        value = soft_label.get(name, 0.0)
        if isinstance(value, Mapping):
            value = value.get("1", value.get("1.0", 0.0))
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise DataError(f"bad share for {name}: {value!r}", field="soft_label")
        shares.append(float(value))
    total = sum(shares)
    if not total > 0:
        raise DataError("no label has a positive share", field="soft_label")
    return [share / total for share in shares]


def lewidi_items(path: Path) -> Iterator[tuple[int, tuple[str, Any]]]:
    """The (id, item) pairs of the file's mapping, numbered from 1."""
    document = json_document(path)
    if not isinstance(document, Mapping):
        raise DataError("expected a JSON object mapping ids to items", source=str(path))
    yield from enumerate(document.items(), start=1)


def parse_lewidi(entry: tuple[str, Any]) -> Instance:
    item_id, record = entry
    context = require(record, "text")
    premise, hypothesis = text(context, "context"), text(context, "statement")
    other = record.get("other_info") or {}
    explanations = other.get("explanations") or [] if isinstance(other, Mapping) else []
    return Instance(
        id=str(item_id),
        premise=premise,
        hypothesis=hypothesis,
        explanations=tuple(Explanation(str(t)) for t in explanations if str(t).strip()),
        human=Judgment.from_probs(
            lewidi_soft_label_to_probs(require(record, "soft_label")), "soft_label"
        ),
    )
