"""Distillation: fit the student to soft targets (MJDs or HJDs) with soft-label
cross-entropy, keep the epoch that scores best on a dev set (ties to the lower dev KL),
report the full metric suite and warn when the dev set is too small to trust.

Pure functions over in-memory data; the Celery task and ``mjd train`` are adapters.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from services.trainer.student import Student, load_base, task_record
from shared.dcorr import distance_correlation
from shared.encoding import encode_rows
from shared.metrics import MetricReport, evaluate, kl_divergence
from shared.tasks import NLI, Task
from shared.training import SoftLabelled, TrainSpec, dev_set_warnings, is_better_epoch

log = logging.getLogger(__name__)


@dataclass(slots=True)
class TrainResult:
    student: Student
    tokenizer: Any
    base_model: str
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    dev_report: MetricReport | None = None
    seconds: float = 0.0
    #: what the user should know before trusting the result (e.g. a tiny dev set)
    warnings: list[str] = field(default_factory=list)

    def info(self, spec: TrainSpec, training_data: dict[str, Any]) -> dict[str, Any]:
        """What a model version records about its training (its metadata, less the export)."""
        return {
            **task_record(self.student.task),
            "base_model": self.base_model,
            "training_data": training_data,
            "spec": asdict(spec),
            "training": {
                "history": self.history,
                "best_epoch": self.best_epoch,
                "dev": self.dev_report.to_json() if self.dev_report else None,
                "seconds": self.seconds,
                "warnings": self.warnings,
            },
        }


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of -sum_c target_c log softmax(logits)_c."""
    return -(targets * torch.log_softmax(logits, dim=-1)).sum(dim=-1).mean()


def _tensors(student: Student, tokenizer: Any, rows: Sequence[Sequence[str]]) -> list:
    encoded = encode_rows(tokenizer, rows, student.input_names)
    return [torch.from_numpy(encoded.arrays[name]) for name in student.input_names]


@torch.inference_mode()
def predict_probabilities(
    student: Student, tokenizer: Any, rows: Sequence[Sequence[str]], batch_size: int = 64
) -> np.ndarray:
    """Distributions [n, K] for rows of the student's task's input texts."""
    student.eval()
    batches = [
        torch.softmax(student(*_tensors(student, tokenizer, rows[i : i + batch_size])), -1)
        for i in range(0, len(rows), batch_size)
    ]
    return torch.cat(batches).double().numpy()


def evaluate_on(task: Task, targets: np.ndarray, predicted: np.ndarray) -> MetricReport:
    """The metric suite for ``task`` (its labels; Manhattan and Wasserstein when ordinal)."""
    return evaluate(
        targets, predicted, labels=list(task.label_names), ordinal=task.ordinal, resamples=0
    )


def dev_score(metric: str, human: np.ndarray, model: np.ndarray) -> float:
    """Early-stopping score, higher is better (KL is negated)."""
    if metric == "kl":
        return -float(kl_divergence(human, model).mean())
    return distance_correlation(human, model).value


@dataclass(slots=True)
class _Optimisation:
    """AdamW with linear warmup then linear decay to zero over every planned step."""

    optimizer: torch.optim.Optimizer
    schedule: torch.optim.lr_scheduler.LRScheduler
    total_steps: int


def _optimisation(student: Student, spec: TrainSpec, items: int) -> _Optimisation:
    optimizer = torch.optim.AdamW(
        student.parameters(), lr=spec.learning_rate, weight_decay=spec.weight_decay
    )
    total = math.ceil(items / spec.batch_size) * spec.epochs
    warmup = max(1, round(spec.warmup_fraction * total))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: min((step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup))),
    )
    return _Optimisation(optimizer, schedule, total)


def _train_epoch(
    student: Student,
    tokenizer: Any,
    data: SoftLabelled,
    order: np.ndarray,
    spec: TrainSpec,
    optimisation: _Optimisation,
    step: int,
    progress: Callable[[int, int], None] | None,
) -> tuple[float, int]:
    """One pass over ``data`` in ``order``: the mean training loss and the step reached."""
    student.train()
    losses = []
    for start in range(0, len(data), spec.batch_size):
        batch = data.take(order[start : start + spec.batch_size])
        logits = student(*_tensors(student, tokenizer, batch.rows))
        loss = soft_cross_entropy(logits, torch.from_numpy(batch.targets).float())
        optimisation.optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
        optimisation.optimizer.step()
        optimisation.schedule.step()
        losses.append(loss.item())
        step += 1
        if progress:
            progress(step, optimisation.total_steps)
    return float(np.mean(losses)), step


@dataclass(slots=True)
class _BestEpoch:
    """The best dev epoch so far (its weights kept) and how many epochs since it."""

    score: float = -math.inf
    kl: float = math.inf
    epoch: int = 0
    state: dict[str, torch.Tensor] | None = None
    stale: int = 0

    def update(self, epoch: int, score: float, kl: float, student: Student) -> None:
        if is_better_epoch(score, kl, self.score, self.kl):
            self.score, self.kl, self.stale, self.epoch = score, kl, 0, epoch
            self.state = {k: v.detach().clone() for k, v in student.state_dict().items()}
        else:
            self.stale += 1


def train(
    data: SoftLabelled,
    dev: SoftLabelled,
    spec: TrainSpec,
    progress: Callable[[int, int], None] | None = None,
    task: Task = NLI,
) -> TrainResult:
    """Train a student for ``task`` (its labels are the head's outputs, its input fields the
    texts of a row) from the base model; returns it restored to its best dev epoch."""
    started = time.monotonic()
    data, dev = data.for_task(task), dev.for_task(task)
    torch.manual_seed(spec.seed)
    rng = np.random.default_rng(spec.seed)
    student, tokenizer, base_name = load_base(spec.base_model, spec.max_length, task)
    optimisation = _optimisation(student, spec, len(data))
    result = TrainResult(student, tokenizer, base_name, warnings=dev_set_warnings(len(dev)))
    for warning in result.warnings:
        log.warning(warning)
    best, step = _BestEpoch(), 0
    for epoch in range(1, spec.epochs + 1):
        order = rng.permutation(len(data))
        train_loss, step = _train_epoch(
            student, tokenizer, data, order, spec, optimisation, step, progress
        )
        predicted = predict_probabilities(student, tokenizer, dev.rows)
        score = dev_score(spec.early_stopping, dev.targets, predicted)
        kl = float(kl_divergence(dev.targets, predicted).mean())
        result.history.append(
            {
                "epoch": epoch,
                "train_loss": train_loss,
                "dev_kl": kl,
                f"dev_{spec.early_stopping}_score": score,
            }
        )
        best.update(epoch, score, kl, student)
        if best.stale >= spec.patience:
            break
    if progress:
        total = optimisation.total_steps
        progress(total, total)  # early stopping may end before the planned steps
    result.best_epoch = best.epoch
    if best.state is not None:
        student.load_state_dict(best.state)
    student.eval()
    result.dev_report = evaluate_on(
        task, dev.targets, predict_probabilities(student, tokenizer, dev.rows)
    )
    result.seconds = time.monotonic() - started
    return result
