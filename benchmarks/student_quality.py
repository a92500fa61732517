"""Student quality on the 629 ChaosNLI-MNLI dev items: students distilled from the 341
explained items' human distributions (HJDs) and from MJDs made by the engine, next to the
uniform baseline and a constant predictor of the training set's mean distribution.

Each student: all-MiniLM-L6-v2, default TrainSpec (3 epochs, early stopping on D.Corr over
10% of the training items held out), predictions from its exported ONNX model. Prints JSON:

    python benchmarks/student_quality.py [--out result.json] [--mjd-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from report import emit

from services.generator.backends import create_backend
from services.generator.engine import generate
from services.predictor import LoadedModel
from services.trainer.export import export_student
from services.trainer.training import train
from shared.datasets import read_instances, vendored_path
from shared.method.runs import MJDRecord, RunSpec
from shared.metrics import evaluate
from shared.platform.layout import MODEL_METADATA
from shared.platform.targets import mjd_targets
from shared.training import SoftLabelled, TrainSpec

#: MJD configurations: the bootstrap's (k=0) and the paper's best on this data (k=4 with
#: the explanations' labels), each calibrated on 30% of the items (temperature and bias)
MJD_RUNS = {
    "k0": RunSpec(k=0),
    "k4_explicit": RunSpec(k=4, explicit=True, max_orders=1),
}
CALIBRATE_ON = 102


def row(report: Any) -> dict[str, float]:
    kl, jsd, tvd, dcorr = report.headline().values()
    return {"kl": kl, "jsd": jsd, "tvd": tvd, "dcorr": dcorr, "f1_weighted": report.f1_weighted}


def mjd_records(instances: list, spec: RunSpec, cache: Path) -> tuple[list[MJDRecord], float]:
    """The run's records, from the cache when every cached record was made with ``spec``
    (records cached before ``letters`` existed read as "both", so they are made again)."""
    if cache.is_file():
        cached = [MJDRecord.from_json(json.loads(line)) for line in cache.open()]
        if all(RunSpec.from_stored(record.spec) == spec for record in cached):
            return cached, 0.0
    backend = create_backend("transformers", None)
    started = time.monotonic()
    records = list(generate(instances, backend, spec))
    seconds = time.monotonic() - started
    cache.write_text("".join(json.dumps(r.to_json()) + "\n" for r in records))
    return records, seconds


def student(data: SoftLabelled, dev_pairs: list, check: SoftLabelled) -> dict[str, Any]:
    spec = TrainSpec()
    train_part, early = data.split(spec.dev_fraction, spec.seed)
    result = train(train_part, early, spec)
    with tempfile.TemporaryDirectory() as folder:
        export = export_student(result.student, result.tokenizer, check, Path(folder))
        (Path(folder) / MODEL_METADATA).write_text(
            json.dumps({**result.info(spec, {}), "export": export})
        )
        probabilities, _ = LoadedModel.load(Path(folder), provider="cpu").predict(dev_pairs)
    return {
        "probabilities": probabilities,
        "train_seconds": result.seconds,
        "best_epoch": result.best_epoch,
        "parity_max_abs_diff": export["parity"]["max_abs_diff"],
        "int8_max_abs_diff": export["int8"]["max_abs_diff_vs_fp32"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out")
    parser.add_argument("--mjd-dir", default="benchmarks/results/.mjd-cache")
    args = parser.parse_args()
    cache = Path(args.mjd_dir)
    cache.mkdir(parents=True, exist_ok=True)

    explained = read_instances(vendored_path("explained"))
    dev = read_instances(vendored_path("dev"))
    dev_human = np.array([i.human.probs for i in dev])
    dev_pairs = [(i.premise, i.hypothesis) for i in dev]
    hjd = SoftLabelled.from_instances(explained)
    check = SoftLabelled.from_instances(dev[:128])

    rows: dict[str, Any] = {
        "uniform": row(evaluate(dev_human, np.full_like(dev_human, 1 / 3), resamples=0)),
        "constant_mean_hjd": row(
            evaluate(dev_human, np.tile(hjd.targets.mean(0), (len(dev), 1)), resamples=0)
        ),
    }
    details: dict[str, Any] = {}
    trained = {"student_hjd": hjd}
    for name, spec in MJD_RUNS.items():
        records, seconds = mjd_records(explained, spec, cache / f"{name}.jsonl")
        targets = mjd_targets(explained, records, CALIBRATE_ON, seed=0)
        trained[f"student_mjd_{name}_calibrated"] = targets.data
        details[f"mjd_{name}"] = {
            "spec": {
                "k": spec.k,
                "explicit": spec.explicit,
                "max_orders": spec.max_orders,
                "letters": spec.letters,
            },
            "generation_seconds": seconds or "cached",
            "calibration": {k: v for k, v in targets.calibration.items() if k != "fitted_ids"},
            "mjd_vs_hjd_on_explained": row(
                evaluate(hjd.targets, targets.data.targets, resamples=0)
            ),
        }
        rows[f"constant_mean_mjd_{name}"] = row(
            evaluate(dev_human, np.tile(targets.data.targets.mean(0), (len(dev), 1)), resamples=0)
        )
    for name, data in trained.items():
        outcome = student(data, dev_pairs, check)
        rows[name] = row(evaluate(dev_human, outcome.pop("probabilities"), resamples=0))
        details[name] = outcome
    emit(
        {
            "benchmark": "student_quality",
            "train": "341 explained items (ChaosNLI-MNLI with VariErr explanations)",
            "evaluate": f"{len(dev)} ChaosNLI-MNLI dev items (human distributions)",
            "calibrate_on": CALIBRATE_ON,
            "machine": {"python": platform.python_version(), "cpu": platform.processor()},
            "rows": rows,
            "details": details,
        },
        args.out,
    )


if __name__ == "__main__":
    main()
