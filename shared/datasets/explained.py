"""``explained``: the 341 ChaosNLI-MNLI items with VariErr explanations (MJD-Estimator)."""

from __future__ import annotations

from typing import Any

from shared.datasets.records import comment_pairs, label, require, text
from shared.errors import DataError
from shared.schemas import Instance, Judgment, text_id


def parse_explained(record: Any) -> Instance:
    premise, hypothesis = text(record, "premise"), text(record, "hypothesis")
    mnli = require(record, "mnli labels")
    if not isinstance(mnli, list) or len(mnli) != 2:
        raise DataError("expected [gold letter, [E, N, C] counts]", field="mnli labels")
    return Instance.nli(
        id=str(record.get("id") or text_id(premise, hypothesis)),
        premise=premise,
        hypothesis=hypothesis,
        explanations=comment_pairs(record, "comments"),
        human=Judgment.from_probs(require(record, "chaos probs"), "chaos probs"),
        references={
            "mnli": Judgment.from_counts(mnli[1], "mnli labels"),
            "varierr": Judgment.from_counts(require(record, "varierr labels"), "varierr labels"),
        },
        gold_label=label(mnli[0], "mnli labels"),
    )
