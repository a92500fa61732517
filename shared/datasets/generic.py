"""``jsonl``: generic rows with ``id`` (optional), the task's inputs by field name (NLI:
``premise``/``hypothesis``; optional for distribution-only files) and probabilities or
counts in the task's label order (or keyed by label); CSV rows become the same records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.datasets.records import text
from shared.errors import DataError
from shared.schemas import Explanation, Instance, Judgment, text_id
from shared.tasks import NLI, Task

PROB_FIELDS = ("distribution", "probs", "label", "soft_label")
COUNT_FIELDS = ("counts",)


def generic_judgment(record: Mapping[str, Any], task: Task = NLI) -> Judgment:
    for name in PROB_FIELDS:
        if record.get(name) is not None:
            return Judgment.from_probs(record[name], name, task)
    for name in COUNT_FIELDS:
        if record.get(name) is not None:
            return Judgment.from_counts(record[name], name, task)
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


def task_label(value: Any, field_name: str, task: Task) -> str:
    """A label of ``task`` by any of its spellings, as its name; DataError naming the field."""
    if not isinstance(value, str):
        raise DataError(f"expected a label string, got {value!r}", field=field_name)
    try:
        return task.parse_label(value)
    except DataError as exc:
        raise DataError(exc.message, field=field_name) from None


def task_inputs(record: Any, task: Task) -> dict[str, str]:
    """The task's inputs of one record, each under its name or one of its aliases."""
    if not isinstance(record, Mapping):
        raise DataError(f"expected a JSON object, got {type(record).__name__}")
    inputs = {}
    for field in task.inputs:
        name = next((n for n in field.aliases if record.get(n) is not None), field.name)
        inputs[field.name] = text(record, name)
    return inputs


def instance_from_record(record: Any, task: Task = NLI) -> Instance:
    """One generic JSON record (id?, the task's inputs, explanations?, distribution/probs/
    label/counts?) as an Instance of ``task``; DataError names the field."""
    inputs = task_inputs(record, task)
    explanations = []
    for i, item in enumerate(record.get("explanations") or []):
        name = f"explanations[{i}]"
        if isinstance(item, str):
            explanations.append(Explanation(item))
        elif isinstance(item, Mapping) and isinstance(item.get("text"), str):
            given = item.get("label")
            explanations.append(
                Explanation(item["text"], None if given is None else _label(given, name, task))
            )
        else:
            raise DataError("expected a string or {text, label}", field=name)
    if isinstance(record.get("human"), Mapping):  # the layout Instance.to_json writes
        human: Judgment | None = judgment_object(record["human"], "human", task)
    elif any(record.get(n) is not None for n in PROB_FIELDS + COUNT_FIELDS):
        human = generic_judgment(record, task)
    else:
        human = None
    references = record.get("references") or {}
    if not isinstance(references, Mapping):
        raise DataError("expected a mapping of name to {probs|counts}", field="references")
    gold = record.get("gold_label")
    return Instance(
        id=generic_id(record) or text_id(*inputs.values()),
        inputs=inputs,
        explanations=tuple(explanations),
        human=human,
        references={
            str(name): judgment_object(value, f"references.{name}", task)
            for name, value in references.items()
        },
        gold_label=None if gold is None else _label(gold, "gold_label", task),
    )


def _label(value: Any, field_name: str, task: Task) -> str:
    """NLI labels stay :class:`shared.labels.Label` members (their names, as str)."""
    name = task_label(value, field_name, task)
    if task == NLI:
        from shared.labels import Label

        return Label(name)
    return name


def judgment_object(value: Any, field_name: str, task: Task = NLI) -> Judgment:
    """{"counts": [...]} or {"probs": [...]}, as Judgment.to_json writes them."""
    if not isinstance(value, Mapping):
        raise DataError("expected {probs: [...]} or {counts: [...]}", field=field_name)
    if value.get("counts") is not None:
        return Judgment.from_counts(value["counts"], f"{field_name}.counts", task)
    if value.get("probs") is not None:
        return Judgment.from_probs(value["probs"], f"{field_name}.probs", task)
    raise DataError("expected {probs: [...]} or {counts: [...]}", field=field_name)
