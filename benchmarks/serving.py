"""Serving speed of the ONNX student: raw ONNX Runtime vs HTTP /v1/predict, in one run.

- raw ONNX Runtime throughput at batch 32 (pairs/s), and single-pair latency;
- HTTP throughput at concurrency 32, one instance per request, micro-batching on
  (MJD_PREDICT_MAX_BATCH=32, greedy) and off (MJD_PREDICT_MAX_BATCH=1);
- p50/p99 latency at concurrency 1, HTTP vs raw single inference.

Pairs are the 629 ChaosNLI-MNLI dev items. The model is --model (an ``mjd export`` folder or
a registry version folder) or, by default, a MiniLM student exported with an untrained head
(speed does not depend on the weights). The API runs under uvicorn in its own process; the
load comes from this process (httpx, asyncio). Prints JSON:

    python benchmarks/serving.py [--model DIR] [--provider auto|cpu|cuda] [--out result.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from report import emit

from services.predictor import LoadedModel
from shared.datasets import read_instances, vendored_path
from shared.platform.layout import MODEL_METADATA

TARGETS = {"http_c32_over_raw_batch32": 0.6, "p50_overhead_ms": 3.0}


def default_model(folder: Path, pairs: list[tuple[str, str]]) -> Path:
    """A MiniLM student with a fresh head, exported like a trained one."""
    from services.trainer.export import export_student
    from services.trainer.student import load_base
    from shared.training import SoftLabelled

    student, tokenizer, name = load_base(None, 128)
    check = SoftLabelled(
        [str(i) for i in range(16)], pairs[:16], np.full((16, 3), 1 / 3, dtype=np.float64)
    )
    export = export_student(student, tokenizer, check, folder, int8=True)
    spec = {"max_length": 128}
    (folder / MODEL_METADATA).write_text(
        json.dumps({"base_model": name, "spec": spec, "export": export})
    )
    return folder


def publish_and_promote(source: Path, artifacts: Path, database_url: str) -> None:
    """The exported model as the served version of a fresh store, as a training job
    publishes and promotes one."""
    from shared.platform.artifacts import ArtifactStore
    from shared.platform.db.database import Database
    from shared.platform.registry import ModelRegistry

    database = Database(database_url)
    registry = ModelRegistry(ArtifactStore(artifacts), database)
    version = registry.claim_version()
    shutil.copytree(source, registry.folder(version), dirs_exist_ok=True)
    metadata = json.loads((source / MODEL_METADATA).read_text())
    registry.promote(registry.publish(version, metadata)["version"])
    database.close()


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99))}


def raw(model: LoadedModel, pairs: list[tuple[str, str]], rounds: int) -> dict[str, Any]:
    model.predict(pairs[:32])  # warm-up
    rates = []
    for _ in range(rounds):
        started = time.perf_counter()
        for start in range(0, len(pairs), 32):
            model.predict(pairs[start : start + 32])
        rates.append(len(pairs) / (time.perf_counter() - started))
    single = []
    for pair in pairs[:300]:
        began = time.perf_counter()
        model.predict([pair])
        single.append(time.perf_counter() - began)
    return {
        "provider": model.provider,
        "batch32_pairs_per_s": float(np.median(rates)),
        "single": percentiles(single),
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """The API under uvicorn with one promoted model in a private artifact store."""

    def __init__(self, artifacts: Path, env: dict[str, str]) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        command = [
            sys.executable, "-m", "uvicorn", "services.api.app:create_app", "--factory",
            "--port", str(self.port), "--log-level", "warning", "--no-access-log",
        ]  # fmt: skip
        full_env = {**os.environ, "ARTIFACTS_DIR": str(artifacts), **env}
        full_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.process = subprocess.Popen(command, env=full_env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/v2/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("the API did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(20)


async def _load(base: str, pairs: list[tuple[str, str]], concurrency: int) -> tuple:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        queue = list(reversed(pairs))
        latencies: list[float] = []
        codes: list[int] = []

        async def user() -> None:
            while queue:
                premise, hypothesis = queue.pop()
                began = time.perf_counter()
                response = await client.post(
                    "/v1/predict",
                    json={"instances": [{"premise": premise, "hypothesis": hypothesis}]},
                )
                latencies.append(time.perf_counter() - began)
                codes.append(response.status_code)

        started = time.perf_counter()
        await asyncio.gather(*(user() for _ in range(concurrency)))
        return len(pairs) / (time.perf_counter() - started), latencies, codes


def http(servers: dict[str, str], pairs: list[tuple[str, str]], rounds: int) -> dict[str, Any]:
    """The same load on each server, interleaved round by round (first server alternating),
    so drift of a noisy machine does not favour one of them."""
    for base in servers.values():
        asyncio.run(_load(base, pairs[:64], 8))  # warm-up
    rates: dict[str, list[float]] = {name: [] for name in servers}
    single: dict[str, list[float]] = {name: [] for name in servers}
    codes: list[int] = []
    for round_ in range(rounds):
        names = list(servers) if round_ % 2 == 0 else list(reversed(servers))
        for name in names:
            rate, _, seen = asyncio.run(_load(servers[name], pairs, 32))
            rates[name].append(rate)
            _, latencies, seen_c1 = asyncio.run(_load(servers[name], pairs[:100], 1))
            single[name].extend(latencies)
            codes.extend(seen + seen_c1)
    return {
        name: {
            "c32_pairs_per_s": float(np.median(rates[name])),
            "c32_rounds": [round(r, 1) for r in rates[name]],
            "c1": percentiles(single[name]),
            "mean_batch_size": _mean_batch(httpx.get(f"{base}/metrics").text),
        }
        for name, base in servers.items()
    } | {"non_200": len([c for c in codes if c != 200])}


def _mean_batch(scrape: str) -> float | None:
    values = {}
    for line in scrape.splitlines():
        for name in ("mjd_predictor_batch_size_sum", "mjd_predictor_batch_size_count"):
            if line.startswith(name + " "):
                values[name] = float(line.split()[1])
    count = values.get("mjd_predictor_batch_size_count")
    return values["mjd_predictor_batch_size_sum"] / count if count else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, help="exported model folder")
    parser.add_argument("--provider", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--variant", choices=("fp32", "int8"), default="fp32")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pairs", type=int, help="only the first N dev pairs (a smoke run)")
    parser.add_argument("--out")
    args = parser.parse_args()

    pairs = [(i.premise, i.hypothesis) for i in read_instances(vendored_path("dev"))]
    pairs = pairs[: args.pairs] if args.pairs else pairs
    workdir = Path(tempfile.mkdtemp(prefix="mjd-serving-"))
    redis_server = None
    try:
        source = args.model or default_model(workdir / "export", pairs)
        artifacts = workdir / "artifacts"
        database_url = f"sqlite:///{artifacts / 'mjd.db'}"
        publish_and_promote(source, artifacts, database_url)

        model = LoadedModel.load(source, provider=args.provider, variant=args.variant)
        raw_result = raw(model, pairs, args.rounds)
        del model

        env = {
            "MJD_PREDICT_PROVIDER": args.provider,
            "MJD_PREDICT_VARIANT": args.variant,
            "DATABASE_URL": database_url,
            # the serving path is measured, not the key check nor the per-key rate limit
            "MJD_AUTH": "off",
            "MJD_RATE_LIMITS": "predict=0",
        }
        if not os.environ.get("REDIS_URL"):  # the API needs a broker URL; predict never uses it
            from services.cli.launcher import start_embedded_redis

            redis_server, env["REDIS_URL"] = start_embedded_redis(workdir)
        servers = {
            name: Server(artifacts, {**env, "MJD_PREDICT_MAX_BATCH": batch})
            for name, batch in (("batching_on", "32"), ("batching_off", "1"))
        }
        try:
            results = http({name: s.base for name, s in servers.items()}, pairs, args.rounds)
        finally:
            for server in servers.values():
                server.stop()
        on, off = results["batching_on"], results["batching_off"]
        ratio = on["c32_pairs_per_s"] / raw_result["batch32_pairs_per_s"]
        overhead = on["c1"]["p50_ms"] - raw_result["single"]["p50_ms"]
        report = {
            "benchmark": "serving",
            "pairs": len(pairs),
            "rounds": args.rounds,
            "model": str(args.model or "MiniLM-L6 student, untrained head"),
            "variant": args.variant,
            "provider": raw_result["provider"],
            "machine": {
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
            },
            "raw_onnxruntime": raw_result,
            "http": results,
            "ratios": {
                "http_c32_over_raw_batch32": ratio,
                "batching_on_over_off_c32": on["c32_pairs_per_s"] / off["c32_pairs_per_s"],
                "p50_overhead_ms_c1": overhead,
            },
            "targets": {
                "http_c32_at_least_0.6_of_raw": ratio >= TARGETS["http_c32_over_raw_batch32"],
                "p50_overhead_at_most_3ms": overhead <= TARGETS["p50_overhead_ms"],
                "batching_beats_no_batching": on["c32_pairs_per_s"] > off["c32_pairs_per_s"],
            },
        }
    finally:
        if redis_server is not None:
            redis_server.shutdown()
        shutil.rmtree(workdir, ignore_errors=True)
    emit(report, args.out)
    failed = report["http"]["non_200"]
    if failed:
        sys.exit(f"{failed} requests were not answered 200")


if __name__ == "__main__":
    main()
