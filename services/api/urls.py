"""Every path the API serves, in one place (controllers and links use these)."""

from __future__ import annotations

API = "/v1"

DATASETS = f"{API}/datasets"
DATASET_UPLOAD = f"{API}/datasets/upload"
DATASET = f"{API}/datasets/{{dataset_id}}"

JOBS = f"{API}/jobs"
JOB = f"{API}/jobs/{{job_id}}"
JOB_RESULT = f"{API}/jobs/{{job_id}}/result"
JOB_ARTIFACT = f"{API}/jobs/{{job_id}}/artifacts/{{name}}"
MJD_JOBS = f"{API}/mjd-jobs"
EXPLANATION_JOBS = f"{API}/explanation-jobs"
METRICS_JOBS = f"{API}/metrics-jobs"
TRAINING_JOBS = f"{API}/training-jobs"

TASKS = f"{API}/tasks"
TASK = f"{API}/tasks/{{name}}"

METRICS = f"{API}/metrics"
PREDICT = f"{API}/predict"
MODELS = f"{API}/models"
MODEL = f"{API}/models/{{version}}"
MODEL_PROMOTE = f"{API}/models/{{version}}/promote"
BOOTSTRAP = f"{API}/bootstrap"

HEALTHZ = "/healthz"
READYZ = "/readyz"
PROMETHEUS = "/metrics"
OPENAPI = "/schema"

OIP = "/v2"
OIP_LIVE = "/v2/health/live"
OIP_READY = "/v2/health/ready"
OIP_MODEL = "/v2/models/{name}"
OIP_MODEL_READY = "/v2/models/{name}/ready"
OIP_INFER = "/v2/models/{name}/infer"
OIP_VERSION = "/v2/models/{name}/versions/{version}"
OIP_VERSION_READY = "/v2/models/{name}/versions/{version}/ready"
OIP_VERSION_INFER = "/v2/models/{name}/versions/{version}/infer"


def route(path: str) -> str:
    """A path as a Litestar route (typed path parameters)."""
    return path.replace("}", ":str}")
