"""MJD files as ``mjd generate`` writes them, for the CLI commands that read them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def write_mjd(path: Path, ids: list[str], logits: list[np.ndarray]) -> Path:
    """Records as ``mjd generate`` writes them (label logits [orders][option orders][3])."""
    from shared.method.aggregation import softmax_aggregate

    path.write_text(
        "".join(
            json.dumps(
                {
                    "id": i,
                    "distribution": softmax_aggregate(x, 1.0).tolist(),
                    "label_logits": x.tolist(),
                    "letter_mass": [[1.0] * x.shape[1]],
                    "explanation_orders": [[]],
                    "missing_mass": None,
                    "spec": {"k": 0},
                }
            )
            + "\n"
            for i, x in zip(ids, logits, strict=True)
        )
    )
    return path
