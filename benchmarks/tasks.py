"""MJDs and students for tasks beyond NLI, on LeWiDi data (read by path, never vendored).

- Paraphrase dev (50 items, ordinal -5..+5, 4 annotators' explanations): MJDs at k = 0 and
  at k = 4 with the annotators' explanations, without and with their labels ("So I choose
  +3."), ``--max-orders`` explanation orders per item (default 6 of the 24);
- CSC dev (ordinal 1..6) and MD-Agreement dev (binary): MJDs at k = 0 on the first
  ``--items`` items (default 200 each: a run under 30 minutes on 2 cores);
- every MJD set against the uniform distribution and the training-set prior (Paraphrase:
  the mean human distribution of Paraphrase train; CSC and MD-Agreement ship no train file
  here, so their prior is the dev set's own mean, in sample: an optimistic baseline);
- two students on Paraphrase train (400 items), scored on Paraphrase dev: one distilled from
  the human soft labels, one from the LLM's MJDs (k = 4 with labels, one explanation order).

Metrics: Manhattan (LeWiDi 2025, every task), Wasserstein on the ordered scale (ordinal
tasks), KL(human || model), D.Corr. The LLM is the embedded SmolLM2-135M (fp32). A failed
item or run is counted and makes the script exit 1. Prints JSON:

    python benchmarks/tasks.py [--lewidi DIR] [--items 200] [--smoke] [--out F]

``--smoke`` (CI): 4 items per set, 1 explanation order, a 1-epoch student on 16 items.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from report import emit, machine

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_LEWIDI = ROOT.parent / "shared" / "data" / "lewidi"
FILES = {
    "paraphrase_train": "2025/Paraphrase_train.json",
    "paraphrase_dev": "2025/Paraphrase_dev.json",
    "csc_dev": "2025/CSC_dev.json",
    "md_agreement_dev": "2023/MD-Agreement_dev.json",
}


def scores(human: np.ndarray, model: np.ndarray, task: Any) -> dict[str, float | None]:
    from shared.metrics import evaluate

    report = evaluate(human, model, labels=task.label_names, ordinal=task.ordinal, resamples=0)
    headline = report.headline()
    return {
        "manhattan": headline.manhattan,
        "wasserstein": headline.wasserstein,
        "kl": headline.kl,
        "dcorr": headline.dcorr,
    }


def baselines(human: np.ndarray, prior: np.ndarray, task: Any) -> dict[str, Any]:
    k = human.shape[1]
    return {
        "uniform": scores(human, np.full_like(human, 1 / k), task),
        "prior": scores(human, np.tile(prior, (len(human), 1)), task),
    }


def mjd_runs(args: argparse.Namespace) -> dict[str, tuple[str, Any]]:
    """name -> (data set, RunSpec)."""
    from shared.method.runs import RunSpec

    orders = 1 if args.smoke else args.max_orders
    return {
        "paraphrase_k0": ("paraphrase_dev", RunSpec(k=0)),
        "paraphrase_k4": ("paraphrase_dev", RunSpec(k=4, max_orders=orders)),
        "paraphrase_k4_labels": (
            "paraphrase_dev",
            RunSpec(k=4, max_orders=orders, explicit=True),
        ),
        "csc_k0": ("csc_dev", RunSpec(k=0)),
        "md_agreement_k0": ("md_agreement_dev", RunSpec(k=0)),
    }


def generate_all(backend: Any, datasets: dict[str, Any], args: argparse.Namespace) -> dict:
    from services.generator.engine import generate

    out: dict[str, Any] = {}
    for name, (data_name, spec) in mjd_runs(args).items():
        dataset = datasets[data_name]
        human = np.array([i.human.probs for i in dataset.instances])
        started = time.perf_counter()
        try:
            records = list(generate(dataset.instances, backend, spec, task=dataset.task))
        except Exception as exc:  # counted, and the script exits 1
            out[name] = {"failed": f"{type(exc).__name__}: {exc}"}
            continue
        seconds = time.perf_counter() - started
        model = np.array([r.distribution for r in records])
        prompts = sum(len(r.explanation_orders) * len(r.option_orders) for r in records)
        out[name] = {
            "data": data_name,
            "items": len(records),
            "spec": {"k": spec.k, "explicit": spec.explicit, "max_orders": spec.max_orders},
            "option_policy": records[0].option_policy,
            "prompts_per_explanation_order": len(records[0].option_orders),
            "prompts": prompts,
            "seconds": seconds,
            "prompts_per_second": prompts / seconds,
            "mjd": scores(human, model, dataset.task),
            "mjd_temperature_cross_fitted": cross_fitted(records, human, dataset.task),
            "mean_mjd": model.mean(axis=0).round(4).tolist(),
            "mean_human": human.mean(axis=0).round(4).tolist(),
        }
    return out


def cross_fitted(records: list, human: np.ndarray, task: Any) -> dict[str, Any] | None:
    """The MJDs at a softmax temperature fitted on the other folds (5; no bias): at the
    authors' T = 20 a 135M model's MJDs sit near uniform."""
    from shared.method.calibration import cross_fit

    folds = min(5, len(records))
    if folds < 2:
        return None
    model, fits, _ = cross_fit(
        [r.logits for r in records], human, folds=folds, fit_bias=False, seed=0
    )
    return {
        **scores(human, model, task),
        "temperatures": [round(fit.temperature, 3) for fit in fits],
    }


def student_scores(
    train_set: Any, targets: np.ndarray | None, dev: Any, args: argparse.Namespace
) -> dict[str, Any]:
    """A student distilled from ``targets`` (None: the human soft labels), exported to ONNX
    and scored on ``dev`` through the served model's own predict."""
    from services.predictor import LoadedModel
    from services.trainer.export import export_student
    from services.trainer.training import train
    from shared.platform.layout import MODEL_METADATA
    from shared.training import SoftLabelled, TrainSpec

    spec = TrainSpec(epochs=1) if args.smoke else TrainSpec()
    task = train_set.task
    data = SoftLabelled.from_instances(train_set.instances, targets, task=task)
    train_part, early = data.split(spec.dev_fraction, spec.seed)
    result = train(train_part, early, spec, task=task)
    check = SoftLabelled.from_instances(dev.instances, task=task)
    with tempfile.TemporaryDirectory() as folder:
        export = export_student(result.student, result.tokenizer, check, Path(folder))
        (Path(folder) / MODEL_METADATA).write_text(
            json.dumps({**result.info(spec, {}), "export": export})
        )
        loaded = LoadedModel.load(Path(folder), provider="cpu")
        rows = [tuple(i.inputs[n] for n in task.input_names) for i in dev.instances]
        probabilities, _ = loaded.predict(rows)
    human = np.array([i.human.probs for i in dev.instances])
    return {
        "train_items": len(train_set.instances),
        "train_seconds": result.seconds,
        "best_epoch": result.best_epoch,
        "scores": scores(human, np.asarray(probabilities), task),
        "labels": list(loaded.labels),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lewidi", type=Path, default=DEFAULT_LEWIDI)
    parser.add_argument("--items", type=int, default=200, help="CSC and MD-Agreement items")
    parser.add_argument("--max-orders", type=int, default=6)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--no-students", action="store_true")
    parser.add_argument("--out")
    args = parser.parse_args()

    from services.generator.backends.local import TransformersBackend
    from services.generator.engine import generate
    from shared.datasets import read_dataset
    from shared.method.runs import RunSpec

    limit = 4 if args.smoke else None
    datasets = {}
    for name, relative in FILES.items():
        dataset = read_dataset(args.lewidi / relative)
        cut = limit or (args.items if name in ("csc_dev", "md_agreement_dev") else None)
        datasets[name] = type(dataset)(
            dataset.task, dataset.instances[:cut], dataset.format, dataset.renormalised
        )
    started = time.perf_counter()
    backend = TransformersBackend(dtype="fp32")
    load_seconds = time.perf_counter() - started

    def human(name: str) -> np.ndarray:
        return np.array([i.human.probs for i in datasets[name].instances])

    priors = {
        "paraphrase_dev": human("paraphrase_train").mean(axis=0),
        "csc_dev": human("csc_dev").mean(axis=0),
        "md_agreement_dev": human("md_agreement_dev").mean(axis=0),
    }
    result: dict[str, Any] = {
        "benchmark": "tasks",
        "machine": machine(backend),
        "model": backend.model_id,
        "model_load_seconds": load_seconds,
        "smoke": args.smoke,
        "data": {
            name: {"file": FILES[name], "task": d.task.ref, "items": len(d.instances)}
            for name, d in datasets.items()
        },
        "prior": {
            "paraphrase_dev": "mean human distribution of Paraphrase train",
            "csc_dev": "mean human distribution of the same CSC dev items (in sample)",
            "md_agreement_dev": "mean human distribution of the same dev items (in sample)",
        },
        "baselines": {
            name: baselines(human(name), prior, datasets[name].task)
            for name, prior in priors.items()
        },
        "runs": generate_all(backend, datasets, args),
    }
    failed = [name for name, run in result["runs"].items() if "failed" in run]
    if not args.no_students:
        train_set, dev = datasets["paraphrase_train"], datasets["paraphrase_dev"]
        spec = RunSpec(k=4, explicit=True, max_orders=1)
        started = time.perf_counter()
        records = list(generate(train_set.instances, backend, spec, task=train_set.task))
        mjds = np.array([r.distribution for r in records])
        result["students"] = {
            "mjd_targets": {
                "spec": {"k": 4, "explicit": True, "max_orders": 1},
                "seconds": time.perf_counter() - started,
                "vs_human_on_train": scores(human("paraphrase_train"), mjds, train_set.task),
            },
            "student_human": student_scores(train_set, None, dev, args),
            "student_mjd": student_scores(train_set, mjds, dev, args),
        }
    result["failed"] = failed
    emit(result, args.out)
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
