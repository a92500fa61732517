"""/v1/predict, the model routes and the OIP v2 routes with a real exported student: body
validation, truncation, 429 on a full queue, and promotion with hot reload under load."""

from __future__ import annotations

import asyncio
import contextlib
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from litestar.testing import TestClient

from services.api.app import create_app
from shared.platform import jobs
from shared.platform.registry import ModelRegistry
from tests.conftest import assert_problem as _problem

PAIR = {"premise": "A man is playing a guitar on stage.", "hypothesis": "A man plays music."}


def _client(monkeypatch, **env: str) -> TestClient:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    jobs.settings.cache_clear()
    return TestClient(app=create_app(required_queues=()))


def test_predict_gives_distributions_entropy_and_the_model(models, monkeypatch):
    with _client(monkeypatch, MJD_PREDICT_PINNED="v2") as api:
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


def test_an_unpinned_version_is_refused_without_loading_it(models, monkeypatch):
    """`model` used to load any registered version per request, with no lock or cap: 48
    concurrent predicts over 3 versions took the API from 0.7 to 1.7 GB."""
    from services.predictor.repository import ModelRepository

    loads: list[str] = []
    load = ModelRepository._load
    monkeypatch.setattr(ModelRepository, "_load", lambda self, v: loads.append(v) or load(self, v))
    with _client(monkeypatch, MJD_PREDICT_PINNED="v2") as api:
        assert loads == ["v1"]  # the promoted version, at start
        refused = api.post("/v1/predict", json={"instances": [PAIR], "model": "v3"})
        assert refused.status_code == 404 and refused.json()["field"] == "model"
        with ThreadPoolExecutor(8) as pool:  # at once: the first loads it, the rest wait
            body = {"instances": [PAIR], "model": "v2"}
            answers = list(pool.map(lambda _: api.post("/v1/predict", json=body), range(8)))
        assert {a.status_code for a in answers} == {200} and loads == ["v1", "v2"]  # once
    with _client(monkeypatch, MJD_PREDICT_PINNED="") as api:
        unpinned = api.post("/v1/predict", json={"instances": [PAIR], "model": "v2"})
        assert unpinned.status_code == 409 and unpinned.json()["field"] == "model"
        assert loads == ["v1", "v2", "v1"]  # this app loaded only its promoted version


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
    with _client(monkeypatch, MJD_PREDICT_PINNED="v2") as api:
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


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def _api_pid(base: str) -> int:
    """The uvicorn process serving ``base`` (found by its --port argument)."""
    port = base.rsplit(":", 1)[1].encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"uvicorn" in b" ".join(argv) and port in argv:
                return int(entry.name)
    raise AssertionError(f"no API process on {base}")


FLOOD_PAIR = {"premise": "word " * 800, "hypothesis": "other " * 666}  # ~4,000 characters each


def test_abandoned_requests_are_dropped_and_cost_no_inference(models, serve):
    """40 requests x 64 pairs x 4,000 characters from clients that gave up made a 1-pair
    predict take 122 s and API memory go from 0.55 to 2.2 GB, and stay there: abandoned
    requests are now dropped before inference."""
    base = serve()
    body = {"instances": [PAIR]}
    # the steady state: one long batch sizes ONNX Runtime's arena (about 50 MB, kept for
    # reuse), so what follows measures whether abandoned requests leave memory behind
    warm = httpx.post(f"{base}/v1/predict", json={"instances": [FLOOD_PAIR] * 64}, timeout=120)
    assert warm.status_code == 200
    pid = _api_pid(base)
    before = _rss_mib(pid)

    async def abandon() -> None:
        flood = {"instances": [FLOOD_PAIR] * 64}
        async with httpx.AsyncClient(base_url=base, timeout=1.0) as client:

            async def one() -> None:
                with contextlib.suppress(httpx.TimeoutException):
                    await client.post("/v1/predict", json=flood)

            await asyncio.gather(*(one() for _ in range(40)))

    asyncio.run(abandon())
    began = time.monotonic()
    answered = httpx.post(f"{base}/v1/predict", json=body, timeout=60)
    latency = time.monotonic() - began
    assert answered.status_code == 200, answered.text  # within MJD_PREDICT_TIMEOUT_MS
    scrape = httpx.get(f"{base}/metrics").text
    series = 'mjd_predictor_dropped_total{reason="disconnected"}'
    dropped = [line for line in scrape.splitlines() if line.startswith(series)]
    assert dropped and float(dropped[0].split()[-1]) > 0, scrape[-2000:]
    inferred = sum(
        float(line.split()[-1])
        for line in scrape.splitlines()
        if line.startswith("mjd_predictor_batch_size_sum")
    )
    inferred -= 64  # the warm-up's
    assert inferred < 40 * 64 / 2  # most of the 2,560 abandoned pairs never ran
    after = _rss_mib(pid)
    print(f"\nFIGURE issue 12 flood: a 1-pair predict after 40 abandoned 64-pair requests "
          f"took {latency:.2f} s; API RSS {before:.0f} -> {after:.0f} MiB; {inferred:.0f} of "
          "2560 abandoned pairs inferred")  # fmt: skip
    assert after <= before * 1.10
