"""``lewidi``: the LeWiDi 2023/2025 shape, a JSON object mapping item ids to items with
``annotation task``, ``text``, ``annotators``, ``annotations``, ``soft_label`` and
``other_info``, in all its variants: ``text`` a string, a JSON-encoded object or an object;
``annotations`` a comma-separated string or an object of annotator to label(s); soft-label
keys such as "0.0"; VariErrNLI's per-label binary soft labels.

The task comes from ``annotation task`` or, failing that, from the soft-label keys (or is
given). Soft labels rounded to 2 decimals are renormalised; the reader counts how many.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from shared.datasets.records import RowParser, json_document, require
from shared.errors import DataError
from shared.schemas import SUM_TOLERANCE, Explanation, Instance, Judgment
from shared.tasks import Task

#: how far from 1 a rounded soft label may sum and still be renormalised (2-decimal rounding
#: of 11 labels is off by at most 0.055)
ROUNDING_TOLERANCE = 0.06


def lewidi_items(path: Path) -> Iterator[tuple[int, tuple[str, Any]]]:
    """The (id, item) pairs of the file's mapping, numbered from 1."""
    document = json_document(path)
    if not isinstance(document, Mapping):
        raise DataError("expected a JSON object mapping ids to items", source=str(path))
    yield from enumerate(document.items(), start=1)


def lewidi_task(path: Path, tasks: Iterable[Task]) -> Task:
    """The task of a LeWiDi file: its first item's ``annotation task``, else the task whose
    labels are its soft-label keys."""
    document = json_document(path)
    first = next(iter(document.values()), None) if isinstance(document, Mapping) else None
    if not isinstance(first, Mapping):
        raise DataError("expected a JSON object mapping ids to items", source=str(path))
    known = list(tasks)
    named = str(first.get("annotation task", "")).strip().lower()
    for task in known:
        if named and named in (n.lower() for n in task.lewidi_names):
            return task
    keys = first.get("soft_label")
    for task in known:
        if isinstance(keys, Mapping) and _fits(task, keys):
            return task
    raise DataError(
        f"no known task for annotation task {named!r} with soft-label keys "
        f"{sorted(keys) if isinstance(keys, Mapping) else keys!r}; give one with --task",
        source=str(path),
        row=1,
        field="annotation task",
    )


def _fits(task: Task, keys: Iterable[str]) -> bool:
    try:
        return sorted(task.index(key) for key in keys) == list(range(len(task.labels)))
    except DataError:
        return False


def soft_label_probs(soft_label: Any, task: Task) -> tuple[list[float], bool]:
    """The distribution in the task's label order, and whether it was rounded and had to be
    renormalised.

    VariErrNLI writes per-label binary shares {label: {"0": p, "1": q}}: q, the share of
    annotators who found the label valid, normalised over the labels (shares need not sum
    to 1, so these always are). Plain {label: p} keys may be spelt as floats ("1.0")."""
    if not isinstance(soft_label, Mapping) or not soft_label:
        raise DataError("expected a mapping of label to probability", field="soft_label")
    shares = [0.0] * len(task.labels)
    seen: dict[int, str] = {}
    binary = False
    for key, value in soft_label.items():
        try:
            column = task.index(str(key))
        except DataError as exc:
            raise DataError(exc.message, field=f"soft_label.{key}") from None
        if column in seen:  # "1" and "1.0" are one label
            raise DataError(f"the same label as key {seen[column]!r}", field=f"soft_label.{key}")
        seen[column] = str(key)
        if isinstance(value, Mapping):
            binary = True
            value = value.get("1", value.get("1.0", 0.0))
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not 0 <= value < float("inf")
        ):
            raise DataError(f"bad probability {value!r}", field=f"soft_label.{key}")
        shares[column] = float(value)
    total = sum(shares)
    if not total > 0:
        raise DataError("no label has a positive share", field="soft_label")
    off = abs(total - 1.0)
    if not binary and off > ROUNDING_TOLERANCE:
        raise DataError(f"probabilities sum to {total:.4g}, not 1", field="soft_label")
    return [share / total for share in shares], not binary and off > SUM_TOLERANCE


def item_inputs(value: Any, task: Task) -> dict[str, str]:
    """The task's inputs from ``text``: an object of fields, a JSON-encoded one, or (for a
    task with one input) the text itself."""
    if isinstance(value, str) and len(task.inputs) > 1:
        try:
            value = json.loads(value)
        except ValueError:
            raise DataError(
                f"task {task.name!r} has {len(task.inputs)} inputs "
                f"({', '.join(task.input_names)}); expected an object of them",
                field="text",
            ) from None
    if isinstance(value, str):
        value = _encoded_fields(value, task) or {task.inputs[0].name: value}
    if not isinstance(value, Mapping):
        raise DataError("expected a string or an object of input fields", field="text")
    inputs = {}
    for field in task.inputs:
        name = next((n for n in (field.name, *field.aliases) if value.get(n) is not None), None)
        if name is None:
            raise DataError(f"missing input {field.name!r}", field=f"text.{field.name}")
        text = value[name]
        if not isinstance(text, str) or not text.strip():
            raise DataError("must be a non-empty string", field=f"text.{name}")
        inputs[field.name] = text
    return inputs


def _encoded_fields(value: str, task: Task) -> Mapping[str, Any] | None:
    """A one-input task's text given as a JSON-encoded object holding its field, else None
    (the text is then the input itself)."""
    if not value.lstrip().startswith("{"):
        return None
    try:
        decoded = json.loads(value)
    except ValueError:
        return None
    field = task.inputs[0]
    names = (field.name, *field.aliases)
    found = isinstance(decoded, Mapping) and any(decoded.get(n) is not None for n in names)
    return decoded if found else None


def annotator_labels(record: Mapping[str, Any], task: Task) -> list[str | None]:
    """Each entry of ``annotators`` with the label that entry gave (None where unknown): an
    annotator listed twice gave two labels ("entailment,neutral"), taken in turn."""
    annotators = [a.strip() for a in str(record.get("annotators") or "").split(",") if a.strip()]
    given = record.get("annotations")
    if isinstance(given, str):
        labels: list[str] = [a.strip() for a in given.split(",")]
        queues = (
            {i: [label] for i, label in enumerate(labels)} if len(labels) == len(annotators) else {}
        )
        keys: list[Any] = list(range(len(annotators)))
    elif isinstance(given, Mapping):
        queues = {k: [s.strip() for s in str(v).split(",")] for k, v in given.items()}
        # without ``annotators``: each annotator's labels in the mapping's order
        keys = annotators or [k for k, queue in queues.items() for _ in queue]
    else:
        return [None] * len(annotators)
    out: list[str | None] = []
    for key in keys:
        queue = queues.get(key) or []
        label = queue.pop(0) if queue else None
        try:
            out.append(None if label is None else task.parse_label(label))
        except DataError:
            out.append(None)
    return out


class LewidiParser(RowParser):
    """One LeWiDi item as an Instance of ``task``; counts the soft labels it renormalised."""

    def __init__(self, task: Task) -> None:
        self.task = task
        self.renormalised = 0

    def parse(self, record: Any, index: int) -> Instance:
        item_id, item = record
        inputs = item_inputs(require(item, "text"), self.task)
        probs, renormalised = soft_label_probs(require(item, "soft_label"), self.task)
        self.renormalised += renormalised
        other = item.get("other_info")
        texts = other.get("explanations") if isinstance(other, Mapping) else None
        explanations: tuple[Explanation, ...] = ()
        if isinstance(texts, list):
            labels = annotator_labels(item, self.task)
            labels += [None] * (len(texts) - len(labels))
            explanations = tuple(
                Explanation(str(t).strip(), label)
                for t, label in zip(texts, labels, strict=False)
                if str(t).strip()
            )
        gold = item.get("hard_label")
        return Instance(
            id=str(item_id),
            inputs=inputs,
            explanations=explanations,
            human=Judgment.from_probs(probs, "soft_label", self.task),
            gold_label=None if gold is None else _gold(self.task, gold),
        )


def _gold(task: Task, value: Any) -> str:
    try:
        return task.parse_label(str(value))
    except DataError as exc:
        raise DataError(exc.message, field="hard_label") from None
