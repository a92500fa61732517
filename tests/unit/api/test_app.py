"""The REST API over an in-memory job queue and a store in a temporary folder: every request
check, the job protocol as the API sees it, and the OpenAPI document. No Redis, no workers."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
from litestar.testing import TestClient

from services.api.app import create_app
from shared.artifacts import ArtifactStore
from shared.queue import MemoryQueue
from shared.settings import Settings
from tests.conftest import assert_problem as _problem

ITEM = {
    "premise": "A man sleeps.",
    "hypothesis": "A person rests.",
    "explanations": ["sleeping is resting"],
}


@pytest.fixture
def queue() -> MemoryQueue:
    return MemoryQueue()


@pytest.fixture
def make_api(tmp_path, queue) -> Callable[..., AbstractContextManager[TestClient]]:
    """A test client of an app over ``queue`` and a fresh store; keyword arguments replace
    settings."""

    @contextmanager
    def make(**changes: Any) -> Iterator[TestClient]:
        settings = dataclasses.replace(
            Settings.from_env(), artifacts_dir=tmp_path / "artifacts", **changes
        )
        store = ArtifactStore(settings.artifacts_dir)
        with TestClient(app=create_app(settings=settings, store=store, queue=queue)) as client:
            yield client

    return make


@pytest.fixture
def api(make_api) -> Iterator[TestClient]:
    with make_api() as client:
        yield client


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


def test_sync_metrics_and_its_row_limit(api, make_api, explained):
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
    with make_api(sync_metrics_max_rows=100) as limited:
        response = limited.post("/v1/metrics", json={"human": human, "model": uniform})
    assert _problem(response, 413, "human")["jobs_url"] == "/v1/metrics-jobs"


def test_unknown_jobs_routes_and_methods(api):
    _problem(api.get("/v1/jobs/nope"), 404)
    _problem(api.get("/v1/nothing-here"), 404)
    _problem(api.put("/v1/metrics", json={}), 405)
    assert api.get("/healthz").json() == {"status": "ok"}
    assert "paths" in api.get("/schema/openapi.json").json()


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


def test_binary_form_field_without_a_filename_is_a_400_problem(api):
    png = b"\x89PNG\r\n\x1a\n"
    response = api.post("/v1/datasets/upload", files={"file": (None, png)})
    _problem(response, 400, "body")


def test_request_body_limit_is_413_problem(make_api):
    with make_api(max_body_bytes=2000) as client:
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


def test_a_submitted_job_is_queued_and_reported_by_the_queue_state(api, queue):
    created = api.post("/v1/mjd-jobs", json={"instances": [ITEM]})
    assert created.status_code == 202, created.text
    job = created.json()
    assert created.headers["location"] == f"/v1/jobs/{job['id']}" == job["links"]["self"]
    assert queue.submitted == [("mjd", job["id"])]
    assert job["state"] == "PENDING" and job["progress"] is None and job["kind"] == "mjd"
    queue.states[job["id"]] = ("PROGRESS", {"done": 3, "total": 6, "pid": 4242})
    view = api.get(f"/v1/jobs/{job['id']}").json()
    assert view["state"] == "PROGRESS" and view["progress"] == {"done": 3, "total": 6}
    _problem(api.get(f"/v1/jobs/{job['id']}/result"), 409, "job_id")
    cancelled = api.delete(f"/v1/jobs/{job['id']}")
    assert cancelled.status_code == 202 and queue.revoked == [job["id"]]
    queue.states[job["id"]] = ("FAILURE", "boom")
    failed = api.get("/v1/jobs", params={"state": "FAILURE"}).json()
    assert [j["id"] for j in failed["jobs"]] == [job["id"]] and failed["jobs"][0]["error"] == "boom"
    assert api.get("/v1/jobs", params={"state": "SUCCESS"}).json()["total"] == 0
    _problem(api.get("/v1/jobs", params={"state": "done"}), 400, "state")


def test_a_dataset_answers_201_with_its_location(api):
    created = api.post("/v1/datasets", json={"instances": [ITEM]})
    assert created.headers["location"] == f"/v1/datasets/{created.json()['id']}"


def test_queue_outage_is_a_503_problem_and_readyz_says_why(api, queue):
    assert api.get("/readyz").json()["status"] == "ready"
    queue.available = False
    _problem(api.post("/v1/mjd-jobs", json={"instances": [ITEM]}), 503)
    assert api.get("/readyz").status_code == 503
    queue.available = True
    queue.consumers = {"w@host": {"mjd"}}
    assert "metrics" in api.get("/readyz").json()["reason"]


def test_the_app_module_loads_no_torch():
    code = (
        "import sys; from services.api.app import create_app; from shared.queue import "
        "MemoryQueue; create_app(queue=MemoryQueue()); print('torch' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "False", result.stderr


def test_listing_pages_newest_first_and_asks_the_queue_about_the_page_only(api, queue):
    created = [api.post("/v1/mjd-jobs", json={"instances": [ITEM]}).json()["id"] for _ in range(5)]
    asked: list[str] = []
    state = queue.state
    queue.state = lambda job_id: asked.append(job_id) or state(job_id)  # type: ignore[method-assign]
    listed = api.get("/v1/jobs", params={"limit": 2, "offset": 1}).json()
    assert listed["total"] == 5
    assert [j["id"] for j in listed["jobs"]] == created[::-1][1:3] == asked
