"""Jobs driven the way a client drives them, over the API's HTTP routes: the tests of
restarts and supervision submit and follow jobs through the API, so they hold whatever
records the job (the job store) behind it."""

from __future__ import annotations

import time
from typing import Any

import httpx
import numpy as np

from shared.datasets import read_instances, vendored_path

FINISHED = ("SUCCEEDED", "FAILED", "CANCELLED")


def submit_mjd_job(base: str, items: int, k: int = 0) -> str:
    """An MJD job on the first ``items`` vendored explained items; returns its id."""
    instances = [i.to_json() for i in read_instances(vendored_path("explained"))[:items]]
    dataset = httpx.post(f"{base}/v1/datasets", json={"instances": instances}, timeout=30)
    assert dataset.status_code == 201, dataset.text
    job = httpx.post(
        f"{base}/v1/mjd-jobs",
        json={"dataset_id": dataset.json()["id"], "run": {"k": k, "max_orders": 1}},
        timeout=30,
    )
    assert job.status_code == 202, job.text
    return str(job.json()["id"])


def submit_metrics_job(base: str, rows: int, bootstrap: int, seed: int = 0) -> str:
    """A metrics job whose bootstrap (``rows`` x ``bootstrap`` work) keeps a worker busy for
    a while; returns its id."""
    rng = np.random.default_rng(seed)
    tenths = [[a / 10, b / 10, (10 - a - b) / 10] for a in range(11) for b in range(11 - a)]
    human, model = ([tenths[i] for i in rng.integers(len(tenths), size=rows)] for _ in range(2))
    job = httpx.post(
        f"{base}/v1/metrics-jobs",
        json={
            "human": {"distributions": human},
            "model": {"distributions": model},
            "bootstrap": bootstrap,
            "plot": False,
        },
        timeout=60,
    )
    assert job.status_code == 202, job.text
    return str(job.json()["id"])


def job_view(base: str, job_id: str) -> dict[str, Any]:
    view = httpx.get(f"{base}/v1/jobs/{job_id}", timeout=30)
    assert view.status_code == 200, view.text
    return dict(view.json())


def wait_for_job(base: str, job_id: str, until: Any, timeout: float) -> dict[str, Any]:
    """Poll the job until ``until(view)``; fails at the deadline or when the job finished
    without meeting it."""
    deadline = time.monotonic() + timeout
    while True:
        view = job_view(base, job_id)
        if until(view):
            return view
        assert view["state"] not in FINISHED, view
        assert time.monotonic() < deadline, f"timed out: {view}"
        time.sleep(0.2)


def working(view: dict[str, Any]) -> bool:
    """The job runs and has done part of its work."""
    return bool(view.get("progress")) and 0 < view["progress"]["done"] < view["progress"]["total"]


def succeeded(view: dict[str, Any]) -> bool:
    return view["state"] == "SUCCEEDED"
