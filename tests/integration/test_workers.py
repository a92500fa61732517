"""Jobs through real Redis and real worker processes, their states read from the job store:
progress, results, plots, cancel, redelivery after a worker is killed mid-job, and failures
that end the job (not the worker)."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from services.api.domain.jobs import JobService
from shared.datasets import (
    read_instances,
    vendored_path,
    write_distributions_jsonl,
    write_instances_jsonl,
)
from shared.platform import jobs, layout
from shared.platform.db.jobs import Job, Priority
from tests.integration.conftest import wait_in_store


def _mjd_job(
    job_id: str, items: int | slice, k: int = 0, priority: Priority = Priority.NORMAL
) -> list[str]:
    """An MJD job on the first ``items`` explained items (or a slice of them); their ids."""
    chosen = slice(items) if isinstance(items, int) else items
    instances = read_instances(vendored_path("explained"))[chosen]
    write_instances_jsonl(jobs.store().path("jobs", job_id, layout.MJD_INPUT), instances)
    jobs.database().jobs.create_job(job_id, "mjd", {"run": {"k": k, "max_orders": 1}}, priority)
    return [i.id for i in instances]


def _finished(job: Job) -> bool:
    return job.state in ("SUCCEEDED", "FAILED", "CANCELLED")


def test_mjd_job_reports_progress_and_writes_its_result(start_worker, queue):
    start_worker("services.generator.worker", "mjd")
    _mjd_job("job-mjd-1", items=8)
    queue.submit("mjd", "job-mjd-1")
    seen = wait_in_store("job-mjd-1", _finished, 180)
    assert seen[-1].state == "SUCCEEDED", seen[-1]
    assert seen[-1].attempts == 1 and seen[-1].started <= seen[-1].finished
    progress = [(job.done, job.total) for job in seen if job.total is not None]
    assert progress and all(0 <= done <= total == 48 for done, total in progress)
    done = [d for d, _ in progress]
    assert done == sorted(done) and done[-1] == 48  # a finished job keeps its final progress
    summary = seen[-1].summary
    assert summary["items"] == 8 and summary["artifacts"] == ["result.jsonl"]
    lines = jobs.store().read_bytes("jobs", "job-mjd-1", "result.jsonl").splitlines()
    assert len(lines) == 8
    assert all(sum(json.loads(line)["distribution"]) == pytest.approx(1) for line in lines)


def _metrics_job(job_id: str, explained, spec: dict) -> None:
    store = jobs.store()
    human = np.array([i.human.probs for i in explained])
    ids = [i.id for i in explained]
    write_distributions_jsonl(store.path("jobs", job_id, layout.METRICS_HUMAN), ids, human)
    uniform = np.full_like(human, 1 / 3)
    write_distributions_jsonl(store.path("jobs", job_id, layout.METRICS_MODEL), ids, uniform)
    jobs.database().jobs.create_job(job_id, "metrics", spec)


def test_metrics_job_writes_report_and_png(start_worker, explained, queue):
    start_worker("services.metrics.worker", "metrics")
    _metrics_job("job-m-1", explained, {"bootstrap": 100})
    queue.submit("metrics", "job-m-1")
    seen = wait_in_store("job-m-1", _finished, 120)
    assert seen[-1].state == "SUCCEEDED", seen[-1]
    store = jobs.store()
    report = store.read_json("jobs", "job-m-1", "report.json")
    assert round(report["kl"]["mean"], 4) == 0.3649  # the uniform baseline
    assert seen[-1].summary["artifacts"] == ["report.json", "ternary.png", "entropy.png"]
    for plot in ("ternary.png", "entropy.png"):
        assert store.read_bytes("jobs", "job-m-1", plot).startswith(b"\x89PNG")


def test_finding_1_a_job_with_a_huge_bootstrap_fails_and_the_worker_lives_on(
    start_worker, explained, queue
):
    """A 10**12-resample bootstrap (43.7 TiB) used to kill the worker's main process, and,
    redelivered, every restart. Queued past the API's checks, the job now fails with the
    error's text and the same worker takes the next job (any body exception, MemoryError
    included: tests/unit/shared/test_job_protocol.py)."""
    worker = start_worker("services.metrics.worker", "metrics")
    _metrics_job("job-oom", explained, {"bootstrap": 10**12})
    queue.submit("metrics", "job-oom")
    failed = wait_in_store("job-oom", _finished, 120)[-1]
    assert failed.state == "FAILED" and "bootstrap" in failed.error, failed
    _metrics_job("job-after", explained, {"bootstrap": 10})
    queue.submit("metrics", "job-after")
    assert wait_in_store("job-after", _finished, 120)[-1].state == "SUCCEEDED"
    assert worker.process.poll() is None


def test_a_job_delivered_too_often_fails_as_given_up(start_worker, explained, queue):
    """A job whose deliveries keep dying (attempts past MJD_MAX_ATTEMPTS) fails instead of
    looping: here it arrives with its attempts already spent."""
    _metrics_job("job-loop", explained, {"bootstrap": 10})
    database = jobs.database()
    for _ in range(jobs.settings().max_attempts):
        database.jobs.start("job-loop")
    start_worker("services.metrics.worker", "metrics")
    queue.submit("metrics", "job-loop")
    ended = wait_in_store("job-loop", _finished, 120)[-1]
    assert ended.state == "FAILED" and "gave up after 3 attempts" in ended.error
    assert not jobs.store().exists("jobs", "job-loop", "report.json")


def test_cancelled_job_ends_cancelled_without_a_result(start_worker, queue, client_app):
    worker = start_worker("services.generator.worker", "mjd")
    _mjd_job("job-cancel", items=120)
    queue.submit("mjd", "job-cancel")
    wait_in_store("job-cancel", lambda job: (job.done or 0) > 0, 120)
    service = JobService(jobs.store(), queue, jobs.database())  # as the API cancels
    assert service.cancel("job-cancel", None).state == "CANCELLED"
    deadline = time.monotonic() + 120
    while any((client_app.control.inspect([worker.name], timeout=1).active() or {}).values()):
        assert time.monotonic() < deadline, "the cancelled task did not stop"
    assert jobs.database().jobs.get_job("job-cancel").state == "CANCELLED"
    assert not jobs.store().exists("jobs", "job-cancel", "result.jsonl")
    assert jobs.finished_summary("job-cancel") is None


def test_killed_worker_job_is_redelivered_and_its_result_written_once(start_worker, queue):
    first = start_worker("services.generator.worker", "mjd")
    _mjd_job("job-kill", items=20)
    queue.submit("mjd", "job-kill")
    wait_in_store("job-kill", lambda job: (job.done or 0) > 0, 120)
    first.kill()
    second = start_worker("services.generator.worker", "mjd")
    seen = wait_in_store("job-kill", _finished, 240)
    assert seen[-1].state == "SUCCEEDED", seen[-1]
    assert seen[-1].attempts == 2  # the second worker ran it again
    done = [job.done for job in seen if job.done is not None]
    assert done == sorted(done)  # from the checkpoint on, not from the first item
    assert second.process.poll() is None
    names = sorted(p.name for p in jobs.store().folder("jobs", "job-kill").iterdir())
    assert names == ["input.jsonl", "result.jsonl", "summary.json"]
    assert len(jobs.store().read_bytes("jobs", "job-kill", "result.jsonl").splitlines()) == 20


def test_training_job_trains_exports_registers_and_promotes(start_worker, explained, queue):
    from shared.datasets import write_instances_jsonl
    from shared.platform.registry import ModelRegistry, sha256_file

    start_worker("services.trainer.worker", "training")
    store = jobs.store()
    write_instances_jsonl(store.path("datasets", "d16", "instances.jsonl"), explained[:16])
    spec = {
        "data": {"dataset_id": "d16"},
        "train": {"epochs": 2, "dev_fraction": 0.25, "seed": 5},
        "quantize": True,
        "promote": True,
    }
    jobs.database().jobs.create_job("job-t-1", "training", spec)
    queue.submit("training", "job-t-1")
    seen = wait_in_store("job-t-1", _finished, 240)
    assert seen[-1].state == "SUCCEEDED", seen[-1]
    progress = [(job.done, job.total) for job in seen if job.total is not None]
    assert progress and all(0 <= done <= total for done, total in progress)
    summary = seen[-1].summary
    assert summary["version"] == "v1" and summary["promoted"] is True
    assert summary["items"] == 12 and summary["parity_max_abs_diff"] < 1e-4
    # 4 dev items: the job detail and the model's metadata both say they are too few
    assert [w.split(" (")[0] for w in summary["warnings"]] == ["the dev set has only 4 items"]
    registry = ModelRegistry(store, jobs.database())
    assert registry.promoted() == "v1"
    metadata = registry.get("v1")
    assert metadata["training_data"]["dataset_id"] == "d16"
    assert metadata["training_data"]["targets"] == "human"
    assert metadata["training"]["warnings"] == summary["warnings"]
    assert metadata["spec"]["seed"] == 5 and metadata["job_id"] == "job-t-1"
    for name in ("model.onnx", "model.int8.onnx", "tokenizer.json"):
        digest = sha256_file(registry.folder("v1") / name)
        assert metadata["files"][name]["sha256"] == digest
    assert metadata["export"]["int8"]["max_abs_diff_vs_fp32"] < 0.1
    assert store.read_json("jobs", "job-t-1", "report.json")["version"] == "v1"


#: time limits of the background-job test, as the test_restarts tests use
LONG_LIMITS = {"MJD_TASK_SOFT_TIME_LIMIT": "540", "MJD_TASK_TIME_LIMIT": "600"}


def _records(job_id: str) -> list[dict]:
    return [
        json.loads(line)
        for line in jobs.store().read_bytes("jobs", job_id, "result.jsonl").splitlines()
    ]


def test_finding_4_a_user_mjd_job_does_not_wait_behind_a_background_bootstrap(start_worker, queue):
    """A 2-item job used to wait behind every queued bootstrap; a background job now gives
    way between items and goes on from its checkpoint afterwards, with the same MJDs."""
    # limits far above the job's length: a busy machine must not end it at the soft limit
    start_worker("services.generator.worker", "mjd", **LONG_LIMITS)
    background = _mjd_job("job-bootstrap", items=40, priority=Priority.BACKGROUND)
    queue.submit("mjd", "job-bootstrap")
    wait_in_store("job-bootstrap", lambda job: (job.done or 0) >= 12, 180)  # 2 items done
    user = _mjd_job("job-user", items=slice(38, 40))  # the bootstrap's last two items
    queue.submit("mjd", "job-user")
    finished = wait_in_store("job-user", _finished, 180)[-1]
    assert finished.state == "SUCCEEDED", finished
    meanwhile = jobs.database().jobs.get_job("job-bootstrap")
    assert meanwhile.state != "SUCCEEDED" and meanwhile.done < meanwhile.total, meanwhile
    print(f"\nFIGURE finding 4: a 2-item job submitted during a background job finished "
          f"{finished.finished - finished.created:.1f} s after submission (its own generation "
          f"{finished.summary['seconds']['generation']:.1f} s); the background job was at "
          f"{meanwhile.done}/{meanwhile.total} prompts")  # fmt: skip
    resumed = wait_in_store("job-bootstrap", _finished, 300)[-1]
    assert resumed.state == "SUCCEEDED" and resumed.attempts == 1, resumed  # yields are free
    records = _records("job-bootstrap")
    assert [r["id"] for r in records] == background
    np.testing.assert_allclose(
        [r["distribution"] for r in records[-2:]],
        [r["distribution"] for r in _records("job-user")],
        atol=1e-6,
    )
    assert [r["id"] for r in _records("job-user")] == user
    assert not jobs.store().exists("jobs", "job-bootstrap", layout.MJD_CHECKPOINT)
