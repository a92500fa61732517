"""Requests generated from the API's own OpenAPI document (schemathesis strategies driven by
hypothesis): no 5xx on any operation, with authentication off, with an admin key, and
without a key (then every operation but the open ones answers 401 and nothing else).
Bounded to 25 examples per operation; Redis is real and no workers run, so queued jobs just
wait; a real student is promoted, so predictions run."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from services.api.app import create_app
from shared.platform.auth import Scope

#: operations that need no key (health and readiness)
OPEN = {
    "/healthz",
    "/readyz",
    "/v2/health/live",
    "/v2/health/ready",
    "/v2/models/{name}/ready",
    "/v2/models/{name}/versions/{version}/ready",
}


@pytest.mark.parametrize("caller", ["auth off", "admin key", "no key"])
def test_no_operation_answers_5xx(service_env, student_model, monkeypatch, caller):
    from shared.platform import jobs
    from shared.platform.registry import ModelRegistry
    from tests.conftest import make_key, publish_copy

    registry = ModelRegistry(jobs.store(), jobs.database())
    registry.promote(publish_copy(registry, student_model))
    headers = {}
    if caller != "auth off":
        monkeypatch.setenv("MJD_AUTH", "required")
    if caller == "admin key":
        headers = make_key(jobs.database(), Scope.ADMIN)
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", create_app())
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def check(case) -> None:
            response = case.call(headers=headers)
            expected_503 = case.formatted_path == "/readyz"  # no workers run here
            refused = caller == "no key" and case.operation.path not in OPEN
            if (response.status_code >= 500 and not expected_503) or (
                refused and response.status_code != 401
            ):
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}: "
                    f"{response.text[:200]}"
                )

        check()
    assert operations >= 10
    assert not failures, failures[:5]
