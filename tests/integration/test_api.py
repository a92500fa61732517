"""The REST API through Litestar's test client, with real Redis and real workers."""

from __future__ import annotations

import dataclasses
import time

import pytest
from litestar.testing import TestClient

from services.api.app import create_app
from shared.settings import Settings


@pytest.fixture
def api(service_env):
    with TestClient(app=create_app()) as client:
        yield client


def _problem(response, status, field=None):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["detail"]
    if field is not None:
        assert body["field"] == field, body
    return body


ITEM = {
    "premise": "A man sleeps.",
    "hypothesis": "A person rests.",
    "explanations": ["sleeping is resting"],
}


def test_datasets_inline_and_vendored(api):
    created = api.post("/v1/datasets", json={"instances": [ITEM], "name": "one"})
    assert created.status_code == 201
    body = created.json()
    assert body["instances"] == 1 and body["with_explanations"] == 1
    assert api.get(f"/v1/datasets/{body['id']}").json() == body
    vendored = api.post("/v1/datasets", json={"vendored": "explained"}).json()
    assert vendored["instances"] == 341 and vendored["with_human"] == 341
    assert api.get("/v1/datasets/nope").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"instances": [{**ITEM, "premise": ""}]}, "instances[0].premise"),
        ({"instances": [{"premise": "P."}]}, "instances[0].hypothesis"),
        ({"instances": [{**ITEM, "probs": [0.5, 0.5, 0.5]}]}, "instances[0].probs"),
        ({"instances": []}, "instances"),
        ({"vendored": "nope"}, "vendored"),
        ({}, "instances"),
    ],
)
def test_bad_datasets_get_problem_details_naming_the_field(api, body, field):
    _problem(api.post("/v1/datasets", json=body), 422, field)


def test_unknown_fields_and_wrong_types_are_400_problems(api):
    _problem(api.post("/v1/datasets", json={"instances": "x"}), 400, "instances")
    _problem(api.post("/v1/datasets", json={"vendored": "dev", "colour": 1}), 400, "colour")
    _problem(api.get("/v1/jobs", params={"limit": "many"}), 400, "limit")
    body = _problem(api.post("/v1/mjd-jobs", json={"instances": [ITEM], "run": {"k": "four"}}), 400)
    assert "k" in body["field"]


def test_mjd_job_checks_k_and_run_before_queueing(api):
    _problem(
        api.post("/v1/mjd-jobs", json={"instances": [ITEM], "run": {"k": 4}}),
        422,
        "instances[0].explanations",
    )
    _problem(api.post("/v1/mjd-jobs", json={"instances": [ITEM], "run": {"k": 9}}), 422, "run.k")
    _problem(api.post("/v1/mjd-jobs", json={"dataset_id": "missing"}), 404, "dataset_id")


def test_sync_metrics_and_its_row_limit(api, explained):
    human = [list(i.human.probs) for i in explained]
    uniform = [[1 / 3] * 3 for _ in explained]
    report = api.post("/v1/metrics", json={"human": human, "model": uniform, "bootstrap": 0}).json()
    assert round(report["kl"]["mean"], 4) == 0.3649 and report["n"] == 341
    _problem(
        api.post("/v1/metrics", json={"human": [[0.5, 0.5, 0.1]], "model": [[1, 0, 0]]}),
        422,
        "human[0]",
    )
    _problem(api.post("/v1/metrics", json={"human": human, "model": uniform[:3]}), 422, "model")
    small = dataclasses.replace(Settings.from_env(), sync_metrics_max_rows=100)
    with TestClient(app=create_app(settings=small)) as limited:
        response = limited.post("/v1/metrics", json={"human": human, "model": uniform})
    assert _problem(response, 413, "human")["jobs_url"] == "/v1/metrics-jobs"


def test_unknown_jobs_routes_and_methods(api):
    _problem(api.get("/v1/jobs/nope"), 404)
    _problem(api.get("/v1/nothing-here"), 404)
    _problem(api.put("/v1/metrics", json={}), 405)
    assert api.get("/healthz").json() == {"status": "ok"}
    assert "paths" in api.get("/schema/openapi.json").json()


def _poll(api, job_id, timeout=120):
    deadline = time.monotonic() + timeout
    states = []
    while time.monotonic() < deadline:
        view = api.get(f"/v1/jobs/{job_id}").json()
        states.append(view["state"])
        if view["state"] in ("SUCCESS", "FAILURE", "REVOKED"):
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
    assert view["state"] == "SUCCESS", view
    result = api.get(f"/v1/jobs/{job['id']}/result").json()
    assert round(result["report"]["kl"]["mean"], 4) == 0.3649
    png = api.get(f"/v1/jobs/{job['id']}/artifacts/ternary.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    _problem(api.get(f"/v1/jobs/{job['id']}/artifacts/secret.txt"), 404)
    listed = api.get("/v1/jobs", params={"kind": "metrics"}).json()
    assert [j["id"] for j in listed["jobs"]] == [job["id"]]
    _problem(api.get("/v1/jobs", params={"kind": "other"}), 400)


def test_upload_a_dataset_file_in_any_known_format(api):
    from shared.datasets import vendored_path

    with vendored_path("explained").open("rb") as handle:
        created = api.post("/v1/datasets/upload", files={"file": ("explained.jsonl", handle)})
    assert created.status_code == 201, created.text
    assert created.json()["instances"] == 341 and created.json()["name"] == "explained.jsonl"
    bad = b'{"premise": "P.", "hypothesis": "H.", "probs": [0.5, 0.5, 0.5]}\n'
    response = api.post("/v1/datasets/upload", files={"file": ("bad.jsonl", bad)})
    body = _problem(response, 422, "file.probs")
    assert "row 1" in body["detail"]
    _problem(api.post("/v1/datasets/upload", files={"file": ("x.txt", b"hello")}), 422, "file")
    _problem(api.post("/v1/datasets/upload", files={"other": ("a.jsonl", b"{}")}), 422, "file")
    binary = api.post("/v1/datasets/upload", files={"file": ("b.jsonl", b"\xff\xfe")})
    assert "UTF-8" in _problem(binary, 422, "file")["detail"]


def test_request_body_limit_is_413_problem(service_env):
    small = dataclasses.replace(Settings.from_env(), max_body_bytes=2000)
    with TestClient(app=create_app(settings=small)) as client:
        big = {"instances": [ITEM] * 200}
        _problem(client.post("/v1/datasets", json=big), 413)


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"data": {}}, 422, "data"),
        ({"data": {"vendored": "explained", "dataset_id": "x"}}, 422, "data"),
        ({"data": {"vendored": "nope"}}, 422, "data.vendored"),
        ({"data": {"dataset_id": "missing"}}, 404, "data.dataset_id"),
        ({"data": {"mjd_job_id": "missing"}}, 404, "data.mjd_job_id"),
        ({"data": {"vendored": "explained"}, "calibrate_on": 5}, 422, "calibrate_on"),
        ({"data": {"vendored": "explained"}, "train": {"epochs": 0}}, 422, "train.epochs"),
        (
            {"data": {"vendored": "explained"}, "train": {"early_stopping": "f1"}},
            400,  # a choice outside the schema's enum
            "train.early_stopping",
        ),
        ({"data": {"vendored": "explained"}, "dev": {"dataset_id": "nope"}}, 404, "dev.dataset_id"),
        ({"data": {"vendored": "explained"}, "train": {"lr": 1}}, 400, "lr"),
    ],
)
def test_training_jobs_are_checked_before_queueing(api, body, status, field):
    _problem(api.post("/v1/training-jobs", json=body), status, field)


def test_training_on_items_without_human_distributions_is_refused(api):
    dataset = api.post("/v1/datasets", json={"instances": [ITEM]}).json()
    _problem(
        api.post("/v1/training-jobs", json={"data": {"dataset_id": dataset["id"]}}), 422, "human"
    )


def test_training_job_is_queued_with_its_spec(api):
    job = api.post(
        "/v1/training-jobs", json={"data": {"vendored": "explained"}, "train": {"epochs": 1}}
    )
    assert job.status_code == 202, job.text
    view = job.json()
    assert view["kind"] == "training" and view["state"] == "PENDING"
    listed = api.get("/v1/jobs", params={"kind": "training"}).json()
    assert [j["id"] for j in listed["jobs"]] == [view["id"]]
