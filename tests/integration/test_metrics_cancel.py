"""Cancelling a running metrics job, through real Redis and a real metrics worker."""

from __future__ import annotations

import time

import numpy as np

from services.api.domain.jobs import JobService
from shared.datasets import write_distributions_jsonl
from shared.metrics import MAX_BOOTSTRAP
from shared.platform import jobs, layout
from tests.integration.conftest import wait_in_store

ROWS = 20_000  # with MAX_BOOTSTRAP resamples: about 20 s of bootstrap on one core


def test_finding_7_cancelling_a_running_metrics_job_ends_it_cancelled_without_a_report(
    client_app, start_worker, queue
):
    """It ended SUCCESS beside its cancelled mark: the bootstrap never looked at it."""
    worker = start_worker("services.metrics.worker", "metrics")
    store = jobs.store()
    rng = np.random.default_rng(0)
    ids = [f"item-{i}" for i in range(ROWS)]
    for name in (layout.METRICS_HUMAN, layout.METRICS_MODEL):
        write_distributions_jsonl(
            store.path("jobs", "job-m-cancel", name), ids, rng.dirichlet([1, 1, 1], ROWS)
        )
    spec = {"bootstrap": MAX_BOOTSTRAP, "seed": 0, "plot": True}
    jobs.database().jobs.create_job("job-m-cancel", "metrics", spec)
    queue.submit("metrics", "job-m-cancel")
    before = wait_in_store("job-m-cancel", lambda job: (job.done or 0) > 0, 120)
    assert before[-1].state == "RUNNING" and before[-1].done, before[-1]  # in the bootstrap
    started = time.monotonic()
    service = JobService(store, queue, jobs.database())  # as the API cancels
    assert service.cancel("job-m-cancel", None).state == "CANCELLED"
    while any((client_app.control.inspect([worker.name], timeout=1).active() or {}).values()):
        assert time.monotonic() - started < 60, "the cancelled task did not stop"
    assert time.monotonic() - started < 10  # within a progress report or two
    job = jobs.database().jobs.get_job("job-m-cancel")
    assert job.state == "CANCELLED" and job.summary is None
    assert not store.exists("jobs", "job-m-cancel", layout.METRICS_REPORT)
    assert not store.exists("jobs", "job-m-cancel", layout.METRICS_PLOT)
    assert jobs.finished_summary("job-m-cancel") is None
