"""Reference predictors that every MJD should beat (rows of the paper's Table 1)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from shared.labels import NUM_LABELS
from shared.metrics import MetricReport, evaluate
from shared.schemas import Instance, Judgment


def _uniform(instance: Instance) -> Judgment | None:
    return Judgment(probs=(1 / NUM_LABELS,) * NUM_LABELS)  # type: ignore[arg-type]


def _gold_one_hot(instance: Instance) -> Judgment | None:
    return None if instance.gold_label is None else Judgment.one_hot(instance.gold_label)


def _reference(name: str) -> Callable[[Instance], Judgment | None]:
    return lambda instance: instance.references.get(name)


#: name -> (what it is, how to get it from an instance); order as in the paper.
BASELINES: dict[str, tuple[str, Callable[[Instance], Judgment | None]]] = {
    "uniform": ("1/3 for each label", _uniform),
    "mnli-one-hot": ("the MNLI gold label as a one-hot distribution", _gold_one_hot),
    "mnli-distribution": ("the 5 MNLI annotators' label distribution", _reference("mnli")),
    "varierr-distribution": ("the VariErr experts' label distribution", _reference("varierr")),
}


def baseline_distributions(instances: Sequence[Instance]) -> dict[str, np.ndarray]:
    """The baselines that every instance supports, as N x 3 arrays."""
    out = {}
    for name, (_, get) in BASELINES.items():
        judgments = [get(instance) for instance in instances]
        if all(j is not None for j in judgments):
            out[name] = np.array([j.probs for j in judgments], dtype=np.float64)  # type: ignore[union-attr]
    return out


def evaluate_baselines(
    instances: Sequence[Instance], **evaluate_options: int
) -> dict[str, MetricReport]:
    """Score each available baseline against the instances' human distributions."""
    missing = next((i.id for i in instances if i.human is None), None)
    if missing is not None:
        raise ValueError(f"instance {missing!r} has no human distribution to compare with")
    human = np.array([i.human.probs for i in instances], dtype=np.float64)  # type: ignore[union-attr]
    return {
        name: evaluate(human, model, **evaluate_options)
        for name, model in baseline_distributions(instances).items()
    }
