"""Speed and memory of the metric suite against a row-by-row reference, as JSON.

The reference is written in the style of the authors' evaluation notebook: KL, JSD and TVD
per row in Python (clip, renormalise, scipy's rel_entr), then ``dcor.distance_correlation`` on
the whole N x K matrices (K = 3 for NLI; ``--labels 11`` measures an 11-point scale such as
LeWiDi's Paraphrase, where D.Corr takes the general kernel). Each measurement runs in a fresh
process so peak memory (max RSS) belongs to that measurement alone. Usage:

    python benchmarks/metrics.py [--sizes 10000 100000 1000000] [--labels 3] [--out result.json]
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import platform
import resource
import statistics
import sys
import time
from typing import Any

import numpy as np
from report import emit

MIB = 1024  # ru_maxrss is in KiB on Linux


def make_data(n: int, seed: int = 0, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Human rows over K labels like ChaosNLI (100 votes), model rows correlated with them."""
    rng = np.random.default_rng(seed)
    human = rng.multinomial(100, rng.dirichlet(np.full(k, 0.7), n)) / 100
    model = 0.6 * human + 0.4 * rng.dirichlet(np.full(k, 2.0), n)
    return human, model


def reference_rowwise(human: np.ndarray, model: np.ndarray) -> tuple[float, float, float]:
    """Per-row KL / JSD / TVD in Python loops, as the notebook computes them."""
    from scipy.special import rel_entr

    def kl(p: Any, q: Any, eps: float = 1e-10) -> float:
        p = np.clip(np.asarray(p, dtype=np.float64), eps, 1)
        q = np.clip(np.asarray(q, dtype=np.float64), eps, 1)
        return float(np.sum(rel_entr(p / np.sum(p), q / np.sum(q))))

    def jsd(p: Any, q: Any) -> float:
        p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
        m = (p + q) / 2
        return math.sqrt((kl(p, m) + kl(q, m)) / 2)

    def tvd(p: Any, q: Any) -> float:
        return float(np.sum(np.abs(np.array(p) - np.array(q)), axis=-1) / 2)

    rows = [(kl(h, m), jsd(h, m), tvd(m, h)) for h, m in zip(human, model, strict=True)]
    return tuple(float(np.mean(column)) for column in zip(*rows, strict=True))  # type: ignore[return-value]


def _measure(task: str, n: int, k: int, queue: Any) -> None:
    """Run one measurement in this (fresh) process and report time and memory."""
    human, model = make_data(n, k=k)
    from shared import dcorr, metrics

    dcorr.distance_correlation_exact(human[:50], model[:50])  # compile outside the timing
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / MIB
    start = time.perf_counter()
    if task == "suite":
        report = metrics.evaluate(human, model)
        value: Any = {"row": report.headline().values(), "dcorr_method": report.dcorr.method}
    elif task == "core":  # the four numbers the reference computes, nothing else
        value = {
            "row": (
                float(metrics.kl_divergence(human, model).mean()),
                float(metrics.js_distance(human, model).mean()),
                float(metrics.total_variation(human, model).mean()),
                dcorr.distance_correlation(human, model).value,
            )
        }
    elif task == "rowwise_ours":
        value = {
            "row": (
                float(metrics.kl_divergence(human, model).mean()),
                float(metrics.js_distance(human, model).mean()),
                float(metrics.total_variation(human, model).mean()),
            )
        }
    elif task == "dcorr_exact":
        value = {"dcorr": dcorr.distance_correlation_exact(human, model)}
    elif task == "dcorr_estimate":
        value = {"dcorr": dcorr.distance_correlation_blocks(human, model)}
    elif task == "reference_rowwise":
        value = {"row": reference_rowwise(human, model)}
    elif task == "reference_dcor":
        import dcor

        dcor.distance_correlation(human[:50], model[:50])  # its compile time is not counted
        start = time.perf_counter()
        value = {"dcorr": float(dcor.distance_correlation(human, model))}
    else:
        raise ValueError(task)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / MIB
    queue.put({"seconds": seconds, "peak_rss_mib": peak, "rss_before_mib": rss_before, **value})


def measure(task: str, n: int, repeats: int, k: int = 3) -> dict[str, Any]:
    context = mp.get_context("spawn")
    runs = []
    for _ in range(repeats):
        queue = context.Queue()
        process = context.Process(target=_measure, args=(task, n, k, queue))
        process.start()
        runs.append(queue.get())
        process.join()
    out = dict(runs[0])
    out["seconds"] = statistics.median(r["seconds"] for r in runs)
    out["seconds_runs"] = [round(r["seconds"], 4) for r in runs]
    out["peak_rss_mib"] = max(r["peak_rss_mib"] for r in runs)
    out["peak_increase_mib"] = out["peak_rss_mib"] - min(r["rss_before_mib"] for r in runs)
    return out


def ratio(slow: dict[str, Any] | None, fast: dict[str, Any] | None) -> float | None:
    if not slow or not fast:
        return None
    return round(slow["seconds"] / fast["seconds"], 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--labels", type=int, default=3, help="K, the labels per distribution")
    parser.add_argument("--exact-max-rows", type=int, default=100_000)
    parser.add_argument(
        "--reference-dcor-max-rows",
        type=int,
        default=10_000,
        help="dcor holds several N x N float64 matrices: 10k rows ~ 3 GB",
    )
    parser.add_argument("--reference-rowwise-max-rows", type=int, default=1_000_000)
    parser.add_argument("--out", help="also write the JSON here")
    args = parser.parse_args()

    from shared.dcorr import DEFAULT_BLOCK_ROWS, EXACT_DCORR_MAX_ROWS

    results: dict[str, Any] = {
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": mp.cpu_count(),
        },
        "notes": {
            "timing": f"median of {args.repeats} fresh-process runs ({1} at 1M rows or more)",
            "memory": "peak RSS of the measuring process; peak_increase = peak minus RSS "
            "after imports and data generation",
            "suite": "full report: KL/JSD/TVD/Manhattan/D.Corr, entropies and their correlations, "
            "accuracy/F1, entropy bins, 1000-resample bootstrap CIs",
            "core": "the four numbers the reference computes (KL, JSD, TVD means, D.Corr)",
            "dcorr_policy": f"exact up to {EXACT_DCORR_MAX_ROWS} rows, above that the block "
            f"estimator ({DEFAULT_BLOCK_ROWS}-row blocks)",
        },
        "labels": args.labels,
        "sizes": {},
    }
    for n in args.sizes:
        repeats = args.repeats if n < 1_000_000 else 1
        entry: dict[str, Any] = {
            "suite": measure("suite", n, repeats, args.labels),
            "core": measure("core", n, repeats, args.labels),
            "rowwise_ours": measure("rowwise_ours", n, repeats, args.labels),
        }
        if n <= args.exact_max_rows:
            entry["dcorr_exact"] = measure("dcorr_exact", n, repeats, args.labels)
        entry["dcorr_estimate"] = measure("dcorr_estimate", n, repeats, args.labels)
        if "dcorr_exact" in entry:
            entry["dcorr_estimate"]["abs_error_vs_exact"] = abs(
                entry["dcorr_estimate"]["dcorr"] - entry["dcorr_exact"]["dcorr"]
            )
        if n <= args.reference_rowwise_max_rows:
            entry["reference_rowwise"] = measure("reference_rowwise", n, 1, args.labels)
        else:
            entry["reference_rowwise"] = None
        if n <= args.reference_dcor_max_rows:
            entry["reference_dcor"] = measure("reference_dcor", n, 1, args.labels)
        else:
            entry["reference_dcor"] = None
            entry["reference_dcor_skipped"] = (
                f"dcor needs several {n}x{n} float64 matrices "
                f"(~{8 * n * n / 2**30:.0f} GiB each); this machine cannot hold them"
            )
        reference_total = (
            {"seconds": entry["reference_rowwise"]["seconds"] + entry["reference_dcor"]["seconds"]}
            if entry["reference_rowwise"] and entry["reference_dcor"]
            else None
        )
        measured_dcor = [
            (int(size), e["reference_dcor"]["seconds"])
            for size, e in results["sizes"].items()
            if e.get("reference_dcor")
        ]
        if entry["reference_dcor"] is None and entry["reference_rowwise"] and measured_dcor:
            size, seconds = max(measured_dcor)
            guess = seconds * (n / size) ** 2
            entry["reference_dcor_extrapolated"] = {
                "seconds": guess,
                "how": f"O(N^2) from the measured {size}-row run; not run (memory)",
            }
            entry["ratios"] = {
                "reference_total_over_suite_extrapolated": ratio(
                    {"seconds": entry["reference_rowwise"]["seconds"] + guess}, entry["suite"]
                )
            }
        entry.setdefault("ratios", {})
        entry["ratios"] |= {
            "reference_total_over_core": ratio(reference_total, entry["core"]),
            "reference_total_over_suite": ratio(reference_total, entry["suite"]),
            "reference_rowwise_over_ours": ratio(entry["reference_rowwise"], entry["rowwise_ours"]),
            "reference_dcor_over_exact": ratio(entry["reference_dcor"], entry.get("dcorr_exact")),
        }
        results["sizes"][str(n)] = entry
        print(f"done {n} rows", file=sys.stderr, flush=True)
    emit(results, args.out)


if __name__ == "__main__":
    main()
