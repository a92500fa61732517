"""MJD jobs choose their LLM through the API: ``run.backend``, ``run.model`` and an endpoint
*name* from the server's MJD_OPENAI_ENDPOINTS (a URL from a request is never used)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from services.api.app import create_app
from shared.endpoints import OpenAIEndpoint
from shared.platform.artifacts import ArtifactStore
from shared.platform.queue import MemoryQueue
from shared.platform.settings import Settings
from tests.conftest import assert_problem

ITEM = {"premise": "A man sleeps.", "hypothesis": "A person rests."}
#: the server's endpoints; their URLs must never reach a client
ENDPOINTS = {
    "lab": OpenAIEndpoint("http://10.1.2.3:8000/v1"),
    "cloud": OpenAIEndpoint("https://llm.internal.example/v1", mode="completions"),
}


@pytest.fixture
def queue() -> MemoryQueue:
    return MemoryQueue()


@pytest.fixture
def api(tmp_path, queue, database) -> Iterator[TestClient]:
    settings = dataclasses.replace(
        Settings.from_env(),
        artifacts_dir=tmp_path / "artifacts",
        auth="off",
        openai_endpoints=ENDPOINTS,
    )
    app = create_app(
        settings=settings,
        store=ArtifactStore(settings.artifacts_dir),
        queue=queue,
        database=database,
    )
    with TestClient(app=app) as client:
        yield client


def _submit(api: TestClient, **run: object):
    return api.post("/v1/mjd-jobs", json={"instances": [ITEM], "run": run})


def test_an_mjd_job_can_choose_the_openai_backend_model_and_endpoint(api, queue, database):
    created = _submit(api, backend="openai", model="meta-llama/Llama-3.1-8B-Instruct",
                      endpoint="cloud", k=0)  # fmt: skip
    assert created.status_code == 202, created.text
    job = database.jobs.get_job(created.json()["id"])
    assert queue.submitted == [("mjd", job.id)]
    assert (job.spec["backend"], job.spec["model"], job.spec["endpoint"]) == (
        "openai",
        "meta-llama/Llama-3.1-8B-Instruct",
        "cloud",
    )
    assert "backend" not in job.spec["run"] and "url" not in str(job.spec)
    default = database.jobs.get_job(_submit(api).json()["id"])  # run omitted: the local LLM
    assert (default.spec["backend"], default.spec["model"], default.spec["endpoint"]) == (
        "local",
        None,
        None,
    )


@pytest.mark.parametrize(
    ("run", "status", "field"),
    [
        ({"backend": "openai", "model": "m", "endpoint": "nope"}, 422, "run.endpoint"),
        ({"backend": "openai", "model": "m", "endpoint": "http://evil.example/v1"}, 422,
         "run.endpoint"),
        ({"backend": "openai", "model": "m"}, 422, "run.endpoint"),  # two endpoints: name one
        ({"backend": "openai", "endpoint": "lab"}, 422, "run.model"),
        ({"backend": "openai", "model": "http://evil.example/v1", "endpoint": "lab"}, 422,
         "run.model"),
        ({"backend": "openai", "model": "m" * 201, "endpoint": "lab"}, 422, "run.model"),
        ({"model": "/models/other.gguf"}, 422, "run.model"),
        ({"endpoint": "lab"}, 422, "run.endpoint"),
        ({"backend": "remote"}, 400, "run.backend"),
        ({"backend": "openai", "model": "m", "base_url": "http://evil.example/v1"}, 400,
         "base_url"),
    ],
)  # fmt: skip
def test_bad_llm_choices_are_refused_naming_the_field(api, queue, run, status, field):
    body = assert_problem(_submit(api, **run), status, field)
    assert "10.1.2.3" not in body["detail"] and "internal.example" not in body["detail"]
    assert queue.submitted == []


def test_unknown_endpoint_names_the_known_ones(api):
    body = assert_problem(_submit(api, backend="openai", model="m", endpoint="gpu"), 422)
    assert body["detail"] == "unknown endpoint 'gpu'; this server has: cloud, lab"
