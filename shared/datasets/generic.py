"""``jsonl``: generic rows with ``id`` (optional), ``premise``/``hypothesis`` (optional for
distribution-only files) and probabilities or counts; CSV rows become the same records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.datasets.records import label, text
from shared.errors import DataError
from shared.schemas import Explanation, Instance, Judgment, text_id

PROB_FIELDS = ("distribution", "probs", "label")
COUNT_FIELDS = ("counts",)


def generic_judgment(record: Mapping[str, Any]) -> Judgment:
    for name in PROB_FIELDS:
        if record.get(name) is not None:
            return Judgment.from_probs(record[name], name)
    for name in COUNT_FIELDS:
        if record.get(name) is not None:
            return Judgment.from_counts(record[name], name)
    raise DataError(
        f"missing distribution: expected one of {', '.join(PROB_FIELDS + COUNT_FIELDS)}",
        field="distribution",
    )


def generic_id(record: Mapping[str, Any]) -> str | None:
    value = record.get("id", record.get("uid"))
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise DataError("must be a non-empty string or integer", field="id")
    return str(value)


def instance_from_record(record: Any) -> Instance:
    """One generic JSON record (id?, premise, hypothesis, explanations?, distribution/probs/
    label/counts?) as an Instance; DataError names the field."""
    premise, hypothesis = text(record, "premise"), text(record, "hypothesis")
    explanations = []
    for i, item in enumerate(record.get("explanations") or []):
        name = f"explanations[{i}]"
        if isinstance(item, str):
            explanations.append(Explanation(item))
        elif isinstance(item, Mapping) and isinstance(item.get("text"), str):
            given = item.get("label")
            explanations.append(
                Explanation(item["text"], None if given is None else label(given, name))
            )
        else:
            raise DataError("expected a string or {text, label}", field=name)
    if isinstance(record.get("human"), Mapping):  # the layout Instance.to_json writes
        human: Judgment | None = judgment_object(record["human"], "human")
    elif any(record.get(n) is not None for n in PROB_FIELDS + COUNT_FIELDS):
        human = generic_judgment(record)
    else:
        human = None
    references = record.get("references") or {}
    if not isinstance(references, Mapping):
        raise DataError("expected a mapping of name to {probs|counts}", field="references")
    gold = record.get("gold_label")
    return Instance(
        id=generic_id(record) or text_id(premise, hypothesis),
        premise=premise,
        hypothesis=hypothesis,
        explanations=tuple(explanations),
        human=human,
        references={
            str(name): judgment_object(value, f"references.{name}")
            for name, value in references.items()
        },
        gold_label=None if gold is None else label(gold, "gold_label"),
    )


def judgment_object(value: Any, field_name: str) -> Judgment:
    """{"counts": [...]} or {"probs": [...]}, as Judgment.to_json writes them."""
    if not isinstance(value, Mapping):
        raise DataError("expected {probs: [...]} or {counts: [...]}", field=field_name)
    if value.get("counts") is not None:
        return Judgment.from_counts(value["counts"], f"{field_name}.counts")
    if value.get("probs") is not None:
        return Judgment.from_probs(value["probs"], f"{field_name}.probs")
    raise DataError("expected {probs: [...]} or {counts: [...]}", field=field_name)
