"""Issue 12: API keys with scopes, ownership, JSON-only writes and CORS, over an app with
MJD_AUTH=required, an in-memory queue and a store of the test's own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from shared.platform.auth import Scope
from tests.conftest import assert_problem, make_key

ITEM = {
    "premise": "A man sleeps.",
    "hypothesis": "A person rests.",
    "explanations": ["sleeping is resting"],
}
EVIL = {"origin": "http://evil.example"}


@pytest.fixture
def api(make_api) -> Iterator[TestClient]:
    with make_api(auth="required") as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/v1/models/v1/promote", None),
        ("post", "/v1/training-jobs", {"data": {"vendored": "explained"}, "promote": True}),
        ("delete", "/v1/jobs/0123456789abcdef0123456789abcdef", None),
        ("get", "/v1/jobs", None),
        ("get", "/v1/models", None),
        ("post", "/v1/predict", {"instances": [ITEM]}),
        ("get", "/metrics", None),
    ],
)
def test_anonymous_requests_are_401_with_a_challenge(api, method, path, body):
    answer = api.request(method, path, json=body)
    assert_problem(answer, 401)
    assert answer.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer nope", "Basic dXNlcjpwYXNz", "Bearer mjd_00000000_" + "x" * 43],
)
def test_malformed_or_unknown_keys_are_401(api, header):
    assert_problem(api.get("/v1/jobs", headers={"authorization": header}), 401)


def test_a_revoked_key_is_401(api, database):
    headers = make_key(database, Scope.ADMIN)
    key_id = headers["authorization"].split("_")[1]
    assert database.keys.revoke_key(key_id) is True
    assert_problem(api.get("/v1/jobs", headers=headers), 401)


def test_health_and_the_openapi_document_need_no_key(api):
    for path in ("/healthz", "/v2/health/live", "/schema/openapi.json"):
        assert api.get(path).status_code == 200, path
    assert api.get("/readyz").status_code in (200, 503)  # open: never 401


@pytest.mark.parametrize(
    ("scope", "method", "path", "body"),
    [
        (Scope.PREDICT, "post", "/v1/training-jobs", {"data": {"vendored": "explained"}}),
        (Scope.SUBMIT, "post", "/v1/models/v1/promote", None),
        (Scope.SUBMIT, "post", "/v1/bootstrap", {}),
        (Scope.READ, "post", "/v1/mjd-jobs", {"instances": [ITEM]}),
        (Scope.READ, "post", "/v1/predict", {"instances": [ITEM]}),
        (Scope.PREDICT, "post", "/v1/datasets", {"instances": [ITEM]}),
    ],
)
def test_a_key_without_the_scope_is_403(api, database, scope, method, path, body):
    headers = make_key(database, scope)
    assert_problem(api.request(method, path, json=body, headers=headers), 403)


def test_every_scope_reads(api, database):
    for scope in Scope:
        assert api.get("/v1/models", headers=make_key(database, scope)).status_code == 200


def test_a_submit_key_sees_and_cancels_only_its_own_jobs(api, database):
    alice, bob = make_key(database, Scope.SUBMIT), make_key(database, Scope.SUBMIT)
    admin = make_key(database, Scope.ADMIN)
    job = api.post("/v1/mjd-jobs", json={"instances": [ITEM]}, headers=alice).json()["id"]
    dataset = api.post("/v1/datasets", json={"instances": [ITEM]}, headers=alice).json()["id"]
    assert api.get(f"/v1/jobs/{job}", headers=alice).status_code == 200
    for path in (f"/v1/jobs/{job}", f"/v1/jobs/{job}/result", f"/v1/datasets/{dataset}"):
        assert_problem(api.get(path, headers=bob), 404)
    assert_problem(api.delete(f"/v1/jobs/{job}", headers=bob), 404)
    assert api.get("/v1/jobs", headers=bob).json()["total"] == 0
    assert [j["id"] for j in api.get("/v1/jobs", headers=alice).json()["jobs"]] == [job]
    borrowed = api.post("/v1/mjd-jobs", json={"dataset_id": dataset}, headers=bob)
    assert_problem(borrowed, 404, "dataset_id")  # nor use her dataset
    assert api.get("/v1/jobs", headers=admin).json()["total"] == 1
    assert api.delete(f"/v1/jobs/{job}", headers=admin).json()["state"] == "CANCELLED"


def test_writes_must_be_json_415(api, database):
    admin = make_key(database, Scope.ADMIN)
    promote = api.post(
        "/v1/models/v1/promote",
        content=b"",
        headers={**admin, **EVIL, "content-type": "text/plain"},
    )
    assert_problem(promote, 415, "content-type")
    form = api.post(
        "/v1/datasets",
        content=b"instances=1",
        headers={**admin, "content-type": "application/x-www-form-urlencoded"},
    )
    assert_problem(form, 415, "content-type")
    upload = api.post("/v1/datasets/upload", json={"file": "x"}, headers=admin)
    assert_problem(upload, 415, "content-type")
    assert api.post("/v1/datasets", json={"instances": [ITEM]}, headers=admin).status_code == 201


def test_no_cors_unless_origins_are_listed(make_api, api):
    preflight = {
        **EVIL,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization",
    }
    answer = api.options("/v1/predict", headers=preflight)
    assert "access-control-allow-origin" not in answer.headers
    with make_api(auth="required", cors_origins=("https://app.example",)) as allowed:
        ok = allowed.options("/v1/predict", headers={**preflight, "origin": "https://app.example"})
        assert ok.headers["access-control-allow-origin"] == "https://app.example"
        evil = allowed.options("/v1/predict", headers=preflight)
        assert evil.headers.get("access-control-allow-origin") != EVIL["origin"]


def test_every_route_declares_its_scope_or_is_open(api):
    from services.api.auth import OPEN

    unguarded = [
        (sorted(handler.http_methods), route.path)
        for route in api.app.routes
        for handler in getattr(route, "route_handlers", [])
        if not route.path.startswith("/schema")
        and handler.http_methods != {"OPTIONS"}  # Litestar's own, for CORS preflights
        and not handler.opt.get(OPEN)
        and not handler.guards
    ]
    assert len(api.app.routes) > 20 and unguarded == []


def test_rate_limits_count_per_key_and_scope_with_retry_after(make_api, database):
    limits = {"read": 3, "predict": 0, "submit": 2, "admin": 0}
    with make_api(auth="required", rate_limits=limits) as api:
        alice, bob = make_key(database, Scope.SUBMIT), make_key(database, Scope.SUBMIT)
        for _ in range(3):
            assert api.get("/v1/models", headers=alice).status_code == 200
        refused = api.get("/v1/models", headers=alice)
        assert_problem(refused, 429)
        assert int(refused.headers["retry-after"]) > 0
        assert api.get("/v1/models", headers=bob).status_code == 200  # per key
        body = {"instances": [ITEM]}
        for _ in range(2):  # per scope: alice's submit budget is her own
            assert api.post("/v1/datasets", json=body, headers=alice).status_code == 201
        assert_problem(api.post("/v1/datasets", json=body, headers=alice), 429)
        assert api.get("/healthz").status_code == 200  # open routes are not counted
