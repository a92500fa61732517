"""Celery's own tools and Prometheus against real worker processes on the test's Redis: the
``celery -A <module> inspect`` command the README shows, task events as Flower and
``celery events`` receive them, and a worker's metrics port (worker series only, one
charset, a real /healthz)."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from shared.platform.telemetry import HEALTHY, WORKER_SERIES
from tests.conftest import OPENMETRICS_EXPOSITION, PROMETHEUS_ACCEPT, TEXT_EXPOSITION
from tests.integration.conftest import free_port, wait_in_store
from tests.integration.test_workers import _metrics_job

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_celery_module() -> str:
    """The module the README's ``celery -A <module> inspect ping`` names."""
    found = re.search(r"celery -A ([\w.]+) inspect ping", README.read_text())
    assert found, "the README shows no `celery -A <module> inspect ping`"
    return found.group(1)


def celery_tool(module: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Celery's command line as a user runs it, on the broker named by REDIS_URL only."""
    return subprocess.run(
        [sys.executable, "-m", "celery", "-A", module, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_celery_inspect_ping_and_active_with_the_readme_module(start_worker, service_env):
    """Issue 13: `celery -A shared.platform.celery_app …` failed (no attribute 'celery') and the
    README named no module that works."""
    worker = start_worker("services.metrics.worker", "metrics")
    module = readme_celery_module()
    env = {"REDIS_URL": service_env["REDIS_URL"]}
    ping = celery_tool(module, "inspect", "ping", "-d", worker.name, "--timeout", "10", env=env)
    assert ping.returncode == 0, ping.stdout + ping.stderr
    assert re.search(rf"->\s+{re.escape(worker.name)}: OK\s+pong", ping.stdout), ping.stdout
    active = celery_tool(module, "inspect", "active", "-d", worker.name, "-j", env=env)
    assert active.returncode == 0, active.stdout + active.stderr
    assert f'"{worker.name}": []' in active.stdout  # idle: no task running


def test_workers_and_clients_send_task_events(start_worker, client_app, queue, explained):
    """Issue 13: Flower showed no tasks, as workers sent no task events (and clients no
    task-sent): a real event receiver sees a real job's task sent, received, started and
    succeeded."""
    start_worker("services.metrics.worker", "metrics")
    _metrics_job("job-events", explained[:20], {"bootstrap": 10, "plot": False})
    wanted = {"task-sent", "task-received", "task-started", "task-succeeded"}
    seen: dict[str, dict] = {}
    probes: list[dict] = []

    def record(event: dict) -> None:
        if event["type"] == "test-probe":
            probes.append(event)
        elif event.get("uuid") == "job-events":
            seen.setdefault(event["type"], event)

    with client_app.connection_for_read() as connection:
        receiver = client_app.events.Receiver(connection, handlers={"*": record})
        with receiver.consumer_context() as (conn, _, _):

            def drain_until(done: Callable[[], bool], timeout: float) -> None:
                deadline = time.monotonic() + timeout
                while not done() and time.monotonic() < deadline:
                    with contextlib.suppress(TimeoutError, socket.timeout):
                        conn.drain_events(timeout=1)

            # Redis delivers events to subscribers only: see one of ours before the job is sent
            with client_app.events.default_dispatcher() as dispatcher:
                while not probes:
                    dispatcher.send("test-probe")
                    drain_until(lambda: bool(probes), 5)
            queue.submit("metrics", "job-events")
            drain_until(lambda: wanted <= set(seen), 120)
    assert wanted <= set(seen), sorted(seen)
    assert seen["task-sent"]["name"] == "metrics.evaluate"
    assert seen["task-sent"]["queue"] == "metrics"
    assert seen["task-received"]["hostname"].startswith("metrics-")
    assert wait_in_store("job-events", lambda job: job.state == "SUCCEEDED", 60)


def test_worker_metrics_port_serves_worker_series_and_a_health_answer(
    start_worker, queue, explained, tmp_path
):
    """Issue 13: a worker exposed the API's mjd_predictor_* series (zeros) and its /healthz
    returned the metrics page. Multiprocess mode as in the containers (a metrics folder); the
    content type as exact as the API's (tests/unit/api/test_observability.py)."""
    port = free_port()
    folder = tmp_path / "worker-metrics"
    folder.mkdir()
    start_worker(
        "services.metrics.worker",
        "metrics",
        MJD_WORKER_METRICS_PORT=str(port),
        PROMETHEUS_MULTIPROC_DIR=str(folder),
    )
    _metrics_job("job-series", explained[:20], {"bootstrap": 10, "plot": False})
    queue.submit("metrics", "job-series")
    assert wait_in_store("job-series", lambda job: job.state == "SUCCEEDED", 120)
    base = f"http://127.0.0.1:{port}"

    metrics = httpx.get(f"{base}/metrics", timeout=10)
    assert metrics.status_code == 200
    assert metrics.headers.get_list("content-type") == [TEXT_EXPOSITION]
    scraped = httpx.get(f"{base}/metrics", headers={"accept": PROMETHEUS_ACCEPT}, timeout=10)
    assert scraped.headers.get_list("content-type") == [OPENMETRICS_EXPOSITION]
    samples = {
        re.split(r"[{ ]", line, maxsplit=1)[0]
        for line in metrics.text.splitlines()
        if line and not line.startswith("#")
    }
    allowed = {
        f"{name}{suffix}"
        for name in WORKER_SERIES
        for suffix in ("", "_bucket", "_sum", "_count", "_created")
    }
    assert samples <= allowed, samples - allowed
    assert "mjd_predictor" not in metrics.text
    assert 'mjd_jobs_finished_total{queue="metrics",state="SUCCEEDED"} 1.0' in metrics.text

    health = httpx.get(f"{base}/healthz", timeout=10)
    assert health.status_code == 200
    assert health.headers["content-type"] == "application/json"
    assert health.json() == HEALTHY == {"status": "ok"}
    assert httpx.get(f"{base}/nothing-here", timeout=10).status_code == 404
