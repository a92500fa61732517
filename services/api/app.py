"""The REST API (Litestar): thin handlers over shared/ and the job protocol.

Create with :func:`create_app`; ``uvicorn services.api.app:create_app --factory``.
Every error is RFC 9457 problem details naming the offending field.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import msgspec
import numpy as np
import redis
from celery.result import AsyncResult
from litestar import Litestar, Request, Response, delete, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import (
    ClientException,
    HTTPException,
    NotFoundException,
    ValidationException,
)
from litestar.openapi import OpenAPIConfig
from litestar.params import Body, FromPath, JSONBody, QueryParameter
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)
from litestar.response import File

from services.api.inference import ROUTES as INFERENCE_ROUTES
from services.api.observability import PROMETHEUS, metrics
from services.api.problems import data_error, problem
from services.predictor import Predictor
from shared import jobs
from shared.artifacts import check_id, new_id
from shared.datasets import VENDORED, instance_from_record, read_instances, vendored_path
from shared.errors import DataError, MjdError
from shared.method.runs import RunSpec
from shared.metrics import evaluate
from shared.registry import ModelRegistry
from shared.schemas import Judgment
from shared.telemetry import JOBS_SUBMITTED

API = "/v1"
JOB_KINDS = {"mjd": "mjd.generate", "metrics": "metrics.evaluate", "training": "training.train"}
TERMINAL = ("SUCCESS", "FAILURE", "REVOKED")


# ---------------------------------------------------------------------------- request bodies


class DatasetIn(msgspec.Struct, forbid_unknown_fields=True):
    instances: list[dict[str, Any]] | None = None
    vendored: str | None = None
    name: str | None = None


class RunIn(msgspec.Struct, forbid_unknown_fields=True):
    k: int = 0
    explicit: bool = False
    max_orders: int | None = None
    shortfall: str = "error"
    aggregation: str = "softmax"
    temperature: float = 1.0
    seed: int = 0


class MjdJobIn(msgspec.Struct, forbid_unknown_fields=True):
    dataset_id: str | None = None
    instances: list[dict[str, Any]] | None = None
    run: RunIn = msgspec.field(default_factory=RunIn)


class MetricsIn(msgspec.Struct, forbid_unknown_fields=True):
    human: list[list[float]]
    model: list[list[float]]
    bootstrap: int = 1000
    seed: int = 0


class DistributionsRef(msgspec.Struct, forbid_unknown_fields=True):
    dataset_id: str | None = None
    job_id: str | None = None
    distributions: list[list[float]] | None = None


class MetricsJobIn(msgspec.Struct, forbid_unknown_fields=True):
    human: DistributionsRef
    model: DistributionsRef
    plot: bool = True
    bootstrap: int = 1000
    seed: int = 0


class TrainIn(msgspec.Struct, forbid_unknown_fields=True):
    epochs: int = 3
    batch_size: int = 16
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1
    max_length: int = 128
    early_stopping: str = "dcorr"
    patience: int = 2
    dev_fraction: float = 0.1
    seed: int = 0
    base_model: str | None = None


class TrainingJobIn(msgspec.Struct, forbid_unknown_fields=True):
    data: dict[str, str]
    dev: dict[str, str] | None = None
    calibrate_on: int | None = None
    train: TrainIn = msgspec.field(default_factory=TrainIn)
    quantize: bool = True
    promote: bool = False


# ---------------------------------------------------------------------------- helpers


def _instances(records: list[dict[str, Any]], field_name: str) -> list[Any]:
    if not records:
        raise problem(422, "must not be empty", field_name)
    out, seen = [], set()
    for index, record in enumerate(records):
        try:
            instance = instance_from_record(record)
        except DataError as exc:
            raise problem(
                422, exc.message, f"{field_name}[{index}].{exc.field or ''}".rstrip(".")
            ) from None
        if instance.id in seen:
            raise problem(422, f"duplicate id {instance.id!r}", f"{field_name}[{index}].id")
        seen.add(instance.id)
        out.append(instance)
    return out


def _rows(rows: list[list[float]], field_name: str) -> np.ndarray:
    if not rows:
        raise problem(422, "must not be empty", field_name)
    for index, row in enumerate(rows):
        try:
            Judgment.from_probs(row, f"{field_name}[{index}]")
        except DataError as exc:
            raise problem(422, exc.message, exc.field) from None
    return np.asarray(rows, dtype=np.float64)


def _dataset_instances(dataset_id: str, field_name: str) -> list[Any]:
    try:
        check_id(dataset_id, field_name)
    except DataError as exc:
        raise problem(422, exc.message, field_name) from None
    path = jobs.store().path("datasets", dataset_id, "instances.jsonl")
    if not path.is_file():
        raise problem(404, f"no dataset {dataset_id!r}", field_name)
    return read_instances(path, "jsonl")


def _job_spec(job_id: str) -> dict[str, Any]:
    try:
        check_id(job_id, "job_id")
    except DataError:
        raise NotFoundException(f"no job {job_id!r}") from None
    if not jobs.store().exists("jobs", job_id, jobs.JOB_SPEC):
        raise NotFoundException(f"no job {job_id!r}")
    return jobs.store().read_json("jobs", job_id, jobs.JOB_SPEC)


def _job_view(app: Any, job_id: str, spec: dict[str, Any]) -> dict[str, Any]:
    result = AsyncResult(job_id, app=app)
    try:
        state, info = result.state, result.info
    except redis.RedisError as exc:
        raise problem(503, f"job state unavailable: Redis is unreachable ({exc})") from None
    summary = jobs.finished_summary(job_id)
    if summary is not None and state not in TERMINAL:
        state = "SUCCESS"  # finished; its Celery state expired or was lost
    view: dict[str, Any] = {
        "id": job_id,
        "kind": spec["kind"],
        "state": state,
        "created": spec.get("created"),
        "progress": info if state == "PROGRESS" and isinstance(info, dict) else None,
        "error": str(info) if state == "FAILURE" else None,
        "summary": summary,
        "links": {
            "self": f"{API}/jobs/{job_id}",
            "result": f"{API}/jobs/{job_id}/result",
            "artifacts": [
                f"{API}/jobs/{job_id}/artifacts/{n}" for n in (summary or {}).get("artifacts", [])
            ],
        },
    }
    return view


def _require_redis() -> None:
    """Answer 503 at once when Redis is down, rather than after the client's retries."""
    try:
        redis.Redis.from_url(jobs.broker_url(), socket_timeout=1, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        raise problem(503, f"the job queue is unavailable: Redis is unreachable ({exc})") from None


def _new_job(app: Any, kind: str, spec: dict[str, Any], files: dict[str, bytes]) -> dict[str, Any]:
    job_id = new_id()
    store = jobs.store()
    for name, data in files.items():
        store.write_bytes("jobs", job_id, name, data)
    spec = {**spec, "kind": kind, "created": time.time()}
    store.write_json("jobs", job_id, jobs.JOB_SPEC, spec)
    _require_redis()
    try:
        jobs.submit(app, JOB_KINDS[kind], job_id)
        JOBS_SUBMITTED.labels(kind).inc()
    except Exception as exc:  # kombu raises its own OperationalError family
        raise problem(503, f"could not queue the job: broker unreachable ({exc})") from None
    return _job_view(app, job_id, spec)


def _jsonl(items: list[Any]) -> bytes:
    return b"".join(msgspec.json.encode(i.to_json()) + b"\n" for i in items)


def _distributions_file(ids: list[str], rows: np.ndarray) -> bytes:
    return b"".join(
        msgspec.json.encode({"id": i, "distribution": r.tolist()}) + b"\n"
        for i, r in zip(ids, rows, strict=True)
    )


# ---------------------------------------------------------------------------- handlers


@post(f"{API}/datasets", status_code=201, sync_to_thread=True)
def create_dataset(data: JSONBody[DatasetIn]) -> dict[str, Any]:
    """Store instances (inline, or a vendored dataset by name) and return the dataset id."""
    if (data.instances is None) == (data.vendored is None):
        raise problem(422, "give exactly one of 'instances' or 'vendored'", "instances")
    if data.vendored is not None:
        if data.vendored not in VENDORED:
            raise problem(422, f"unknown dataset; vendored: {', '.join(VENDORED)}", "vendored")
        instances = read_instances(vendored_path(data.vendored))
    else:
        instances = _instances(data.instances or [], "instances")
    return _store_dataset(instances, data.name or data.vendored)


def _store_dataset(instances: list[Any], name: str | None) -> dict[str, Any]:
    dataset_id = new_id()
    meta = {
        "id": dataset_id,
        "name": name,
        "instances": len(instances),
        "with_human": sum(i.human is not None for i in instances),
        "with_explanations": sum(bool(i.explanations) for i in instances),
        "created": time.time(),
    }
    jobs.store().write_bytes("datasets", dataset_id, "instances.jsonl", _jsonl(instances))
    jobs.store().write_json("datasets", dataset_id, "meta.json", meta)
    return meta


@post(f"{API}/datasets/upload", status_code=201, sync_to_thread=True)
def upload_dataset(
    data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
) -> dict[str, Any]:
    """Store instances from a file uploaded as the form field ``file``, in any format the
    readers know (explained, ChaosNLI, VariErr, LeWiDi, generic JSONL or CSV)."""
    upload = data.get("file")
    if not isinstance(upload, UploadFile):
        raise problem(422, "upload the dataset as the multipart form field 'file'", "file")
    suffix = Path(upload.filename or "upload.jsonl").suffix.lower()
    if suffix not in (".jsonl", ".json", ".csv"):
        raise problem(422, "expected a .jsonl, .json or .csv file", "file")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(upload.file.read())
        try:
            instances = read_instances(path)
        except DataError as exc:
            detail = exc.message if exc.row is None else f"row {exc.row}: {exc.message}"
            raise problem(422, detail, f"file.{exc.field}" if exc.field else "file") from None
    return _store_dataset(instances, upload.filename)


@get(f"{API}/datasets/{{dataset_id:str}}", sync_to_thread=True)
def get_dataset(dataset_id: FromPath[str]) -> dict[str, Any]:
    try:
        check_id(dataset_id, "dataset_id")
        return jobs.store().read_json("datasets", dataset_id, "meta.json")
    except (DataError, FileNotFoundError):
        raise NotFoundException(f"no dataset {dataset_id!r}") from None


@post(f"{API}/mjd-jobs", status_code=202, sync_to_thread=True)
def create_mjd_job(data: JSONBody[MjdJobIn], request: Request) -> dict[str, Any]:
    """Queue MJD generation for a stored dataset or inline instances."""
    from shared.method.runs import explanation_orders

    if (data.instances is None) == (data.dataset_id is None):
        raise problem(422, "give exactly one of 'dataset_id' or 'instances'", "dataset_id")
    try:
        run = RunSpec(**msgspec.structs.asdict(data.run))
    except DataError as exc:
        raise problem(422, exc.message, f"run.{exc.field}") from None
    if data.dataset_id is not None:
        instances = _dataset_instances(data.dataset_id, "dataset_id")
    else:
        instances = _instances(data.instances or [], "instances")
    for index, instance in enumerate(instances):
        try:
            explanation_orders(instance, run)  # k and labels checked before queueing
        except DataError as exc:
            raise problem(422, exc.message, f"instances[{index}].{exc.field}") from None
    spec = {
        "run": msgspec.structs.asdict(data.run),
        "dataset_id": data.dataset_id,
        "items": len(instances),
    }
    return _new_job(request.app.state.celery, "mjd", spec, {jobs.JOB_INPUT: _jsonl(instances)})


def _resolve(ref: DistributionsRef, field_name: str) -> tuple[list[str], np.ndarray]:
    given = [
        name for name in ("dataset_id", "job_id", "distributions") if getattr(ref, name) is not None
    ]
    if len(given) != 1:
        raise problem(422, "give exactly one of dataset_id, job_id, distributions", field_name)
    if ref.distributions is not None:
        rows = _rows(ref.distributions, f"{field_name}.distributions")
        return [f"row-{i + 1}" for i in range(len(rows))], rows
    if ref.dataset_id is not None:
        instances = _dataset_instances(ref.dataset_id, f"{field_name}.dataset_id")
        if any(i.human is None for i in instances):
            raise problem(
                422, "dataset has items without a human distribution", f"{field_name}.dataset_id"
            )
        return [i.id for i in instances], np.array([i.human.probs for i in instances])
    job_id = ref.job_id or ""
    spec = _job_spec(job_id)
    summary = jobs.finished_summary(job_id)
    if spec["kind"] != "mjd" or summary is None:
        raise problem(409, "not a finished MJD job", f"{field_name}.job_id")
    lines = jobs.store().read_bytes("jobs", job_id, "result.jsonl").splitlines()
    records = [msgspec.json.decode(line) for line in lines]
    return [r["id"] for r in records], np.array([r["distribution"] for r in records])


@post(f"{API}/metrics-jobs", status_code=202, sync_to_thread=True)
def create_metrics_job(data: JSONBody[MetricsJobIn], request: Request) -> dict[str, Any]:
    """Queue an evaluation (report and ternary plot) of stored or inline distributions."""
    human_ids, human = _resolve(data.human, "human")
    model_ids, model = _resolve(data.model, "model")
    positional = human_ids[0].startswith("row-") or model_ids[0].startswith("row-")
    if positional:
        if len(human) != len(model):
            raise problem(
                422, f"row counts differ: human {len(human)}, model {len(model)}", "model"
            )
        model_ids = human_ids = [f"row-{i + 1}" for i in range(len(human))]
    elif set(human_ids) != set(model_ids):
        raise problem(422, "human and model cover different item ids", "model")
    spec = {"plot": data.plot, "bootstrap": data.bootstrap, "seed": data.seed}
    files = {
        "human.jsonl": _distributions_file(human_ids, human),
        "model.jsonl": _distributions_file(model_ids, model),
    }
    return _new_job(request.app.state.celery, "metrics", spec, files)


@post(f"{API}/training-jobs", status_code=202, sync_to_thread=True)
def create_training_job(data: JSONBody[TrainingJobIn], request: Request) -> dict[str, Any]:
    """Queue distillation of a student: on a dataset's human distributions, or on the MJDs
    of a finished generation job (optionally calibrated on ``calibrate_on`` labelled items).
    The job exports the student to ONNX and registers it as a new model version."""
    from shared.targets import check_targets, resolve
    from shared.training import TrainSpec

    try:
        TrainSpec(**msgspec.structs.asdict(data.train))
    except DataError as exc:
        raise problem(422, exc.message, f"train.{exc.field}") from None
    if data.calibrate_on is not None and data.calibrate_on < 1:
        raise problem(422, "must be at least 1", "calibrate_on")
    check_targets(resolve(jobs.store(), data.data, "data"), data.calibrate_on)
    if data.dev is not None:
        check_targets(resolve(jobs.store(), data.dev, "dev"))
    spec = msgspec.structs.asdict(data)
    spec["train"] = msgspec.structs.asdict(data.train)
    return _new_job(request.app.state.celery, "training", spec, {})


@post(f"{API}/metrics", status_code=200, sync_to_thread=True)
def compute_metrics(data: JSONBody[MetricsIn], request: Request) -> dict[str, Any]:
    """The full metric report, computed inline for up to MJD_SYNC_METRICS_MAX_ROWS rows."""
    limit = jobs.settings().sync_metrics_max_rows
    if max(len(data.human), len(data.model)) > limit:
        raise problem(
            413,
            f"more than {limit} rows: submit them to {API}/metrics-jobs instead",
            "human",
            jobs_url=f"{API}/metrics-jobs",
        )
    human, model = _rows(data.human, "human"), _rows(data.model, "model")
    if len(human) != len(model):
        raise problem(422, f"row counts differ: human {len(human)}, model {len(model)}", "model")
    if not 0 <= data.bootstrap <= 10_000:
        raise problem(422, "must be between 0 and 10000", "bootstrap")
    return evaluate(human, model, resamples=data.bootstrap, seed=data.seed).to_json()


@get(f"{API}/jobs/{{job_id:str}}", sync_to_thread=True)
def get_job(job_id: FromPath[str], request: Request) -> dict[str, Any]:
    return _job_view(request.app.state.celery, job_id, _job_spec(job_id))


@get(f"{API}/jobs/{{job_id:str}}/result", sync_to_thread=True)
def get_job_result(job_id: FromPath[str], request: Request) -> dict[str, Any]:
    spec = _job_spec(job_id)
    view = _job_view(request.app.state.celery, job_id, spec)
    if view["summary"] is None:
        raise problem(409, f"job is {view['state']}; the result exists once it succeeds", "job_id")
    store = jobs.store()
    if spec["kind"] == "mjd":
        lines = store.read_bytes("jobs", job_id, "result.jsonl").splitlines()
        return {
            "summary": view["summary"],
            "records": [msgspec.json.decode(line) for line in lines],
        }
    if spec["kind"] == "training":
        return {"summary": view["summary"], "model": store.read_json("jobs", job_id, "report.json")}
    return {"summary": view["summary"], "report": store.read_json("jobs", job_id, "report.json")}


@get(f"{API}/jobs/{{job_id:str}}/artifacts/{{name:str}}", sync_to_thread=True)
def get_job_artifact(job_id: FromPath[str], name: FromPath[str]) -> File:
    _job_spec(job_id)
    summary = jobs.finished_summary(job_id) or {}
    if name not in summary.get("artifacts", []):
        raise NotFoundException(f"job {job_id!r} has no artifact {name!r}")
    media = {"png": "image/png", "json": "application/json", "jsonl": "application/x-ndjson"}
    return File(
        jobs.store().path("jobs", job_id, name), media_type=media.get(name.rsplit(".", 1)[-1])
    )


@delete(f"{API}/jobs/{{job_id:str}}", status_code=202, sync_to_thread=True)
def cancel_job(job_id: FromPath[str], request: Request) -> dict[str, Any]:
    spec = _job_spec(job_id)
    if jobs.finished_summary(job_id) is None:
        jobs.cancel(request.app.state.celery, job_id)
    return _job_view(request.app.state.celery, job_id, spec)


@get(f"{API}/jobs", sync_to_thread=True)
def list_jobs(
    request: Request,
    kind: Annotated[str | None, QueryParameter(pattern="^(mjd|metrics|training)$")] = None,
    state_filter: Annotated[str | None, QueryParameter(name="state")] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    offset: Annotated[int, QueryParameter(ge=0)] = 0,
) -> dict[str, Any]:
    folder = jobs.store().root / "jobs"
    specs = []
    for path in folder.iterdir() if folder.is_dir() else []:
        spec_path = path / jobs.JOB_SPEC
        if spec_path.is_file():
            spec = msgspec.json.decode(spec_path.read_bytes())
            if kind is None or spec.get("kind") == kind:
                specs.append((spec.get("created", 0), path.name, spec))
    specs.sort(reverse=True)
    views = [_job_view(request.app.state.celery, job_id, spec) for _, job_id, spec in specs]
    if state_filter is not None:
        views = [v for v in views if v["state"] == state_filter.upper()]
    return {
        "total": len(views),
        "offset": offset,
        "limit": limit,
        "jobs": views[offset : offset + limit],
    }


@get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", sync_to_thread=True)
def readyz(request: Request) -> Response[dict[str, Any]]:
    """Ready when Redis answers and a worker consumes each required queue; says which model
    version and execution provider /v1/predict answers with (null before one is promoted)."""
    app = request.app.state.celery
    try:
        _require_redis()
    except ProblemDetailsException as exc:
        return Response({"status": "unavailable", "reason": exc.detail}, status_code=503)
    replies = app.control.inspect(timeout=1.0).active_queues() or {}
    consumed = {queue["name"] for queues in replies.values() for queue in queues}
    missing = [q for q in request.app.state.required_queues if q not in consumed]
    if missing:
        return Response(
            {"status": "unavailable", "reason": f"no worker on queue(s): {', '.join(missing)}"},
            status_code=503,
        )
    serving = request.app.state.predictor.current
    return Response(
        {
            "status": "ready",
            "workers": sorted(replies),
            "predictor": serving.describe() if serving else None,
        },
        status_code=200,
    )


# ---------------------------------------------------------------------------- app


def _validation_problem(exc: HTTPException) -> ProblemDetailsException:
    """Litestar's request validation errors, with the first offending field named on top
    (``body`` when the body as a whole could not be read)."""
    errors = exc.extra if isinstance(exc.extra, list) else []
    first = next((e for e in errors if isinstance(e, dict) and e.get("key")), {})
    detail = first.get("message") or getattr(exc, "title", None) or exc.detail
    if not first:
        return problem(400, str(detail), "body", errors=errors or None)
    named = re.search(r"(unknown|missing required) field `([^`]+)`", str(detail))
    if named is None:
        field_name = str(first["key"])
    elif named.group(1) == "unknown" or first["key"] in ("", "body"):
        field_name = named.group(2)
    else:
        field_name = f"{first['key']}.{named.group(2)}"
    return problem(400, str(detail), field_name, errors=errors)


def _client_problem(exc: ClientException) -> ProblemDetailsException:
    """4xx from Litestar itself; a body that is not valid JSON is named as field ``body``."""
    if type(exc) is ClientException and exc.status_code == 400:
        detail = getattr(exc, "title", None) or exc.detail
        return problem(400, f"the request body could not be read: {detail}", "body")
    return ProblemDetailsException(
        status_code=exc.status_code, detail=exc.detail, extra=exc.extra, headers=exc.headers
    )


def _mjd_error(_: Request, exc: Exception) -> Response[Any]:
    problem_exc = data_error(exc) if isinstance(exc, DataError) else problem(400, str(exc))
    return problem_exc.to_response(_)


def create_app(required_queues: tuple[str, ...] = ("mjd", "metrics", "training")) -> Litestar:
    settings = jobs.settings()
    predictor = Predictor(ModelRegistry(jobs.store()), settings)
    app = Litestar(
        route_handlers=[
            create_dataset,
            upload_dataset,
            get_dataset,
            create_mjd_job,
            create_metrics_job,
            create_training_job,
            compute_metrics,
            get_job,
            get_job_result,
            get_job_artifact,
            cancel_job,
            list_jobs,
            healthz,
            readyz,
            metrics,
            *INFERENCE_ROUTES,
        ],
        on_startup=[predictor.start],
        on_shutdown=[predictor.stop],
        middleware=[PROMETHEUS.middleware],
        plugins=[
            ProblemDetailsPlugin(
                ProblemDetailsConfig(
                    enable_for_all_http_exceptions=True,
                    exception_to_problem_detail_map={
                        ValidationException: _validation_problem,
                        ClientException: _client_problem,
                    },
                )
            )
        ],
        exception_handlers={MjdError: _mjd_error},
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(title="mjd", version="0.1.0", path="/schema"),
    )
    celery = jobs.celery_app("mjd-api")
    # fail fast instead of retrying for tens of seconds inside a request
    fast = {"socket_timeout": 2, "socket_connect_timeout": 2}
    celery.conf.broker_connection_timeout = 2
    celery.conf.broker_connection_max_retries = 1
    celery.conf.broker_transport_options = {**celery.conf.broker_transport_options, **fast}
    celery.conf.result_backend_transport_options = {
        **celery.conf.result_backend_transport_options,
        **fast,
        "retry_policy": {
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.5,
        },
    }
    app.state.celery = celery
    app.state.required_queues = required_queues
    app.state.predictor = predictor
    return app
