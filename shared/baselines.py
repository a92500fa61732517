"""Reference predictors that every MJD should beat: for any task the uniform distribution and
the prior (the mean human distribution of a training set, or in-sample of the data scored);
for NLI also the rows of the paper's Table 1 (MNLI's gold label and annotators, VariErr's
experts). Scored with the task's labels (and, for an ordinal task, Wasserstein)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from shared.metrics import MetricReport, evaluate
from shared.schemas import Instance, Judgment
from shared.tasks import NLI, Task


def _gold_one_hot(instance: Instance) -> Judgment | None:
    return None if instance.gold_label is None else Judgment.one_hot(instance.gold_label)


def _reference(name: str) -> Callable[[Instance], Judgment | None]:
    return lambda instance: instance.references.get(name)


#: NLI's reference rows beside uniform: name -> (what it is, how to get it from an
#: instance); order as in the paper
NLI_REFERENCES: dict[str, tuple[str, Callable[[Instance], Judgment | None]]] = {
    "mnli-one-hot": ("the MNLI gold label as a one-hot distribution", _gold_one_hot),
    "mnli-distribution": ("the 5 MNLI annotators' label distribution", _reference("mnli")),
    "varierr-distribution": ("the VariErr experts' label distribution", _reference("varierr")),
}

#: the rows of the paper's Table 1, in its order (uniform and NLI's references)
BASELINES: tuple[str, ...] = ("uniform", *NLI_REFERENCES)


@dataclass(frozen=True, slots=True)
class Baseline:
    """One reference row: its name, what it is, and its N x K distributions."""

    name: str
    description: str
    probs: np.ndarray


def human_matrix(instances: Sequence[Instance]) -> np.ndarray:
    """The instances' human distributions, N x K; ValueError naming one without."""
    missing = next((i.id for i in instances if i.human is None), None)
    if missing is not None:
        raise ValueError(f"instance {missing!r} has no human distribution to compare with")
    return np.array([i.human.probs for i in instances], dtype=np.float64)  # type: ignore[union-attr]


def is_nli(task: Task) -> bool:
    return task.label_names == NLI.label_names


def baselines_for(
    instances: Sequence[Instance],
    task: Task = NLI,
    *,
    train: Sequence[Instance] | None = None,
    train_source: str = "the training set",
) -> list[Baseline]:
    """The baselines every instance supports, in order: uniform, NLI's references (NLI
    only), then the prior: the mean human distribution of ``train`` when given, else of
    ``instances`` themselves (in-sample, said in its description). NLI lists the prior only
    with ``train``, so its rows stay the paper's."""
    n, k = len(instances), len(task.labels)
    rows = []
    if "uniform" in task.baselines or is_nli(task):
        uniform = np.full((n, k), 1 / k)
        rows.append(Baseline("uniform", f"1/{k} for each label", uniform))
    if is_nli(task):
        for name, (description, get) in NLI_REFERENCES.items():
            judgments = [get(instance) for instance in instances]
            if all(j is not None for j in judgments):
                probs = np.array([j.probs for j in judgments], dtype=np.float64)  # type: ignore[union-attr]
                rows.append(Baseline(name, description, probs))
    if "prior" in task.baselines and (train is not None or not is_nli(task)):
        source = instances if train is None else train
        prior = human_matrix(source).mean(axis=0)
        where = (
            f"of {train_source} ({len(source)} items)"
            if train is not None
            else f"of these {n} items (in-sample: the data scored is its own prior; give a "
            "training set for a fair one)"
        )
        rows.append(
            Baseline("prior", f"the mean human distribution {where}", np.tile(prior, (n, 1)))
        )
    return rows


def baseline_distributions(
    instances: Sequence[Instance], task: Task = NLI
) -> dict[str, np.ndarray]:
    """The baselines that every instance supports, as N x K arrays."""
    return {row.name: row.probs for row in baselines_for(instances, task)}


def score_baselines(
    instances: Sequence[Instance], rows: Sequence[Baseline], task: Task = NLI, **options: int
) -> dict[str, MetricReport]:
    """Each row scored against the instances' human distributions, with the task's labels."""
    human = human_matrix(instances)
    return {
        row.name: evaluate(
            human, row.probs, labels=task.label_names, ordinal=task.ordinal, **options
        )
        for row in rows
    }


def evaluate_baselines(
    instances: Sequence[Instance],
    task: Task = NLI,
    *,
    train: Sequence[Instance] | None = None,
    **evaluate_options: int,
) -> dict[str, MetricReport]:
    """Score each available baseline against the instances' human distributions."""
    human_matrix(instances)  # a missing human distribution is named before anything else
    return score_baselines(
        instances, baselines_for(instances, task, train=train), task, **evaluate_options
    )
