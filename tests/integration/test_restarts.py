"""Finding 3 of issue 11, one worker: a worker told to stop (SIGTERM to its main process, as
``docker stop``, Kubernetes and ``mjd up`` send it) mid-job puts the job back on its queue at
once (Celery's soft shutdown, then the Redis transport restores the unacknowledged message),
so a worker started after it finishes the job within seconds, not after the visibility
timeout (hard time limit + 15 s, 615 s here)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
import redis

from tests.integration.http_jobs import (
    job_view,
    submit_metrics_job,
    succeeded,
    wait_for_job,
    working,
)

#: long limits, so that a job finished within RESUMED_WITHIN cannot be the visibility timeout
LONG_LIMITS = {"MJD_TASK_SOFT_TIME_LIMIT": "540", "MJD_TASK_TIME_LIMIT": "600"}
STOPPED_WITHIN = 30.0
RESUMED_WITHIN = 120.0
#: rows x resamples of the metrics job: about 20 s of bootstrap on an idle core
ROWS, BOOTSTRAP = 16_000, 100_000


def _active(app, worker) -> list[str]:
    """Ids of the tasks the worker's pool is running now (Celery's remote control)."""
    replies = app.control.inspect(destination=[worker.name], timeout=2).active() or {}
    return [task["id"] for task in replies.get(worker.name, [])]


def test_finding_3_sigterm_mid_job_requeues_it_and_a_restarted_worker_finishes_it(
    service_env, serve, start_worker, client_app
):
    api = serve(**LONG_LIMITS)
    first = start_worker("services.metrics.worker", "metrics", **LONG_LIMITS)
    job_id = submit_metrics_job(api, ROWS, BOOTSTRAP)
    wait_for_job(api, job_id, working, 120)
    assert _active(client_app, first) == [job_id]

    stopping = time.monotonic()
    first.terminate()
    try:
        first.process.wait(STOPPED_WITHIN)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the worker still ran {STOPPED_WITHIN:.0f} s after SIGTERM (it waited "
                    "for its job instead of handing it back)")  # fmt: skip
    stop_seconds = time.monotonic() - stopping
    broker = redis.Redis.from_url(service_env["REDIS_URL"])
    # handed back at once: on the queue again, nothing left unacknowledged for an hour
    assert (broker.llen("metrics"), broker.hlen("unacked")) == (1, 0)
    assert job_view(api, job_id)["state"] == "RUNNING"  # not finished by the stopped worker
    log = first.log.read_text()
    assert "WorkerLostError" not in log and "Traceback" not in log, log[-3000:]

    restarted = time.monotonic()
    second = start_worker("services.metrics.worker", "metrics", **LONG_LIMITS)
    view = wait_for_job(api, job_id, succeeded, RESUMED_WITHIN)
    resumed_seconds = time.monotonic() - restarted
    print(f"\nFIGURE finding 3 worker: stopped {stop_seconds:.1f} s after SIGTERM; job finished "
          f"{resumed_seconds:.1f} s after the restart ({view['attempts']} deliveries)")  # fmt: skip
    assert view["attempts"] == 2  # the stopped delivery and the resumed one, no other
    assert second.process.poll() is None
    report = view["summary"]
    assert report["items"] == ROWS and report["artifacts"] == ["report.json"]
    folder = Path(service_env["ARTIFACTS_DIR"]) / "jobs" / job_id
    names = sorted(path.name for path in folder.iterdir())
    assert "report.json" in names and not [n for n in names if n.startswith(".")], names
