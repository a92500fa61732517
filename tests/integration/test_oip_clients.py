"""The OIP v2 routes driven by the real Triton HTTP client (tritonclient[http]) with its
defaults (binary tensor data both ways), against the API under uvicorn serving a real
exported student: health, metadata and readiness with and without a version, inference of
batches of 1 and 8, requested outputs, compressed bodies, and readable errors."""

from __future__ import annotations

import gzip
import json

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

MODEL = "mjd-student"
PREMISES = [
    "A man is playing a guitar on stage.",
    "Two dogs run through a snowy field.",
    "A woman is reading a book in the park.",
    "Children are building a sandcastle at the beach.",
    "A chef is chopping onions in a kitchen.",
    "An old man sits on a bench feeding pigeons.",
    "A cyclist rides up a steep hill.",
    "Ünïcødé: a café serves crêpes.",
]
HYPOTHESES = [
    "A man plays music.",
    "The animals are outside.",
    "Someone is sleeping.",
    "Kids are at the sea.",
    "Food is being prepared.",
    "A man feeds birds.",
    "A person is exercising.",
    "Food is sold.",
]


@pytest.fixture
def base(models, serve) -> str:
    """The API under uvicorn: v1 promoted and served, v2 pinned."""
    return serve(MJD_PREDICT_PINNED="v2")


@pytest.fixture
def client(base) -> triton.InferenceServerClient:
    with triton.InferenceServerClient(base.removeprefix("http://")) as connected:
        yield connected


def _inputs(count: int) -> list[triton.InferInput]:
    tensors = []
    for name, texts in (("premise", PREMISES), ("hypothesis", HYPOTHESES)):
        tensor = triton.InferInput(name, [count], "BYTES")
        tensor.set_data_from_numpy(np.array(texts[:count], dtype=np.object_))  # binary
        tensors.append(tensor)
    return tensors


def _v1_predict(base: str, count: int) -> np.ndarray:
    instances = [{"premise": p, "hypothesis": h} for p, h in zip(PREMISES, HYPOTHESES, strict=True)]
    answer = httpx.post(f"{base}/v1/predict", json={"instances": instances[:count]}, timeout=60)
    assert answer.status_code == 200, answer.text
    return np.array([p["distribution"] for p in answer.json()["predictions"]])


def test_health_metadata_and_readiness_with_and_without_a_version(client):
    assert client.is_server_live() and client.is_server_ready()
    assert "binary_tensor_data" in client.get_server_metadata()["extensions"]
    assert client.is_model_ready(MODEL)
    assert client.is_model_ready(MODEL, model_version="v1")  # served
    assert client.is_model_ready(MODEL, model_version="v2")  # pinned
    metadata = client.get_model_metadata(MODEL)
    assert metadata["versions"] == ["v2", "v1"]
    assert [t["name"] for t in metadata["inputs"]] == ["premise", "hypothesis"]
    one = client.get_model_metadata(MODEL, model_version="v1")
    assert one["versions"] == ["v1"] and one["outputs"] == metadata["outputs"]


@pytest.mark.parametrize("count", [1, 8])
def test_infer_with_the_clients_defaults_matches_v1_predict(base, client, count):
    result = client.infer(MODEL, _inputs(count), request_id="r1")
    response = result.get_response()
    assert response["model_version"] == "v1" and response["id"] == "r1"
    assert all("binary_data_size" in o["parameters"] for o in response["outputs"])
    probabilities = result.as_numpy("probabilities")
    assert probabilities.shape == (count, 3) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities, _v1_predict(base, count), atol=1e-5)
    entropy = result.as_numpy("entropy")
    assert entropy.shape == (count,) and np.all(entropy > 0)
    assert result.as_numpy("truncated").tolist() == [False] * count
    pinned = client.infer(MODEL, _inputs(count), model_version="v2")
    assert pinned.get_response()["model_version"] == "v2"


def test_only_the_requested_outputs_come_back(client):
    outputs = [
        triton.InferRequestedOutput("entropy", binary_data=False),
        triton.InferRequestedOutput("probabilities"),
    ]
    result = client.infer(MODEL, _inputs(2), outputs=outputs)
    answered = result.get_response()["outputs"]
    assert [o["name"] for o in answered] == ["entropy", "probabilities"]
    assert "data" in answered[0] and "binary_data_size" in answered[1]["parameters"]
    assert result.as_numpy("truncated") is None
    assert result.as_numpy("probabilities").shape == (2, 3)
    with pytest.raises(InferenceServerException) as refused:
        client.infer(MODEL, _inputs(1), outputs=[triton.InferRequestedOutput("logits")])
    assert refused.value.status() == "400" and "unknown output 'logits'" in refused.value.message()


@pytest.mark.parametrize("algorithm", ["gzip", "deflate"])
def test_compressed_requests_are_read(client, algorithm):
    result = client.infer(MODEL, _inputs(8), request_compression_algorithm=algorithm)
    assert result.as_numpy("probabilities").shape == (8, 3)


def test_an_unknown_version_is_an_error_the_client_can_read(client):
    for call in (
        lambda: client.get_model_metadata(MODEL, model_version="v9"),
        lambda: client.infer(MODEL, _inputs(1), model_version="v9"),
    ):
        with pytest.raises(InferenceServerException) as missing:
            call()
        assert missing.value.status() == "404"
        assert missing.value.message() == "no model version 'v9'"
    assert not client.is_model_ready(MODEL, model_version="v9")


def test_errors_are_json_with_an_error_member_as_kserve_reads_them(base):
    """KServe's client reads an error body only when its media type is exactly JSON."""
    bomb = gzip.compress(b" " * (21 * 1024 * 1024))  # past MJD_MAX_BODY_BYTES once inflated
    answers = {
        "unknown model": httpx.get(f"{base}/v2/models/other"),
        "malformed": httpx.post(f"{base}/v2/models/{MODEL}/infer", content=b"{"),
        "zip bomb": httpx.post(
            f"{base}/v2/models/{MODEL}/infer", content=bomb, headers={"content-encoding": "gzip"}
        ),
        "brotli": httpx.post(
            f"{base}/v2/models/{MODEL}/infer", content=b"x", headers={"content-encoding": "br"}
        ),
    }
    statuses = {name: answer.status_code for name, answer in answers.items()}
    assert statuses == {"unknown model": 404, "malformed": 400, "zip bomb": 413, "brotli": 415}
    for name, answer in answers.items():
        assert answer.headers["content-type"] == "application/json", name
        assert json.loads(answer.content)["error"], name
