"""MJD quality on the 341 explained items: k = 0, and k = 4 with and without labels.

SmolLM2-135M (embedded), 6 option orders, one explanation order per item (--max-orders 1),
the engine's default letters (bare). Each run is scored at the default softmax T = 20 (the
authors'), at T = 1, and with a temperature cross-fitted over 5 folds (fit on four folds,
apply to the fifth), all from the records' label logits. Prints JSON; with --out-dir also
keeps the MJD files.

    python benchmarks/mjd_quality.py [--items 341] [--dtype fp32] [--out-dir runs/]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
from report import emit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=341)
    parser.add_argument("--dtype", default="fp32")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--out-dir", help="keep the MJD files here")
    parser.add_argument(
        "--records-dir", help="score MJD files kept by an earlier --out-dir run (no LLM, no timing)"
    )
    parser.add_argument("--out")
    args = parser.parse_args()

    from services.cli.calibration import read_mjd_records
    from services.generator.backends.local import TransformersBackend
    from services.generator.engine import generate
    from shared.datasets import read_instances, vendored_path, write_jsonl
    from shared.method.aggregation import softmax_aggregate
    from shared.method.calibration import cross_fit
    from shared.method.runs import RunSpec
    from shared.metrics import evaluate

    items = read_instances(vendored_path("explained"))[: args.items]
    human = np.array([item.human.probs for item in items])
    result: dict[str, Any] = {"items": len(items), "folds": args.folds, "runs": {}}
    if not args.records_dir:
        start = time.perf_counter()
        backend = TransformersBackend(dtype=args.dtype)
        result |= {
            "model": backend.model_id,
            "dtype": backend.dtype,
            "model_load_seconds": time.perf_counter() - start,
        }

    def row(model: np.ndarray) -> dict[str, float]:
        kl, jsd, tvd, dcorr = evaluate(human, model, resamples=0).headline().values()
        return {"kl": kl, "jsd": jsd, "tvd": tvd, "dcorr": dcorr}

    for name, spec in {
        "k0": RunSpec(k=0),
        "k4": RunSpec(k=4, max_orders=1),
        "k4_explicit": RunSpec(k=4, max_orders=1, explicit=True),
    }.items():
        start = time.perf_counter()
        if args.records_dir:
            records = read_mjd_records(Path(args.records_dir) / f"{name}.jsonl")[: len(items)]
            seconds = None
        else:
            records = list(generate(items, backend, spec))
            seconds = time.perf_counter() - start
        letters = {RunSpec.from_stored(r.spec).letters for r in records}
        run: dict[str, Any] = {
            "spec": {
                "k": spec.k,
                "explicit": spec.explicit,
                "max_orders": spec.max_orders,
                "letters": ", ".join(sorted(letters)),
            },
            "prompts": sum(len(r.explanation_orders) * 6 for r in records),
            "wall_seconds": seconds,
            "mean_letter_mass": float(np.mean([np.mean(r.letter_mass) for r in records])),
        }
        for temperature in (spec.temperature, 1.0):
            mjd = np.array([softmax_aggregate(r.logits, temperature) for r in records])
            run[f"softmax_T{temperature:g}"] = row(mjd)
            run[f"mean_entropy_T{temperature:g}"] = float(-(mjd * np.log(mjd)).sum(1).mean())
        for label, fit_bias in (("calibrated_T", False), ("calibrated_T_bias", True)):
            crossed, fits, _ = cross_fit(
                [r.logits for r in records], human, folds=args.folds, fit_bias=fit_bias, seed=0
            )
            run[label + "_cross_fitted"] = row(crossed)
            run[label + "_folds"] = [
                {"temperature": fit.temperature, "bias": fit.bias} for fit in fits
            ]
        result["runs"][name] = run
        if args.out_dir:
            Path(args.out_dir).mkdir(parents=True, exist_ok=True)
            write_jsonl(Path(args.out_dir) / f"{name}.jsonl", (r.to_json() for r in records))
    emit(result, args.out)


if __name__ == "__main__":
    main()
