"""``varierr``: VariErr NLI (JSON lines or a JSON array)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.datasets.records import text
from shared.errors import DataError
from shared.labels import LABELS, Label
from shared.schemas import Explanation, Instance, Judgment, text_id

#: VariErr explanations are grouped in this label order, then by annotator: the order of the
#: MJD-Estimator explained file, whose prompts the paper's figures come from.
VARIERR_EXPLANATION_ORDER = (Label.ENTAILMENT, Label.CONTRADICTION, Label.NEUTRAL)


def parse_varierr(record: Any) -> Instance:
    premise, hypothesis = text(record, "context"), text(record, "statement")
    entries: list[tuple[int, int, Explanation]] = []
    counts = [0, 0, 0]
    for label in LABELS:
        items = record.get(label.value) or []
        if not isinstance(items, list):
            raise DataError("expected a list of explanations", field=label.value)
        for i, item in enumerate(items):
            reason = text(item, "reason") if isinstance(item, Mapping) else None
            if reason is None:
                raise DataError("expected {annotator, reason, ...}", field=f"{label.value}[{i}]")
            annotator = item.get("annotator", i)
            group = VARIERR_EXPLANATION_ORDER.index(label)
            entries.append((group, int(annotator), Explanation(reason, label)))
            counts[label.index] += 1
    entries.sort(key=lambda entry: entry[:2])
    chaos = record.get("chaosnli_labels")
    return Instance.nli(
        id=str(record.get("id") or text_id(premise, hypothesis)),
        premise=premise,
        hypothesis=hypothesis,
        explanations=tuple(entry[2] for entry in entries),
        human=None if chaos is None else Judgment.from_counts(chaos, "chaosnli_labels"),
        references={"varierr": Judgment.from_counts(counts, "varierr explanations")}
        if any(counts)
        else {},
    )
