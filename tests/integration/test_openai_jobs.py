"""An MJD job that chooses the openai backend through the real API reaches a real generation
worker, which scores its prompts on the endpoint the server names (the test's HTTP server):
the request's model and endpoint name arrive, the URL comes from the worker's settings."""

from __future__ import annotations

import json

import httpx

from tests.integration.conftest import wait_in_store
from tests.openai_server import FakeOpenAI

ITEMS = [
    {"premise": "A man sleeps.", "hypothesis": "A person rests."},
    {"premise": "A dog runs.", "hypothesis": "A cat sleeps."},
]


def test_run_backend_and_model_reach_the_worker(serve, start_worker, client_app):
    with FakeOpenAI() as server:
        # one request at a time, so "nothing after the 401" is exactly one request more
        endpoints = {"lab": {"url": server.url, "concurrency": 1}}
        env = {"MJD_OPENAI_ENDPOINTS": json.dumps(endpoints)}
        base = serve(**env)
        start_worker("services.generator.worker", "mjd", **env)
        run = {"backend": "openai", "model": "org/served-model", "endpoint": "lab"}
        created = httpx.post(f"{base}/v1/mjd-jobs", json={"instances": ITEMS, "run": run})
        assert created.status_code == 202, created.text
        job_id = created.json()["id"]
        seen = wait_in_store(job_id, lambda job: job.finished is not None, 300)
        assert seen[-1].state == "SUCCEEDED", seen[-1]
        assert len(server.requests) == 2 * 6
        assert {r["model"] for r in server.requests} == {"org/served-model"}
        result = httpx.get(f"{base}/v1/jobs/{job_id}/result").json()
        assert result["summary"]["backend"] == "openai"
        assert result["summary"]["model"] == "org/served-model"
        assert {r["spec"]["model"] for r in result["records"]} == {"org/served-model"}

        server.default = "401"  # a final error: the job fails naming the endpoint, not its URL
        failing = httpx.post(f"{base}/v1/mjd-jobs", json={"instances": ITEMS, "run": run})
        seen = wait_in_store(failing.json()["id"], lambda job: job.finished is not None, 120)
        assert seen[-1].state == "FAILED" and "endpoint 'lab'" in seen[-1].error
        assert "127.0.0.1" not in seen[-1].error
        assert len(server.requests) == 2 * 6 + 1  # the worker sent nothing after the 401
