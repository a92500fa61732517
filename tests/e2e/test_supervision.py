"""Finding 3 of issue 11, the whole stack: ``mjd up`` supervises its processes (a worker whose
main process dies is started again while the API keeps answering), and a stack stopped
mid-job with SIGTERM hands the job back, so the next ``mjd up`` finishes it within seconds
(the visibility timeout, 615 s here, never comes into play)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from services.generator.engine import PROMPTS_PER_CALL
from tests.integration.conftest import free_port
from tests.integration.http_jobs import submit_mjd_job, succeeded, wait_for_job, working

LONG_LIMITS = {"MJD_TASK_SOFT_TIME_LIMIT": "540", "MJD_TASK_TIME_LIMIT": "600"}
READY_WITHIN = 300.0
BACK_WITHIN = 120.0
RESUMED_WITHIN = 180.0
#: k = 0 items (6 prompts each) for 3 of the engine's chunks of whole items: the job shows
#: progress after the first, and is stopped, before the last
ITEMS = 2 * (PROMPTS_PER_CALL // 6) + 8


class Up:
    """``mjd up --no-bootstrap`` as a subprocess, its output in a log file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        command = [sys.executable, "-m", "services.cli", "up", "--port", str(self.port),
                   "--no-bootstrap"]  # fmt: skip
        self.process = subprocess.Popen(
            command, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.base}/readyz", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, timeout: float = READY_WITHIN) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready():
            assert self.process.poll() is None, self.text()[-3000:]
            assert time.monotonic() < deadline, self.text()[-3000:]
            time.sleep(0.5)

    def worker_pids(self, queue: str) -> list[int]:
        """Main processes of the stack's Celery workers of ``queue`` (children of mjd up)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                status = (entry / "status").read_text()
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            parent = int(status.split("PPid:", 1)[1].split()[0])
            if parent == self.process.pid and b"celery" in argv and queue.encode() in argv:
                found.append(int(entry.name))
        return found

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, as a service manager stops it; its exit status."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise


def wait_for_job_up(up: Up, job_id: str) -> tuple[dict, float | None]:
    """The job's view once it succeeded, polling from the stack's start (before its API
    answers), and when (monotonic) it was first seen running again."""
    deadline = time.monotonic() + RESUMED_WITHIN
    resumed = None
    while True:
        assert up.process.poll() is None, up.text()[-3000:]
        try:
            answer = httpx.get(f"{up.base}/v1/jobs/{job_id}", timeout=10)
        except httpx.HTTPError:
            answer = None
        if answer is not None and answer.status_code == 200:
            view = answer.json()
            if succeeded(view):
                return view, resumed
            assert view["state"] in ("QUEUED", "RUNNING"), view
            if resumed is None and view["attempts"] == 2 and view["state"] == "RUNNING":
                resumed = time.monotonic()
        assert time.monotonic() < deadline, up.text()[-3000:]
        time.sleep(0.5)


@pytest.fixture
def up_env(service_env) -> dict[str, str]:
    """The test's Redis (it outlives a stack), its artifacts folder and long time limits."""
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    return {**env, **service_env, **LONG_LIMITS}


@pytest.fixture
def stacks() -> Iterator[list[Up]]:
    """Stacks a test started; killed at its end if still up."""
    started: list[Up] = []
    yield started
    for up in started:
        if up.process.poll() is None:
            up.stop()  # SIGTERM: mjd up stops its workers (a group SIGKILL would orphan them)


def test_finding_3_a_killed_worker_is_restarted_while_the_api_answers(up_env, stacks, tmp_path):
    up = Up(up_env, tmp_path / "up.log")
    stacks.append(up)
    up.wait_ready()
    [victim] = up.worker_pids("metrics")
    killed = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    answers, back = [], None
    deadline = killed + BACK_WITHIN
    while time.monotonic() < deadline:
        answers.append(httpx.get(f"{up.base}/v1/jobs", timeout=10).status_code)
        assert up.process.poll() is None, up.text()[-3000:]  # the stack did not stop
        if [p for p in up.worker_pids("metrics") if p != victim] and up.ready():
            back = time.monotonic() - killed
            break
        time.sleep(0.2)
    assert back is not None, up.text()[-3000:]
    print(f"\nFIGURE finding 3 supervision: metrics worker back (readyz 200) {back:.1f} s "
          f"after SIGKILL; GET /v1/jobs answered {len(answers)} times meanwhile")  # fmt: skip
    assert set(answers) == {200}
    assert "worker:metrics exited" in up.text()
    scrape = httpx.get(f"{up.base}/metrics", timeout=10).text
    assert 'mjd_worker_restarts_total{queue="metrics"} 1.0' in scrape
    assert up.stop() == 0


def test_finding_3_a_stack_stopped_mid_job_resumes_it_when_started_again(up_env, stacks, tmp_path):
    first = Up(up_env, tmp_path / "up-1.log")
    stacks.append(first)
    first.wait_ready()
    job_id = submit_mjd_job(first.base, items=ITEMS)
    wait_for_job(first.base, job_id, working, 300)
    stopping = time.monotonic()
    assert first.stop() == 0
    stop_seconds = time.monotonic() - stopping
    broker = redis.Redis.from_url(up_env["REDIS_URL"])
    assert (broker.llen("mjd"), broker.hlen("unacked")) == (1, 0)  # handed back at once
    for word in ("WorkerLostError", "Traceback"):
        assert word not in first.text(), first.text()[-3000:]

    restarted = time.monotonic()
    second = Up(up_env, tmp_path / "up-2.log")
    stacks.append(second)
    view, running = wait_for_job_up(second, job_id)
    finished = time.monotonic() - restarted
    resumed = (running or time.monotonic()) - restarted
    print(f"\nFIGURE finding 3 stack: mjd up stopped {stop_seconds:.1f} s after SIGTERM "
          f"mid-job; the restarted stack ran it again {resumed:.1f} s after its start and "
          f"finished it {finished:.1f} s after ({view['attempts']} deliveries)")  # fmt: skip
    assert view["attempts"] == 2
    records = httpx.get(f"{second.base}/v1/jobs/{job_id}/result", timeout=30).json()["records"]
    assert len(records) == ITEMS
    assert second.stop() == 0
