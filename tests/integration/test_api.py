"""The REST API through Litestar's test client, with real Redis and real workers (the
request checks run without either, in tests/unit/api)."""

from __future__ import annotations

import time

import pytest
from litestar.testing import TestClient

from services.api.app import create_app
from tests.conftest import assert_problem as _problem


@pytest.fixture
def api(service_env):
    with TestClient(app=create_app()) as client:
        yield client


def _poll(api, job_id, timeout=120):
    deadline = time.monotonic() + timeout
    states = []
    while time.monotonic() < deadline:
        view = api.get(f"/v1/jobs/{job_id}").json()
        states.append(view["state"])
        if view["state"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return view, states
        time.sleep(0.3)
    raise AssertionError(states[-5:])


def test_metrics_job_end_to_end_with_a_real_worker(api, start_worker):
    readiness = api.get("/readyz")
    assert readiness.status_code == 503 and "mjd" in readiness.json()["reason"]
    start_worker("services.metrics.worker", "metrics")
    dataset = api.post("/v1/datasets", json={"vendored": "explained"}).json()
    created = api.post(
        "/v1/metrics-jobs",
        json={
            "human": {"dataset_id": dataset["id"]},
            "model": {"distributions": [[1 / 3] * 3] * 341},
            "bootstrap": 50,
        },
    )
    assert created.status_code == 202
    job = created.json()
    view, _ = _poll(api, job["id"])
    assert view["state"] == "SUCCEEDED", view
    result = api.get(f"/v1/jobs/{job['id']}/result").json()
    assert round(result["report"]["kl"]["mean"], 4) == 0.3649
    png = api.get(f"/v1/jobs/{job['id']}/artifacts/ternary.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    _problem(api.get(f"/v1/jobs/{job['id']}/artifacts/secret.txt"), 404)
    listed = api.get("/v1/jobs", params={"kind": "metrics"}).json()
    assert [j["id"] for j in listed["jobs"]] == [job["id"]]
    _problem(api.get("/v1/jobs", params={"kind": "other"}), 400)


def test_training_job_is_queued_with_its_spec(api):
    job = api.post(
        "/v1/training-jobs", json={"data": {"vendored": "explained"}, "train": {"epochs": 1}}
    )
    assert job.status_code == 202, job.text
    view = job.json()
    assert view["kind"] == "training" and view["state"] == "QUEUED"
    listed = api.get("/v1/jobs", params={"kind": "training"}).json()
    assert [j["id"] for j in listed["jobs"]] == [view["id"]]
