"""/v1/predict, the model routes and the OIP v2 routes with a real exported student: body
validation, truncation, 429 on a full queue, and promotion with hot reload under load."""

from __future__ import annotations

import asyncio
import time

import httpx
import numpy as np
import pytest
from litestar.testing import TestClient

from services.api.app import create_app
from shared import jobs
from shared.registry import ModelRegistry
from tests.conftest import assert_problem as _problem
from tests.conftest import publish_copy

PAIR = {"premise": "A man is playing a guitar on stage.", "hypothesis": "A man plays music."}


@pytest.fixture
def models(service_env, student_model):
    """v1 and v2 published (copies of the session's student), v1 promoted."""
    registry = ModelRegistry(jobs.store(), jobs.database())
    versions = [publish_copy(registry, student_model), publish_copy(registry, student_model)]
    registry.promote(versions[0])
    return versions


def _client(monkeypatch, **env: str) -> TestClient:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    jobs.settings.cache_clear()
    return TestClient(app=create_app(required_queues=()))


def test_predict_gives_distributions_entropy_and_the_model(models, monkeypatch):
    with _client(monkeypatch) as api:
        response = api.post("/v1/predict", json={"instances": [PAIR, {**PAIR, "id": "b"}]})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["labels"] == ["entailment", "neutral", "contradiction"]
        assert body["model"]["version"] == "v1"
        assert body["model"]["provider"] == "CPUExecutionProvider"
        first, second = body["predictions"]
        p = np.array(first["distribution"])
        assert p.shape == (3,) and abs(p.sum() - 1) < 1e-5 and (p > 0).all()
        assert first["entropy"] == pytest.approx(float(-(p * np.log(p)).sum()), abs=1e-6)
        assert first["distribution"] == second["distribution"] and second["id"] == "b"
        assert body["warnings"] == [] and first["truncated"] is False
        ready = api.get("/readyz").json()
        assert ready["predictor"]["version"] == "v1"
        assert ready["predictor"]["provider"] == "CPUExecutionProvider"
        pinned = api.post("/v1/predict", json={"instances": [PAIR], "model": "v2"}).json()
        assert pinned["model"]["version"] == "v2"
        assert pinned["predictions"][0]["distribution"] == pytest.approx(first["distribution"])


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"instances": [{"hypothesis": "H."}]}, 400, "instances[0].premise"),
        ({"instances": [{"premise": "P."}]}, 400, "instances[0].hypothesis"),
        ({"instances": [{**PAIR, "premise": ""}]}, 422, "instances[0].premise"),
        ({"instances": [PAIR, {**PAIR, "hypothesis": "  "}]}, 422, "instances[1].hypothesis"),
        ({"instances": [PAIR] * 5}, 422, "instances"),
        ({"instances": []}, 422, "instances"),
        ({"instances": [{**PAIR, "premise": "x" * 301}]}, 422, "instances[0].premise"),
        ({"instances": [{**PAIR, "premise": 7}]}, 400, "instances[0].premise"),
        ({"instances": PAIR}, 400, "instances"),
        ({"instances": [PAIR], "extra": 1}, 400, "extra"),
        ({"instances": [PAIR], "model": "v9"}, 404, "model"),
        ({"instances": [PAIR], "model": "../v1"}, 404, "model"),
    ],
)
def test_malformed_predict_bodies_get_problem_details(models, monkeypatch, body, status, field):
    with _client(monkeypatch, MJD_PREDICT_MAX_INSTANCES="4", MJD_PREDICT_MAX_CHARS="300") as api:
        _problem(api.post("/v1/predict", json=body), status, field)


def test_non_json_predict_body_is_a_400(models, monkeypatch):
    with _client(monkeypatch) as api:
        response = api.post(
            "/v1/predict", content=b"{not json", headers={"content-type": "application/json"}
        )
        _problem(response, 400, "body")


def test_text_past_the_token_limit_is_truncated_and_says_so(models, monkeypatch):
    long_premise = "The committee met on Tuesday to discuss the budget. " * 30  # ~1.5k chars
    with _client(monkeypatch) as api:
        body = api.post(
            "/v1/predict", json={"instances": [PAIR, {**PAIR, "premise": long_premise}]}
        ).json()
    assert [p["truncated"] for p in body["predictions"]] == [False, True]
    assert body["warnings"] == [
        "instances[1]: longer than 128 tokens; truncated (longest text first)"
    ]


def test_without_a_promoted_model_predict_is_503_not_500(service_env, monkeypatch):
    with _client(monkeypatch) as api:
        _problem(api.post("/v1/predict", json={"instances": [PAIR]}), 503)
        assert api.get("/v2/health/ready").status_code == 503
        assert api.get("/v1/models").json() == {"promoted": None, "serving": None, "models": []}
        assert api.get("/readyz").json()["predictor"] is None


def test_model_routes_list_get_and_promote(models, monkeypatch):
    with _client(monkeypatch) as api:
        listed = api.get("/v1/models").json()
        assert listed["promoted"] == "v1" and [m["version"] for m in listed["models"]] == [
            "v2",
            "v1",
        ]
        one = api.get("/v1/models/v2").json()
        assert (
            one["files"]["model.onnx"]["sha256"] and one["export"]["parity"]["max_abs_diff"] < 1e-4
        )
        _problem(api.get("/v1/models/v7"), 404, "version")
        _problem(api.post("/v1/models/v7/promote"), 404, "version")
        promoted = api.post("/v1/models/v2/promote").json()
        assert promoted["version"] == "v2" and promoted["serving"]["version"] == "v2"
        served = api.post("/v1/predict", json={"instances": [PAIR]}).json()
        assert served["model"]["version"] == "v2"


def test_open_inference_protocol_v2(models, monkeypatch):
    with _client(monkeypatch) as api:
        assert api.get("/v2/health/live").json() == {"live": True}
        assert api.get("/v2/health/ready").json() == {"ready": True}
        assert api.get("/v2/models/mjd-student/ready").status_code == 200
        meta = api.get("/v2/models/mjd-student").json()
        assert meta["versions"] == ["v2", "v1"]
        assert [t["name"] for t in meta["inputs"]] == ["premise", "hypothesis"]
        request = {
            "id": "r1",
            "inputs": [
                {
                    "name": "premise",
                    "shape": [2],
                    "datatype": "BYTES",
                    "data": [PAIR["premise"]] * 2,
                },
                {"name": "hypothesis", "shape": [2, 1], "datatype": "BYTES", "data": ["A.", "B."]},
            ],
        }
        answer = api.post("/v2/models/mjd-student/infer", json=request).json()
        assert answer["model_name"] == "mjd-student" and answer["id"] == "r1"
        assert answer["model_version"] == "v1"
        probabilities = answer["outputs"][0]
        assert probabilities["shape"] == [2, 3] and len(probabilities["data"]) == 6
        assert abs(sum(probabilities["data"][:3]) - 1) < 1e-5
        pinned = api.post("/v2/models/mjd-student/versions/v2/infer", json=request).json()
        assert pinned["model_version"] == "v2"
        bad = {**request, "inputs": [{**request["inputs"][0], "shape": [3]}, request["inputs"][1]]}
        response = api.post("/v2/models/mjd-student/infer", json=bad)
        assert response.status_code == 400 and response.json()["error"]
        assert response.json()["field"] == "inputs[0].data"
        missing = {"inputs": request["inputs"][:1]}
        assert api.post("/v2/models/mjd-student/infer", json=missing).status_code == 400
        assert api.get("/v2/models/other").status_code == 404


def test_metrics_report_model_version_provider_and_batches(models, monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    with _client(monkeypatch) as api:
        api.post("/v1/predict", json={"instances": [PAIR]})
        text = api.get("/metrics").text
    assert (
        'mjd_predictor_model_info{provider="CPUExecutionProvider",variant="fp32",version="v1"} 1.0'
        in text
    )
    assert "mjd_predictor_batch_size_count" in text
    assert "mjd_predictor_queue_wait_seconds_count" in text


# ---------------------------------------------------------------------------- a real server


async def _fire(base: str, count: int, concurrency: int, during=None) -> list[httpx.Response]:
    """``count`` single-pair predictions at ``concurrency``; ``during`` runs once a third
    of them have been answered."""
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        answered: list[httpx.Response] = []
        gate = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with gate:
                answered.append(await client.post("/v1/predict", json={"instances": [PAIR]}))

        tasks = [asyncio.create_task(one()) for _ in range(count)]
        if during is not None:
            while len(answered) < count // 3:
                await asyncio.sleep(0.01)
            await during(client)
        await asyncio.gather(*tasks)
        return answered


def test_full_queue_answers_429_and_serves_the_rest(models, serve):
    base = serve(MJD_PREDICT_MAX_QUEUE="1", MJD_PREDICT_MAX_BATCH="1")
    responses = asyncio.run(_fire(base, count=64, concurrency=64))
    codes = [r.status_code for r in responses]
    assert set(codes) <= {200, 429}, codes
    assert codes.count(429) > 0 and codes.count(200) > 0
    refused = next(r for r in responses if r.status_code == 429)
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "mjd_predictor_rejected_total 0.0" not in httpx.get(f"{base}/metrics").text


def test_promotion_hot_reloads_without_failing_in_flight_requests(models, serve):
    base = serve(MJD_MODEL_POLL_SECONDS="0.2")
    promoted_at: list[int] = []

    async def promote(client: httpx.AsyncClient) -> None:
        response = await client.post("/v1/models/v2/promote")
        assert response.status_code == 200 and response.json()["serving"]["version"] == "v2"
        promoted_at.append(1)

    responses = asyncio.run(_fire(base, count=150, concurrency=16, during=promote))
    # the promotion answers once this server serves v2: every later request gets v2, however
    # many of the 150 were already done by then on a busy machine
    responses += asyncio.run(_fire(base, count=16, concurrency=16))
    assert [r.status_code for r in responses] == [200] * 166
    versions = [r.json()["model"]["version"] for r in responses]
    assert promoted_at and versions[0] == "v1" and versions[-1] == "v2"
    switch = versions.index("v2")
    assert versions[switch:] == ["v2"] * (166 - switch)  # answered in order of completion

    # another process promotes (CLI, another replica): this server follows by polling
    ModelRegistry(jobs.store(), jobs.database()).promote("v1")
    deadline = time.monotonic() + 10
    while httpx.get(f"{base}/v1/models").json()["serving"]["version"] != "v1":
        assert time.monotonic() < deadline, "the promotion was not picked up"
        time.sleep(0.1)
