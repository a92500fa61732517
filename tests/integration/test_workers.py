"""Jobs through real Redis and real worker processes: progress, results, plots, revoke,
and redelivery after a worker is killed mid-job."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from celery.result import AsyncResult

from services.api.domain.jobs import JobService
from shared import jobs, layout
from shared.datasets import (
    read_instances,
    vendored_path,
    write_distributions_jsonl,
    write_instances_jsonl,
)


def _mjd_job(job_id: str, items: int, k: int = 0) -> None:
    instances = read_instances(vendored_path("explained"))[:items]
    store = jobs.store()
    write_instances_jsonl(store.path("jobs", job_id, layout.MJD_INPUT), instances)
    store.write_json(
        "jobs", job_id, layout.JOB_SPEC, {"kind": "mjd", "run": {"k": k, "max_orders": 1}}
    )


def _wait(app, job_id: str, until, timeout: float) -> list[tuple[str, object]]:
    """Poll the task state until ``until(state)``; returns every (state, info) seen."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = AsyncResult(job_id, app=app)
        state, info = result.state, result.info
        if not seen or seen[-1][0] != state or state == "PROGRESS":
            seen.append((state, info))
        if until(state):
            return seen
        time.sleep(0.2)
    raise AssertionError(f"timed out in state {seen[-1] if seen else None}")


def test_mjd_job_reports_progress_and_writes_its_result(client_app, start_worker, queue):
    start_worker("services.generator.worker", "mjd")
    _mjd_job("job-mjd-1", items=8)
    queue.submit("mjd", "job-mjd-1")
    seen = _wait(client_app, "job-mjd-1", lambda s: s in ("SUCCESS", "FAILURE"), 180)
    states = [state for state, _ in seen]
    assert states[-1] == "SUCCESS", seen[-1]
    progress = [info for state, info in seen if state == "PROGRESS"]
    assert progress and all(0 <= p["done"] <= p["total"] == 48 for p in progress)
    done = [p["done"] for p in progress]
    assert done == sorted(done) and done[-1] > 0
    summary = AsyncResult("job-mjd-1", app=client_app).result
    assert summary["items"] == 8 and summary["artifacts"] == ["result.jsonl"]
    lines = jobs.store().read_bytes("jobs", "job-mjd-1", "result.jsonl").splitlines()
    assert len(lines) == 8
    assert all(sum(json.loads(line)["distribution"]) == pytest.approx(1) for line in lines)


def test_metrics_job_writes_report_and_png(client_app, start_worker, explained, queue):
    start_worker("services.metrics.worker", "metrics")
    store = jobs.store()
    human = np.array([i.human.probs for i in explained])
    ids = [i.id for i in explained]
    write_distributions_jsonl(store.path("jobs", "job-m-1", "human.jsonl"), ids, human)
    write_distributions_jsonl(
        store.path("jobs", "job-m-1", "model.jsonl"), ids, np.full_like(human, 1 / 3)
    )
    store.write_json("jobs", "job-m-1", layout.JOB_SPEC, {"bootstrap": 100})
    queue.submit("metrics", "job-m-1")
    seen = _wait(client_app, "job-m-1", lambda s: s in ("SUCCESS", "FAILURE"), 120)
    assert seen[-1][0] == "SUCCESS", seen[-1]
    report = store.read_json("jobs", "job-m-1", "report.json")
    assert round(report["kl"]["mean"], 4) == 0.3649  # the uniform baseline
    assert store.read_bytes("jobs", "job-m-1", "ternary.png").startswith(b"\x89PNG")


def test_cancelled_job_ends_revoked_without_a_result(client_app, start_worker, queue):
    start_worker("services.generator.worker", "mjd")
    _mjd_job("job-cancel", items=120)
    queue.submit("mjd", "job-cancel")
    _wait(client_app, "job-cancel", lambda s: s == "PROGRESS", 120)
    JobService(jobs.store(), queue).cancel("job-cancel")  # as the API cancels
    seen = _wait(client_app, "job-cancel", lambda s: s in ("REVOKED", "SUCCESS", "FAILURE"), 60)
    assert seen[-1][0] == "REVOKED"
    assert not jobs.store().exists("jobs", "job-cancel", "result.jsonl")
    assert jobs.finished_summary("job-cancel") is None


def test_killed_worker_job_is_redelivered_and_its_result_written_once(
    client_app, start_worker, queue
):
    first = start_worker("services.generator.worker", "mjd")
    _mjd_job("job-kill", items=20)
    queue.submit("mjd", "job-kill")

    def working(state):
        result = AsyncResult("job-kill", app=client_app)
        return state == "PROGRESS" and result.info["done"] > 0

    seen = _wait(client_app, "job-kill", working, 120)
    killed_pid = seen[-1][1]["pid"]
    first.kill()
    second = start_worker("services.generator.worker", "mjd")
    seen = _wait(client_app, "job-kill", lambda s: s in ("SUCCESS", "FAILURE"), 240)
    assert seen[-1][0] == "SUCCESS", seen[-1]
    pids = {info["pid"] for state, info in seen if state == "PROGRESS"}
    assert pids - {killed_pid}  # a process of the second worker reported progress
    assert second.process.poll() is None
    names = sorted(p.name for p in jobs.store().folder("jobs", "job-kill").iterdir())
    assert names == ["input.jsonl", "result.jsonl", "spec.json", "summary.json"]
    assert len(jobs.store().read_bytes("jobs", "job-kill", "result.jsonl").splitlines()) == 20


def test_training_job_trains_exports_registers_and_promotes(
    client_app, start_worker, explained, queue
):
    from shared.datasets import write_instances_jsonl
    from shared.registry import ModelRegistry, sha256_file

    start_worker("services.trainer.worker", "training")
    store = jobs.store()
    write_instances_jsonl(store.path("datasets", "d16", "instances.jsonl"), explained[:16])
    spec = {
        "data": {"dataset_id": "d16"},
        "train": {"epochs": 2, "dev_fraction": 0.25, "seed": 5},
        "quantize": True,
        "promote": True,
    }
    store.write_json("jobs", "job-t-1", layout.JOB_SPEC, spec)
    queue.submit("training", "job-t-1")
    seen = _wait(client_app, "job-t-1", lambda s: s in ("SUCCESS", "FAILURE"), 240)
    assert seen[-1][0] == "SUCCESS", seen[-1]
    progress = [info for state, info in seen if state == "PROGRESS"]
    assert progress and all(0 < p["done"] <= p["total"] for p in progress)
    summary = AsyncResult("job-t-1", app=client_app).result
    assert summary["version"] == "v1" and summary["promoted"] is True
    assert summary["items"] == 12 and summary["parity_max_abs_diff"] < 1e-4
    registry = ModelRegistry(store)
    assert registry.promoted() == "v1"
    metadata = registry.get("v1")
    assert metadata["training_data"]["dataset_id"] == "d16"
    assert metadata["training_data"]["targets"] == "human"
    assert metadata["spec"]["seed"] == 5 and metadata["job_id"] == "job-t-1"
    for name in ("model.onnx", "model.int8.onnx", "tokenizer.json"):
        digest = sha256_file(registry.folder("v1") / name)
        assert metadata["files"][name]["sha256"] == digest
    assert metadata["export"]["int8"]["max_abs_diff_vs_fp32"] < 0.1
    assert store.read_json("jobs", "job-t-1", "report.json")["version"] == "v1"
