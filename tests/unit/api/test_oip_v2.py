"""OIP v2's errors as its clients read them, over an app without a served model: every
non-2xx under /v2 is exactly application/json with an ``error`` member (problem fields
beside it), authentication and rate limits included; /v1 keeps problem+json. The real
Triton client against a served model is tests/integration/test_oip_clients.py."""

from __future__ import annotations

import gzip
import json
from typing import Any

from litestar.testing import TestClient

from services.api.controllers.oip_v2 import HANDLED
from shared.platform.auth import Scope
from tests.conftest import assert_problem, make_key

INFER = "/v2/models/mjd-student/infer"
TENSORS = [
    {"name": "premise", "shape": [1], "datatype": "BYTES", "data": ["A man sleeps."]},
    {"name": "hypothesis", "shape": [1], "datatype": "BYTES", "data": ["A person rests."]},
]
TRITON_HEADER = json.dumps(
    {"inputs": [{**t, "data": None, "parameters": {"binary_data_size": 17}} for t in TENSORS]}
).encode()


def oip_error(answer: Any, status: int, field: str | None = None) -> dict[str, Any]:
    """An OIP error: the status, exactly application/json, an ``error`` member."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert isinstance(body["error"], str) and body["error"]
    if field is not None:
        assert body["field"] == field, body
    return body


def _post(api: TestClient, body: bytes, **headers: str) -> Any:
    return api.post(INFER, content=body, headers=headers)


def test_request_errors_under_v2_are_json_with_an_error_member(api):
    oip_error(api.get("/v2/models/other"), 404, "name")
    assert oip_error(api.get("/v2/models/mjd-student/versions/v9"), 404, "version")["error"] == (
        "no model version 'v9'"
    )
    oip_error(api.get("/v2/models/mjd-student/versions/v9/ready"), 404, "version")
    oip_error(api.get("/v2/health/ready"), 503)  # no model is served
    oip_error(api.get("/v2/models/mjd-student/ready"), 503)
    oip_error(_post(api, b"{"), 400, "body")
    oip_error(_post(api, b'{"inputs": "x"}'), 400, "inputs")
    oip_error(_post(api, b'{"inputs": [{"shape": [1]}]}'), 400, "inputs[0].name")
    oip_error(api.post(INFER, content=b"{}", headers={"content-type": "text/plain"}), 415)
    unknown = {"inputs": TENSORS, "outputs": [{"name": "logits"}]}
    assert "'logits'" in oip_error(api.post(INFER, json=unknown), 400, "outputs[0].name")["error"]
    oip_error(api.post(INFER, json={"inputs": TENSORS}), 503)  # valid, but nothing is served
    oip_error(api.get("/v2/nowhere"), 404)  # refused by the router, before any controller
    oip_error(api.delete("/v2/health/live"), 405)
    assert_problem(api.get("/v1/models/v9"), 404, "version")  # /v1 is unchanged
    assert_problem(api.get("/v1/nowhere"), 404)


def test_binary_and_compressed_bodies_are_checked_before_inference(api):
    binary = b"\x0d\x00\x00\x00A man sleeps." + b"\x0d\x00\x00\x00A man sleeps."  # 2 x 17
    length = str(len(TRITON_HEADER))
    # without a Content-Type (as Triton's client sends it) a well-formed body reaches the model
    oip_error(
        _post(api, TRITON_HEADER + binary, **{"inference-header-content-length": length}), 503
    )
    oip_error(
        _post(api, TRITON_HEADER + binary, **{"inference-header-content-length": "99999"}),
        400,
        "Inference-Header-Content-Length",
    )
    oip_error(
        _post(api, TRITON_HEADER + binary + b"x", **{"inference-header-content-length": length}),
        400,
        "Inference-Header-Content-Length",
    )
    oip_error(
        _post(api, TRITON_HEADER + binary[:-1], **{"inference-header-content-length": length}),
        400,
        "inputs[1].parameters.binary_data_size",
    )
    bomb = gzip.compress(bytes(64 * 1024 * 1024))
    oip_error(_post(api, bomb, **{"content-encoding": "gzip"}), 413, "body")
    oip_error(_post(api, b"{}", **{"content-encoding": "br"}), 415, "Content-Encoding")
    oip_error(_post(api, b"{}", **{"content-encoding": "gzip"}), 400, "Content-Encoding")
    oip_error(_post(api, gzip.compress(json.dumps({"inputs": TENSORS}).encode()),
                    **{"content-encoding": "gzip"}), 503)  # fmt: skip


def test_server_metadata_lists_the_binary_extension(api):
    assert api.get("/v2").json()["extensions"] == ["binary_tensor_data"]


def test_auth_and_rate_limit_refusals_under_v2_are_json(make_api, database):
    limits = {"read": 0, "predict": 1, "submit": 0, "admin": 0}
    with make_api(auth="required", rate_limits=limits) as api:
        refused = oip_error(api.post(INFER, json={"inputs": TENSORS}), 401)
        assert refused["status"] == 401
        reader = make_key(database, Scope.READ)
        oip_error(api.post(INFER, json={"inputs": TENSORS}, headers=reader), 403)
        predictor = make_key(database, Scope.PREDICT)
        assert api.get("/v2", headers=predictor).status_code == 200
        limited = api.get("/v2", headers=predictor)
        oip_error(limited, 429)
        assert int(limited.headers["retry-after"]) > 0
        assert_problem(api.get("/v1/models"), 401)  # /v1 is unchanged


def test_v2_answers_as_oip_every_exception_the_app_handles(api):
    assert set(api.app.exception_handlers) <= set(HANDLED)
