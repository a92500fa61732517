"""``chaosnli``: ChaosNLI jsonl (``label_counter``/``label_dist`` with ``example``) or the
MJD-Estimator style ``{premise, hypothesis, label: [pE, pN, pC]}``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.datasets.records import label, require, text
from shared.schemas import Instance, Judgment, text_id


def parse_chaosnli(record: Any) -> Instance:
    example = record.get("example") if isinstance(record, Mapping) else None
    source = example if isinstance(example, Mapping) else record
    premise, hypothesis = text(source, "premise"), text(source, "hypothesis")
    if "label_counter" in record:
        human = Judgment.from_counts(record["label_counter"], "label_counter")
    elif "label_dist" in record:
        human = Judgment.from_probs(record["label_dist"], "label_dist")
    else:
        human = Judgment.from_probs(require(record, "label"), "label")
    gold = record.get("old_label")
    return Instance.nli(
        id=str(record.get("uid") or source.get("uid") or text_id(premise, hypothesis)),
        premise=premise,
        hypothesis=hypothesis,
        human=human,
        gold_label=None if gold is None else label(gold, "old_label"),
    )
