"""The MJD engine: score every planned prompt with a backend and aggregate per item.

Plain Python with no Celery inside; the worker and the CLI are thin adapters around
:func:`generate`. What a run is and which prompts it makes live in :mod:`shared.method`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np

from shared.method.prompts import Letters
from shared.method.runs import (
    MJDRecord,
    RunSpec,
    aggregate,
    explanation_orders,
    prompt_groups,
    to_label_logits,
)
from shared.schemas import Instance
from shared.tasks import NLI, Task, option_orders


@dataclass(frozen=True, slots=True)
class LetterScores:
    """What a backend returns for a group of prompts (one row per prompt).

    ``logits``: the logits of the option letters A, B, C, ... (each the log-sum-exp over
    the spellings the run counts, see :data:`shared.method.prompts.Letters`); ``mass``: the
    probability
    those counted letter tokens hold among all next tokens; ``missing``: for remote backends,
    the probability they do not cover (letters absent from top_logprobs count as 0), else
    None.
    """

    logits: np.ndarray
    mass: np.ndarray
    missing: np.ndarray | None = None


def split_into_groups(
    groups: Sequence[Sequence[Any]],
    logits: np.ndarray,
    mass: np.ndarray,
    missing: np.ndarray | None = None,
) -> list[LetterScores]:
    """Cut per-prompt rows (prompts of all groups, in order) back into one LetterScores
    per group."""
    out, start = [], 0
    for group in groups:
        rows = slice(start, start + len(group))
        out.append(
            LetterScores(logits[rows], mass[rows], None if missing is None else missing[rows])
        )
        start += len(group)
    return out


#: Prompts handed to the backend at once (whole items): enough for a few full-size model calls,
#: few enough that progress, cancelling and checkpoints follow within seconds.
PROMPTS_PER_CALL = 96


def _whole_items(
    plans: Sequence[tuple[Instance, list[Any]]], prompts_per_call: int, per_order: int
) -> Iterator[Sequence[tuple[Instance, list[Any]]]]:
    """Consecutive runs of plans with at most ``prompts_per_call`` prompts (one item more
    when a single item has more); ``per_order`` prompts per explanation order."""
    start = size = 0
    for end, (_, orders) in enumerate(plans):
        prompts = len(orders) * per_order
        if end > start and size + prompts > prompts_per_call:
            yield plans[start:end]
            start, size = end, 0
        size += prompts
    if start < len(plans):
        yield plans[start:]


class Backend(Protocol):
    name: str
    model_id: str

    def score_groups(
        self, groups: Sequence[Sequence[str]], letters: Letters, options: Sequence[str]
    ) -> list[LetterScores]:
        """Score groups of user messages (messages of a group share a long prefix), counting
        the ``letters`` spellings of each of the option letters ``options`` (A, B, C, ...)."""
        ...


def generate(
    instances: Sequence[Instance],
    backend: Backend,
    spec: RunSpec,
    *,
    task: Task = NLI,
    prompts_per_call: int = PROMPTS_PER_CALL,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[MJDRecord]:
    """Yield one MJDRecord per instance of ``task``, in input order. ``progress(done,
    total)`` counts prompts. All items are planned (and checked) before the first prompt is
    scored; the backend gets whole items, as many as fit in ``prompts_per_call`` (at least
    one)."""
    spec = spec.for_task(task)
    orders_of_options = option_orders(task, spec.seed)
    per_order = len(orders_of_options)
    plans = [(instance, explanation_orders(instance, spec)) for instance in instances]
    total = sum(len(orders) * per_order for _, orders in plans)
    run = {**asdict(spec), "backend": backend.name, "model": backend.model_id}
    described = {
        "task": task.ref,
        "labels": list(task.label_names),
        "option_policy": task.policy,
        "option_orders": [list(order) for order in orders_of_options],
    }
    done = 0
    if progress is not None:
        progress(done, total)
    for chunk in _whole_items(plans, prompts_per_call, per_order):
        groups = [prompt_groups(instance, orders, spec, task) for instance, orders in chunk]
        flat = [g for item in groups for g in item]
        scores = iter(backend.score_groups(flat, spec.letters, task.letters))
        for (instance, orders), item_groups in zip(chunk, groups, strict=True):
            item_scores = [next(scores) for _ in item_groups]
            label_logits = np.stack(
                [to_label_logits(s.logits, task, spec.seed) for s in item_scores]
            )
            missing = [s.missing.tolist() for s in item_scores if s.missing is not None]
            yield MJDRecord(
                id=instance.id,
                distribution=aggregate(label_logits, spec).tolist(),
                label_logits=label_logits.tolist(),
                letter_mass=[s.mass.tolist() for s in item_scores],
                explanation_orders=[list(order) for order in orders],
                missing_mass=missing or None,
                spec=run,
                **described,
            )
            done += len(item_groups) * per_order
        if progress is not None:
            progress(done, total)
