"""The OpenAPI document is valid and good enough for a generator people use: a client made
by ``openapi-python-client`` (generated here, never committed), with no warning, drives a
real API server and a real generation worker through the README's flow."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from openapi_spec_validator import validate

from shared.platform import jobs
from shared.platform.registry import ModelRegistry
from tests.conftest import publish_copy

#: the generator's own time limits are too short for loading the LLM on a busy machine
GENERATOR_LIMITS = {"MJD_TASK_SOFT_TIME_LIMIT": "600", "MJD_TASK_TIME_LIMIT": "660"}


def _generate_client(base: str, folder: Path) -> str:
    """Generate the client package from the served document; returns the tool's output."""
    schema = folder / "openapi.json"
    schema.write_bytes(httpx.get(f"{base}/schema/openapi.json").raise_for_status().content)
    validate(json.loads(schema.read_text()))
    tools = Path(sys.executable).parent
    result = subprocess.run(
        [str(tools / "openapi-python-client"), "generate", "--path", str(schema),
         "--meta", "none", "--output-path", str(folder / "mjd_client")],
        env={**os.environ, "PATH": f"{tools}{os.pathsep}{os.environ.get('PATH', '')}"},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_generated_client_runs_dataset_job_result_metrics_predict(
    service_env, start_worker, serve, student_model, explained, tmp_path
):
    registry = ModelRegistry(jobs.store(), jobs.database())
    registry.promote(publish_copy(registry, student_model))
    base = serve()
    output = _generate_client(base, tmp_path)
    assert "warning" not in output.lower(), output
    sys.path.insert(0, str(tmp_path))
    try:
        client = importlib.import_module("mjd_client").Client(
            base_url=base, raise_on_unexpected_status=True, timeout=60
        )
        start_worker("services.generator.worker", "mjd", **GENERATOR_LIMITS)
        _drive(client, importlib.import_module("mjd_client.models"), explained)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n.startswith("mjd_client")]:
            del sys.modules[name]


def _drive(client, models, explained) -> None:
    """dataset -> MJD job -> poll -> result -> /v1/metrics -> /v1/predict, and an error."""
    from mjd_client.api.datasets import create_dataset
    from mjd_client.api.jobs import create_mjd_job, get_job, get_job_result
    from mjd_client.api.metrics import compute_metrics
    from mjd_client.api.predict import predict

    items = [models.DatasetInInstancesType0Item.from_dict(i.to_json()) for i in explained[:2]]
    dataset = create_dataset.sync(client=client, body=models.DatasetIn(instances=items))
    assert isinstance(dataset, models.Dataset) and dataset.instances == 2

    job = create_mjd_job.sync(client=client, body=models.MjdJobIn(dataset_id=dataset.id))
    assert isinstance(job, models.JobView) and job.kind == models.JobKind.MJD
    deadline = time.monotonic() + 600
    finished = (models.JobState.SUCCEEDED, models.JobState.FAILED, models.JobState.CANCELLED)
    while job.state not in finished:
        assert time.monotonic() < deadline, job.state
        time.sleep(0.5)
        job = get_job.sync(job.id, client=client)
    assert job.state == models.JobState.SUCCEEDED, job.error
    assert isinstance(job.summary, models.MjdSummary) and job.summary.items == 2

    result = get_job_result.sync(job.id, client=client)
    assert isinstance(result, models.JobResult)
    mjds = [record.distribution for record in result.records]
    assert len(mjds) == 2 and all(abs(sum(p) - 1) < 1e-6 for p in mjds)

    human = [list(i.human.probs) for i in explained[:2]]
    report = compute_metrics.sync(
        client=client, body=models.MetricsIn(human=human, model=mjds, bootstrap=0)
    )
    assert isinstance(report, models.MetricReport) and report.n == 2 and report.kl.mean >= 0

    pair = models.PairIn(premise=explained[0].premise, hypothesis=explained[0].hypothesis)
    predicted = predict.sync(client=client, body=models.PredictIn(instances=[pair]))
    assert isinstance(predicted, models.PredictOut)
    assert abs(sum(predicted.predictions[0].distribution) - 1) < 1e-5

    missing = get_job.sync_detailed("nope", client=client)
    assert missing.status_code == 404 and isinstance(missing.parsed, models.ProblemDetails)
    assert missing.parsed.field == "job_id"
