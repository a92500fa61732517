"""Pairing the rows of two distribution files, by id or by position."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from shared.datasets.readers import DistributionSet
from shared.errors import DataError


def id_mismatch(
    human_ids: Sequence[str], model_ids: Sequence[str], human_source: object, model_source: object
) -> str | None:
    """How two files' ids differ (counts and examples each way), or None when they agree."""
    human_set, model_set = set(human_ids), set(model_ids)
    if human_set == model_set:
        return None
    only_human = [i for i in human_ids if i not in model_set]
    only_model = [i for i in model_ids if i not in human_set]
    parts = []
    if only_human:
        parts.append(f"{len(only_human)} id(s) missing from {model_source}: {_preview(only_human)}")
    if only_model:
        parts.append(f"{len(only_model)} id(s) not in {human_source}: {_preview(only_model)}")
    return "; ".join(parts)


def align(
    human: DistributionSet, model: DistributionSet, *, subset: bool = False
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Pair rows by id when both files identify their rows, else by position. Ids must
    match, or with ``subset`` the rows of the ids both files share are paired (the caller
    says so: :func:`id_mismatch`)."""
    if human.ids_from_data and model.ids_from_data:
        mismatch = id_mismatch(human.ids, model.ids, human.source, model.source)
        order = {item_id: i for i, item_id in enumerate(model.ids)}
        shared = [r for r, item_id in enumerate(human.ids) if item_id in order]
        if mismatch and not (subset and shared):
            raise DataError("ids do not match; " + mismatch, field="id")
        ids = [human.ids[r] for r in shared]
        return ids, human.probs[shared], model.probs[[order[i] for i in ids]]
    if len(human) != len(model):
        raise DataError(
            f"row counts differ: {human.source} has {len(human)} rows, "
            f"{model.source} has {len(model)}"
        )
    return human.ids, human.probs, model.probs


def _preview(ids: list[str], limit: int = 3) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" (and {len(ids) - limit} more)" if len(ids) > limit else "")
