"""Three tiny real students for the any-task serving tests (issue 22, section 6): NLI (3
labels, premise/hypothesis pairs), md-agreement (2 labels, one text) and paraphrase (11
ordinal labels, question pairs), each trained through ``mjd train`` on 8 items for one epoch
and exported with ``mjd export`` (fp32 only). The data are small files written here in the
generic JSON lines layout (no LeWiDi file is copied)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

#: task name -> (its input fields, label count)
TASKS = {
    "nli": (("premise", "hypothesis"), 3),
    "md-agreement": (("text",), 2),
    "paraphrase": (("Question1", "Question2"), 11),
}
WORDS = ["a man", "the dog", "two kids", "the city", "a question", "some rain", "the law"]

_built: dict[Path, dict[str, Path]] = {}


def instance(task: str, index: int) -> dict[str, str]:
    """An instance of ``task`` as /v1/predict takes it (its input fields by name)."""
    fields, _ = TASKS[task]
    return {
        name: f"{WORDS[(index + n) % len(WORDS)]} {name.lower()} number {index} is here."
        for n, name in enumerate(fields)
    }


def write_items(task: str, path: Path, count: int = 8, seed: int = 0) -> Path:
    """``count`` items of ``task`` with random human distributions, as JSON lines."""
    _, k = TASKS[task]
    rng = np.random.default_rng(seed)
    rows = []
    for index in range(count):
        probs = rng.dirichlet(np.ones(k)).round(6)
        probs[-1] = 1 - probs[:-1].sum()
        rows.append(
            {"id": f"{task}-{index}", **instance(task, index), "human": {"probs": probs.tolist()}}
        )
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def students(root: Path) -> dict[str, Path]:
    """task name -> an exported model folder (``mjd export --out``), built once per root."""
    from services.cli import main

    if root in _built:
        return _built[root]
    folders = {}
    for task in TASKS:
        data = write_items(task, root / f"{task}.jsonl")
        checkpoint, model = root / f"{task}-checkpoint", root / f"{task}-model"
        assert main(["train", "--data", str(data), "--task", task, "--epochs", "1",
                     "--dev-fraction", "0.25", "--max-length", "32", "--learning-rate", "1e-4",
                     "--out", str(checkpoint)]) == 0  # fmt: skip
        check = [] if task != "nli" else ["--check", str(data)]
        assert main(["export", str(checkpoint), "--out", str(model), "--no-int8", *check]) == 0
        folders[task] = model
    _built[root] = folders
    return folders


def publish_all(registry: Any, folders: dict[str, Path], promote: bool = True) -> dict[str, str]:
    """Publish a copy of each student (and promote each for its own task): task -> version."""
    from tests.conftest import publish_copy

    versions = {task: publish_copy(registry, folder) for task, folder in folders.items()}
    if promote:
        for version in versions.values():
            registry.promote(version)
    return versions
